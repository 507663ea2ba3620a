//! Organisation rules: who may read or change the department tree and the directory, and the
//! tree's integrity (no cycles, parents exist). Every function is one tenant transaction.

use diesel_async::AsyncPgConnection;
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::*;
use super::repo::{self, Visibility};
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::{DomainError, DomainResult};
use crate::identity::Principal;
use crate::identity::policy::{self, AdminScope, DirectoryScope};
use crate::page::{Page, PageRequest};

/// Departments this principal may administer: `None` = all of them.
async fn admin_departments(
    c: &mut AsyncPgConnection,
    p: &Principal,
) -> DomainResult<Option<Vec<Uuid>>> {
    match policy::org_admin_scope(p) {
        AdminScope::Everything => Ok(None),
        AdminScope::Subtrees(roots) => Ok(Some(repo::subtree_ids(c, &roots).await?)),
        AdminScope::Nothing => Ok(Some(Vec::new())),
    }
}

fn may_administer(scope: &Option<Vec<Uuid>>, department: Option<Uuid>) -> bool {
    match (scope, department) {
        (None, _) => true,
        (Some(ids), Some(d)) => ids.contains(&d),
        (Some(_), None) => false,
    }
}

pub async fn list_departments(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    page: PageRequest,
) -> DomainResult<Page<Department>> {
    if !policy::can_read_departments(p) {
        return Err(DomainError::Forbidden(
            "only staff of the organisation may read its departments",
        ));
    }
    tenancy
        .tx(tenant, async |c| Ok(repo::list_departments(c, page).await?))
        .await
}

pub async fn get_department(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<Department> {
    if !policy::can_read_departments(p) {
        return Err(DomainError::NotFound("department"));
    }
    tenancy
        .tx(tenant, async |c| {
            repo::get_department(c, id)
                .await?
                .ok_or(DomainError::NotFound("department"))
        })
        .await
}

pub async fn create_department(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    new: NewDepartment,
) -> DomainResult<Department> {
    if policy::org_admin_scope(p) == AdminScope::Nothing {
        return Err(DomainError::Forbidden(
            "only administrators may create departments",
        ));
    }
    tenancy
        .tx(tenant, async |c| {
            if let Some(parent) = new.parent_id
                && repo::get_department(c, parent).await?.is_none()
            {
                return Err(DomainError::invalid("/parent_id", "no such department"));
            }
            let scope = admin_departments(c, p).await?;
            if !may_administer(&scope, new.parent_id) {
                return Err(DomainError::Forbidden(
                    "sub-admins may create departments only inside their subtree",
                ));
            }
            let d = repo::insert_department(c, Uuid::now_v7(), &new).await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("department.create").on("department", d.id),
            )
            .await?;
            Ok(d)
        })
        .await
}

pub async fn update_department(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    patch: DepartmentPatch,
) -> DomainResult<Department> {
    if !policy::can_read_departments(p) {
        return Err(DomainError::NotFound("department"));
    }
    tenancy
        .tx(tenant, async |c| {
            let current = repo::get_department(c, id)
                .await?
                .ok_or(DomainError::NotFound("department"))?;
            let scope = admin_departments(c, p).await?;
            if !may_administer(&scope, Some(id)) {
                return Err(DomainError::Forbidden("you may not change this department"));
            }
            if let Some(new_parent) = patch.parent_id {
                if let Some(np) = new_parent {
                    if repo::get_department(c, np).await?.is_none() {
                        return Err(DomainError::invalid("/parent_id", "no such department"));
                    }
                    // Moving under itself or one of its descendants would make a cycle.
                    if repo::subtree_ids(c, &[id]).await?.contains(&np) {
                        return Err(DomainError::invalid(
                            "/parent_id",
                            "a department cannot be moved under itself or its descendants",
                        ));
                    }
                }
                if !may_administer(&scope, new_parent) {
                    return Err(DomainError::Forbidden(
                        "sub-admins may move departments only inside their subtree",
                    ));
                }
            }
            let d = repo::update_department(c, id, expected_version, &patch)
                .await?
                .ok_or(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                })?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("department.update").on("department", id),
            )
            .await?;
            Ok(d)
        })
        .await
}

pub async fn delete_department(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
) -> DomainResult<()> {
    if !policy::can_read_departments(p) {
        return Err(DomainError::NotFound("department"));
    }
    tenancy
        .tx(tenant, async |c| {
            let current = repo::get_department(c, id)
                .await?
                .ok_or(DomainError::NotFound("department"))?;
            let scope = admin_departments(c, p).await?;
            if !may_administer(&scope, Some(id)) {
                return Err(DomainError::Forbidden("you may not delete this department"));
            }
            match repo::delete_department(c, id, expected_version).await {
                Ok(true) => {
                    audit::record(
                        c,
                        &Actor::from(p),
                        Event::new("department.delete").on("department", id),
                    )
                    .await?;
                    Ok(())
                }
                Ok(false) => Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                }),
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                    _,
                )) => Err(DomainError::Conflict(
                    "the department still has sub-departments or people".into(),
                )),
                Err(e) => Err(e.into()),
            }
        })
        .await
}

async fn visibility(c: &mut AsyncPgConnection, p: &Principal) -> DomainResult<Visibility> {
    let own: Vec<Uuid> = p.person_id.into_iter().collect();
    let scoped = |colleagues, departments, mut people: Vec<Uuid>, care: Vec<Uuid>, break_glass| {
        people.extend(care);
        Visibility::Scoped {
            colleagues,
            departments,
            people,
            break_glass,
        }
    };
    Ok(match policy::directory_scope(p) {
        DirectoryScope::Everyone => Visibility::Everyone,
        DirectoryScope::SubtreesAndColleagues(roots) => scoped(
            true,
            repo::subtree_ids(c, &roots).await?,
            own,
            crate::access::care_team_clients(c, p).await?,
            crate::access::break_glass_clients(c, p).await?,
        ),
        DirectoryScope::Colleagues => scoped(
            true,
            Vec::new(),
            own,
            crate::access::care_team_clients(c, p).await?,
            crate::access::break_glass_clients(c, p).await?,
        ),
        DirectoryScope::OnlySelf(Some(id)) => {
            scoped(false, Vec::new(), vec![id], Vec::new(), Vec::new())
        }
        DirectoryScope::OnlySelf(None) => Visibility::Nobody,
    })
}

/// The clients among these people: the subjects of an audit entry.
fn clients<'a>(people: impl IntoIterator<Item = &'a Person>) -> Vec<Uuid> {
    people
        .into_iter()
        .filter(|p| p.kind == PersonKind::Client)
        .map(|p| p.id)
        .collect()
}

fn visible(v: &Visibility, person: &Person) -> bool {
    v.allows(person)
}

pub async fn list_people(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    filter: PeopleFilter,
    page: PageRequest,
) -> DomainResult<Page<Person>> {
    tenancy
        .tx(tenant, async |c| {
            let v = visibility(c, p).await?;
            let page = repo::list_people(c, &v, &filter, page).await?;
            let subjects = clients(&page.items);
            audit::record(
                c,
                &Actor::from(p),
                Event::new("person.list").subjects(subjects),
            )
            .await?;
            Ok(page)
        })
        .await
}

pub async fn get_person(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<Person> {
    let result = tenancy
        .tx(tenant, async |c| {
            let v = visibility(c, p).await?;
            let person = repo::get_person(c, id)
                .await?
                .filter(|person| visible(&v, person))
                .ok_or(DomainError::NotFound("person"))?;
            let mut event = Event::new("person.read")
                .on("person", id)
                .subjects(clients([&person]));
            if v.only_by_break_glass(&person) {
                event = event.detail("access", "break_glass");
            }
            audit::record(c, &Actor::from(p), event).await?;
            Ok(person)
        })
        .await;
    audit_denied(tenancy, tenant, p, "person.read", id, &result).await?;
    result
}

/// Records an access the policy refused (or to something that does not exist — the log
/// cannot tell which without revealing it), in its own transaction.
async fn audit_denied<T>(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    action: &'static str,
    id: Uuid,
    result: &DomainResult<T>,
) -> DomainResult<()> {
    if let Err(DomainError::NotFound(_) | DomainError::Forbidden(_)) = result {
        let event = Event::new(action).on("person", id).outcome(Outcome::Denied);
        audit::record_alone(tenancy, tenant, &Actor::from(p), event).await?;
    }
    Ok(())
}

pub async fn create_person(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    new: NewPerson,
) -> DomainResult<Person> {
    if policy::org_admin_scope(p) == AdminScope::Nothing {
        return Err(DomainError::Forbidden(
            "only administrators may add people to the directory",
        ));
    }
    tenancy
        .tx(tenant, async |c| {
            if let Some(d) = new.department_id
                && repo::get_department(c, d).await?.is_none()
            {
                return Err(DomainError::invalid("/department_id", "no such department"));
            }
            let scope = admin_departments(c, p).await?;
            if !may_administer(&scope, new.department_id) {
                return Err(DomainError::Forbidden(
                    "sub-admins may add people only inside their subtree",
                ));
            }
            let person = repo::insert_person_row(
                c,
                Uuid::now_v7(),
                new.kind.as_str(),
                &new.name,
                new.email.as_ref(),
                new.department_id,
            )
            .await?;
            let event = Event::new("person.create")
                .on("person", person.id)
                .subjects(clients([&person]));
            audit::record(c, &Actor::from(p), event).await?;
            Ok(person)
        })
        .await
}

pub async fn update_person(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    patch: PersonPatch,
) -> DomainResult<Person> {
    let result = tenancy
        .tx(tenant, async |c| {
            let v = visibility(c, p).await?;
            let current = repo::get_person(c, id)
                .await?
                .filter(|person| visible(&v, person))
                .ok_or(DomainError::NotFound("person"))?;
            let scope = admin_departments(c, p).await?;
            if !may_administer(&scope, current.department_id) {
                return Err(DomainError::Forbidden("you may not change this person"));
            }
            if let Some(new_department) = patch.department_id {
                if let Some(d) = new_department
                    && repo::get_department(c, d).await?.is_none()
                {
                    return Err(DomainError::invalid("/department_id", "no such department"));
                }
                // Detaching (None) also leaves a sub-admin's subtree, so it is checked the same way.
                if !may_administer(&scope, new_department) {
                    return Err(DomainError::Forbidden(
                        "sub-admins may move people only inside their subtree",
                    ));
                }
            }
            let phone_after = match &patch.phone {
                Some(n) => n.is_some(),
                None => current.phone.is_some(),
            };
            if patch.sms_reminders.unwrap_or(current.sms_reminders) && !phone_after {
                return Err(DomainError::invalid(
                    "/sms_reminders",
                    "text-message reminders need a phone number",
                ));
            }
            let person = repo::update_person(c, id, expected_version, &patch)
                .await?
                .ok_or(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: current.version,
                })?;
            let event = Event::new("person.update")
                .on("person", id)
                .subjects(clients([&person]));
            audit::record(c, &Actor::from(p), event).await?;
            Ok(person)
        })
        .await;
    audit_denied(tenancy, tenant, p, "person.update", id, &result).await?;
    result
}

/// Used by the demo seed and tenant provisioning, where no principal exists yet.
pub async fn seed_department(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    new: NewDepartment,
) -> DomainResult<Department> {
    tenancy
        .tx(tenant, async |c| {
            Ok(repo::insert_department(c, Uuid::now_v7(), &new).await?)
        })
        .await
}

/// Used by the demo seed.
pub async fn seed_person(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    new: NewPerson,
) -> DomainResult<Person> {
    tenancy
        .tx(tenant, async |c| {
            Ok(repo::insert_person_row(
                c,
                Uuid::now_v7(),
                new.kind.as_str(),
                &new.name,
                new.email.as_ref(),
                new.department_id,
            )
            .await?)
        })
        .await
}
