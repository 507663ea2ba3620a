//! Organisation types. Inputs are parsed into these newtypes at the edge, so the service and
//! repo only ever see valid values.

use chrono::{DateTime, Utc};
use uuid::Uuid;

text_enum! {
    DepartmentKind { Site => "site", Department => "department", Unit => "unit", Program => "program" }
}

text_enum! {
    PersonKind { Provider => "provider", Staff => "staff", Client => "client" }
}

text_enum! {
    PersonStatus { Active => "active", Inactive => "inactive" }
}

/// A trimmed, non-empty display name of bounded length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str, max: usize) -> Result<Name, String> {
        let t = raw.trim();
        if t.is_empty() {
            return Err("must not be empty".into());
        }
        if t.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if t.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Name(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName {
    pub given: Name,
    pub family: Name,
}

/// An email address (RFC 5322 addr-spec as checked by the `email_address` crate), ≤ 254 chars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let t = raw.trim();
        if t.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        if !email_address::EmailAddress::is_valid(t) || t.contains(char::is_whitespace) {
            return Err("is not a valid email address".into());
        }
        Ok(Email(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub kind: DepartmentKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Clone, Debug)]
pub struct NewDepartment {
    pub parent_id: Option<Uuid>,
    pub name: Name,
    pub kind: DepartmentKind,
}

/// A partial update; `parent_id: Some(None)` moves the department to the top level.
#[derive(Clone, Debug, Default)]
pub struct DepartmentPatch {
    pub name: Option<Name>,
    pub kind: Option<DepartmentKind>,
    pub parent_id: Option<Option<Uuid>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: Uuid,
    pub kind: PersonKind,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    pub department_id: Option<Uuid>,
    pub status: PersonStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Clone, Debug)]
pub struct NewPerson {
    pub kind: PersonKind,
    pub name: PersonName,
    pub email: Option<Email>,
    pub department_id: Option<Uuid>,
}

#[derive(Clone, Debug, Default)]
pub struct PersonPatch {
    pub given_name: Option<Name>,
    pub family_name: Option<Name>,
    pub email: Option<Option<Email>>,
    pub department_id: Option<Option<Uuid>>,
    pub status: Option<PersonStatus>,
}

#[derive(Clone, Debug, Default)]
pub struct PeopleFilter {
    pub kind: Option<PersonKind>,
    pub department_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_emails() {
        assert_eq!(
            Name::parse("  Ward 4 ", 200).map(|n| n.as_str().to_owned()),
            Ok("Ward 4".into())
        );
        assert!(Name::parse("   ", 200).is_err());
        assert!(Name::parse(&"x".repeat(201), 200).is_err());
        assert!(Name::parse("a\u{0}b", 200).is_err());
        assert!(Email::parse("a.b@example.org").is_ok());
        for bad in ["", "a", "a@", "@b", "a b@c.d", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
