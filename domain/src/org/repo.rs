//! Organisation queries. Every function takes a connection already inside `Tenancy::tx`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::*;
use crate::page::{Page, PageRequest};
use crate::schema::{departments, people};

#[derive(Queryable, Selectable)]
#[diesel(table_name = departments)]
struct DepartmentRow {
    id: Uuid,
    parent_id: Option<Uuid>,
    name: String,
    kind: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

impl From<DepartmentRow> for Department {
    fn from(r: DepartmentRow) -> Self {
        Department {
            id: r.id,
            parent_id: r.parent_id,
            name: r.name,
            // The table's CHECK admits only known kinds.
            kind: DepartmentKind::parse(&r.kind).unwrap_or(DepartmentKind::Department),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = people)]
struct PersonRow {
    id: Uuid,
    kind: String,
    given_name: String,
    family_name: String,
    email: Option<String>,
    department_id: Option<Uuid>,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
    phone: Option<String>,
    sms_reminders: bool,
}

impl From<PersonRow> for Person {
    fn from(r: PersonRow) -> Self {
        Person {
            id: r.id,
            kind: PersonKind::parse(&r.kind).unwrap_or(PersonKind::Client),
            given_name: r.given_name,
            family_name: r.family_name,
            email: r.email,
            department_id: r.department_id,
            status: PersonStatus::parse(&r.status).unwrap_or(PersonStatus::Inactive),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            phone: r.phone,
            sms_reminders: r.sms_reminders,
        }
    }
}

pub async fn insert_department(
    c: &mut AsyncPgConnection,
    id: Uuid,
    d: &NewDepartment,
) -> QueryResult<Department> {
    diesel::insert_into(departments::table)
        .values((
            departments::id.eq(id),
            departments::parent_id.eq(d.parent_id),
            departments::name.eq(d.name.as_str()),
            departments::kind.eq(d.kind.as_str()),
        ))
        .returning(DepartmentRow::as_returning())
        .get_result(c)
        .await
        .map(Into::into)
}

pub async fn get_department(
    c: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<Department>> {
    departments::table
        .find(id)
        .select(DepartmentRow::as_select())
        .first(c)
        .await
        .optional()
        .map(|r| r.map(Into::into))
}

pub async fn list_departments(
    c: &mut AsyncPgConnection,
    page: PageRequest,
) -> QueryResult<Page<Department>> {
    let mut q = departments::table
        .select(DepartmentRow::as_select())
        .order(departments::id)
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(departments::id.gt(after));
    }
    let rows: Vec<Department> = q
        .limit(page.limit + 1)
        .load(c)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Page::from_overfetch(rows, page.limit, |d| d.id))
}

/// Applies a patch if `expected_version` is current. `Ok(None)` means the version did not match.
pub async fn update_department(
    c: &mut AsyncPgConnection,
    id: Uuid,
    expected_version: i32,
    p: &DepartmentPatch,
) -> QueryResult<Option<Department>> {
    let target = departments::table
        .find(id)
        .filter(departments::version.eq(expected_version));
    diesel::update(target)
        .set((
            p.name
                .as_ref()
                .map(|n| departments::name.eq(n.as_str().to_owned())),
            p.kind.map(|k| departments::kind.eq(k.as_str())),
            p.parent_id.map(|pid| departments::parent_id.eq(pid)),
            departments::version.eq(departments::version + 1),
            departments::updated_at.eq(diesel::dsl::now),
        ))
        .returning(DepartmentRow::as_returning())
        .get_result(c)
        .await
        .optional()
        .map(|r| r.map(Into::into))
}

pub async fn delete_department(
    c: &mut AsyncPgConnection,
    id: Uuid,
    expected_version: i32,
) -> QueryResult<bool> {
    let n = diesel::delete(
        departments::table
            .find(id)
            .filter(departments::version.eq(expected_version)),
    )
    .execute(c)
    .await?;
    Ok(n == 1)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Every department in the subtrees rooted at `roots` (roots included), one recursive query.
pub async fn subtree_ids(c: &mut AsyncPgConnection, roots: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<IdRow> = diesel::sql_query(
        "WITH RECURSIVE sub(id) AS ( \
             SELECT id FROM departments WHERE id = ANY($1) \
             UNION SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id) \
         SELECT id FROM sub",
    )
    .bind::<Array<SqlUuid>, _>(roots)
    .load(c)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

pub async fn insert_person_row(
    c: &mut AsyncPgConnection,
    id: Uuid,
    kind: &str,
    name: &PersonName,
    email: Option<&Email>,
    department_id: Option<Uuid>,
) -> QueryResult<Person> {
    diesel::insert_into(people::table)
        .values((
            people::id.eq(id),
            people::kind.eq(kind),
            people::given_name.eq(name.given.as_str()),
            people::family_name.eq(name.family.as_str()),
            people::email.eq(email.map(Email::as_str)),
            people::department_id.eq(department_id),
        ))
        .returning(PersonRow::as_returning())
        .get_result(c)
        .await
        .map(Into::into)
}

pub async fn get_person(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Person>> {
    people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(c)
        .await
        .optional()
        .map(|r| r.map(Into::into))
}

/// These people (any kind), in id order; unknown ids are skipped.
pub async fn get_people(c: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Person>> {
    people::table
        .filter(people::id.eq_any(ids))
        .order(people::id)
        .select(PersonRow::as_select())
        .load::<PersonRow>(c)
        .await
        .map(|rows| rows.into_iter().map(Into::into).collect())
}

/// Who a directory query may return, already resolved to SQL terms.
#[derive(Clone, Debug)]
pub enum Visibility {
    Everyone,
    Scoped {
        /// Providers and staff anywhere.
        colleagues: bool,
        /// Anyone in these departments (a sub-admin's subtrees).
        departments: Vec<Uuid>,
        /// These people (self, the provider's care-team clients).
        people: Vec<Uuid>,
        /// Clients reachable only through an active break-glass grant.
        break_glass: Vec<Uuid>,
    },
    Nobody,
}

impl Visibility {
    pub fn allows(&self, person: &Person) -> bool {
        match self {
            Visibility::Everyone => true,
            Visibility::Scoped {
                colleagues,
                departments,
                people,
                break_glass,
            } => {
                (*colleagues && matches!(person.kind, PersonKind::Provider | PersonKind::Staff))
                    || person
                        .department_id
                        .is_some_and(|d| departments.contains(&d))
                    || people.contains(&person.id)
                    || break_glass.contains(&person.id)
            }
            Visibility::Nobody => false,
        }
    }

    /// True when only a break-glass grant makes this person visible.
    pub fn only_by_break_glass(&self, person: &Person) -> bool {
        match self {
            Visibility::Scoped {
                colleagues,
                departments,
                people,
                break_glass,
            } if break_glass.contains(&person.id) => {
                let without = Visibility::Scoped {
                    colleagues: *colleagues,
                    departments: departments.clone(),
                    people: people.clone(),
                    break_glass: Vec::new(),
                };
                !without.allows(person)
            }
            _ => false,
        }
    }
}

pub async fn list_people(
    c: &mut AsyncPgConnection,
    visibility: &Visibility,
    filter: &PeopleFilter,
    page: PageRequest,
) -> QueryResult<Page<Person>> {
    let mut q = people::table
        .select(PersonRow::as_select())
        .order(people::id)
        .into_boxed();
    q = match visibility {
        Visibility::Everyone => q,
        Visibility::Scoped {
            colleagues,
            departments,
            people: ids,
            break_glass,
        } => {
            use diesel::pg::Pg;
            use diesel::sql_types::Bool;
            let all_ids: Vec<Uuid> = ids.iter().chain(break_glass).copied().collect();
            let mut cond: Box<dyn BoxableExpression<people::table, Pg, SqlType = Bool>> =
                Box::new(people::id.eq_any(all_ids));
            if *colleagues {
                cond = Box::new(cond.or(people::kind.eq_any(["provider", "staff"])));
            }
            if !departments.is_empty() {
                cond = Box::new(
                    cond.or(people::department_id
                        .eq_any(departments.clone())
                        .assume_not_null()),
                );
            }
            q.filter(cond)
        }
        Visibility::Nobody => {
            return Ok(Page {
                items: Vec::new(),
                next_after: None,
            });
        }
    };
    if let Some(kind) = filter.kind {
        q = q.filter(people::kind.eq(kind.as_str()));
    }
    if let Some(d) = filter.department_id {
        q = q.filter(people::department_id.eq(d));
    }
    if let Some(after) = page.after {
        q = q.filter(people::id.gt(after));
    }
    let rows: Vec<Person> = q
        .limit(page.limit + 1)
        .load(c)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Page::from_overfetch(rows, page.limit, |p| p.id))
}

pub async fn update_person(
    c: &mut AsyncPgConnection,
    id: Uuid,
    expected_version: i32,
    p: &PersonPatch,
) -> QueryResult<Option<Person>> {
    let target = people::table
        .find(id)
        .filter(people::version.eq(expected_version));
    diesel::update(target)
        .set((
            p.given_name
                .as_ref()
                .map(|n| people::given_name.eq(n.as_str().to_owned())),
            p.family_name
                .as_ref()
                .map(|n| people::family_name.eq(n.as_str().to_owned())),
            p.email
                .as_ref()
                .map(|e| people::email.eq(e.as_ref().map(|e| e.as_str().to_owned()))),
            p.department_id.map(|d| people::department_id.eq(d)),
            p.status.map(|s| people::status.eq(s.as_str())),
            p.phone
                .as_ref()
                .map(|n| people::phone.eq(n.as_ref().map(|n| n.as_str().to_owned()))),
            p.sms_reminders.map(|v| people::sms_reminders.eq(v)),
            people::version.eq(people::version + 1),
            people::updated_at.eq(diesel::dsl::now),
        ))
        .returning(PersonRow::as_returning())
        .get_result(c)
        .await
        .optional()
        .map(|r| r.map(Into::into))
}
