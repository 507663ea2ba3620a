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

/// A mobile number, checked against the numbering plans of `phonenumber` (Google's
/// libphonenumber data) and kept in E.164 form (`+14165550123`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, String> {
        const HINT: &str = "must be an international phone number starting with + and the country code, e.g. +1 416 555 0123";
        let t = raw.trim();
        if !t.starts_with('+') || t.len() > 40 {
            return Err(HINT.into());
        }
        match phonenumber::parse(None, t) {
            Ok(n) if phonenumber::is_valid(&n) => {
                Ok(Phone(n.format().mode(phonenumber::Mode::E164).to_string()))
            }
            _ => Err(HINT.into()),
        }
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
    /// Mobile number in E.164 form, for SMS reminders.
    pub phone: Option<String>,
    /// The person agreed to reminders by text message.
    pub sms_reminders: bool,
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
    pub phone: Option<Option<Phone>>,
    pub sms_reminders: Option<bool>,
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

    #[test]
    fn phones_are_international_and_kept_in_e164() {
        assert_eq!(
            Phone::parse(" +1 (416) 555-0123 ").map(|p| p.as_str().to_owned()),
            Ok("+14165550123".into())
        );
        assert_eq!(
            Phone::parse("+44 7911 123456").map(|p| p.as_str().to_owned()),
            Ok("+447911123456".into())
        );
        // National form (no country), not a number, too short for its plan.
        for bad in ["416 555 0123", "+", "+1 abc", "+1 416", "", "+999 1234567"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
