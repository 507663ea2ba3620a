//! Access rules, written once and used by every handler (through the domain services).
//!
//! Backbone scope (identity issue extends it with care teams and break-glass):
//! * institution admin — administers the whole organisation (departments, directory);
//! * sub-admin — administers the department subtrees it was granted;
//! * provider / staff — read the department tree and the colleague directory (providers and
//!   staff); clients only through care-team assignments (identity issue);
//! * client — reads only their own directory entry.
//!
//! A resource the caller may not see is reported as not found (404), never as forbidden, so
//! its existence does not leak. Forbidden (403) is for actions on collections the caller can see.

use uuid::Uuid;

use super::model::{Principal, Role};

/// Which departments a caller may administer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminScope {
    Everything,
    /// Only inside these subtrees (roots included).
    Subtrees(Vec<Uuid>),
    Nothing,
}

pub fn org_admin_scope(p: &Principal) -> AdminScope {
    if p.is_integration() {
        return if p.has_scope("directory:write") {
            AdminScope::Everything
        } else {
            AdminScope::Nothing
        };
    }
    if p.has(Role::InstitutionAdmin) {
        AdminScope::Everything
    } else if p.has(Role::SubAdmin) {
        AdminScope::Subtrees(p.sub_admin_roots())
    } else {
        AdminScope::Nothing
    }
}

/// Who may read the department tree: everyone who works here.
pub fn can_read_departments(p: &Principal) -> bool {
    if p.is_integration() {
        return p.has_scope("directory:read") || p.has_scope("directory:write");
    }
    [
        Role::InstitutionAdmin,
        Role::SubAdmin,
        Role::Provider,
        Role::Staff,
    ]
    .iter()
    .any(|r| p.has(*r))
}

/// Which directory entries a caller may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectoryScope {
    Everyone,
    /// People in these subtrees, plus colleagues (providers and staff) anywhere.
    SubtreesAndColleagues(Vec<Uuid>),
    /// Providers and staff only.
    Colleagues,
    /// Only this person.
    OnlySelf(Option<Uuid>),
}

pub fn directory_scope(p: &Principal) -> DirectoryScope {
    if p.is_integration() {
        return if can_read_departments(p) {
            DirectoryScope::Everyone
        } else {
            DirectoryScope::OnlySelf(None)
        };
    }
    match org_admin_scope(p) {
        AdminScope::Everything => DirectoryScope::Everyone,
        AdminScope::Subtrees(roots) => DirectoryScope::SubtreesAndColleagues(roots),
        AdminScope::Nothing if p.has(Role::Provider) || p.has(Role::Staff) => {
            DirectoryScope::Colleagues
        }
        AdminScope::Nothing => DirectoryScope::OnlySelf(p.person_id),
    }
}

/// Checks that each grant is scoped as its role requires (a sub-admin names the root of its
/// subtree; institution admin, provider and client are not department-scoped). Field names are
/// `/roles/<index>`.
pub fn check_grant_scopes(
    grants: &[super::model::RoleGrant],
) -> Result<(), crate::error::DomainError> {
    use crate::error::DomainError;
    for (i, g) in grants.iter().enumerate() {
        let field = format!("/roles/{i}");
        match (g.role, g.department_id) {
            (Role::SubAdmin, None) => {
                return Err(DomainError::invalid(
                    &field,
                    "a sub-admin role needs department_id",
                ));
            }
            (Role::InstitutionAdmin | Role::Provider | Role::Client, Some(_)) => {
                return Err(DomainError::invalid(
                    &field,
                    "this role is not scoped to a department",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Which roles a directory entry of this kind may hold: the client role only for clients,
/// the provider role only for providers, staff and administrator roles for anyone but clients.
pub fn role_fits(kind: crate::org::model::PersonKind, role: Role) -> bool {
    use crate::org::model::PersonKind;
    match role {
        Role::Client => kind == PersonKind::Client,
        Role::Provider => kind == PersonKind::Provider,
        Role::InstitutionAdmin | Role::SubAdmin | Role::Staff => kind != PersonKind::Client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::model::RoleGrant;

    fn principal(grants: &[(Role, Option<Uuid>)]) -> Principal {
        Principal {
            account_id: Uuid::nil(),
            person_id: Some(Uuid::max()),
            session_id: Uuid::nil(),
            request_id: None,
            mfa_enrolment_required: false,
            scopes: None,
            grants: grants
                .iter()
                .map(|(role, d)| RoleGrant {
                    role: *role,
                    department_id: *d,
                })
                .collect(),
        }
    }

    #[test]
    fn role_scopes() {
        let d = Uuid::now_v7();
        assert_eq!(
            org_admin_scope(&principal(&[(Role::InstitutionAdmin, None)])),
            AdminScope::Everything
        );
        assert_eq!(
            org_admin_scope(&principal(&[(Role::SubAdmin, Some(d))])),
            AdminScope::Subtrees(vec![d])
        );
        assert_eq!(
            org_admin_scope(&principal(&[(Role::Provider, None)])),
            AdminScope::Nothing
        );
        assert_eq!(
            directory_scope(&principal(&[(Role::Staff, None)])),
            DirectoryScope::Colleagues
        );
        assert_eq!(
            directory_scope(&principal(&[(Role::Client, None)])),
            DirectoryScope::OnlySelf(Some(Uuid::max()))
        );
        assert!(!can_read_departments(&principal(&[(Role::Client, None)])));
        assert!(can_read_departments(&principal(&[(Role::Provider, None)])));
    }
}
