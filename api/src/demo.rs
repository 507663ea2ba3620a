//! `swiftacare demo`: a demo institution to click through — a hospital with two sites,
//! departments and a unit, providers, staff and clients, and sign-ins for each role.
//!
//! Generated passwords are written once to `SWIFTACARE_DATA_DIR/demo-credentials.txt`
//! (mode 0600) and printed on every start, so `make run` always shows how to sign in.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use domain::identity::model::{Role, RoleGrant};
use domain::identity::service as identity;
use domain::org::model::{
    DepartmentKind, Email, Name, NewDepartment, NewPerson, PersonKind, PersonName,
};
use domain::org::service as org;
use rand::Rng;
use tenancy::{ShardId, Slug, Tenancy, TenantKind, TenantRef, TenantStatus, provision};

use crate::config::Config;

pub const DEMO_SLUG: &str = "demo";

pub fn person_name(given: &str, family: &str) -> anyhow::Result<PersonName> {
    Ok(PersonName {
        given: Name::parse(given, 100).map_err(|e| anyhow::anyhow!("given name {e}"))?,
        family: Name::parse(family, 100).map_err(|e| anyhow::anyhow!("family name {e}"))?,
    })
}

fn credentials_path(config: &Config) -> PathBuf {
    config.data_dir.join("demo-credentials.txt")
}

/// A password nobody will guess, easy to copy: four groups of six lowercase letters/digits.
pub fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| {
            (0..6)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Creates the demo tenant unless it exists; returns what to print.
pub async fn ensure(tenancy: &Tenancy, config: &Config) -> anyhow::Result<String> {
    let slug = Slug::parse(DEMO_SLUG).map_err(|e| anyhow::anyhow!("{e}"))?;
    let existing = tenancy.resolve(&slug).await?;
    let path = credentials_path(config);
    if let Some(t) = existing.filter(|t| t.status == TenantStatus::Active) {
        let creds = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            format!("(the demo tenant exists, but {} is missing; its passwords were printed when it was created)\n", path.display())
        });
        return Ok(banner(config, &t, &creds));
    }
    let record = provision::create(
        tenancy,
        &slug,
        "Riverside Health (demo)",
        TenantKind::Hospital,
        &ShardId::primary(),
    )
    .await?;
    let t = record.tenant;
    let creds = seed(tenancy, &t).await?;
    provision::activate(tenancy, &slug).await?;
    write_credentials(&path, &creds)?;
    Ok(banner(config, &t, &creds))
}

fn write_credentials(path: &PathBuf, creds: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, creds).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn banner(config: &Config, t: &TenantRef, creds: &str) -> String {
    let url = config.public_url();
    format!(
        "\n=== Swiftacare demo ===\nOpen {url}  (API docs: {url}/docs)\nTenant: {} (send `X-Tenant: {}` with API calls)\n\n{creds}\n",
        t.name, t.slug
    )
}

async fn dept(
    tenancy: &Tenancy,
    t: &TenantRef,
    parent: Option<uuid::Uuid>,
    name: &str,
    kind: DepartmentKind,
) -> anyhow::Result<uuid::Uuid> {
    let d = org::seed_department(
        tenancy,
        t,
        NewDepartment {
            parent_id: parent,
            name: Name::parse(name, 200).map_err(|e| anyhow::anyhow!(e))?,
            kind,
        },
    )
    .await?;
    Ok(d.id)
}

async fn person(
    tenancy: &Tenancy,
    t: &TenantRef,
    kind: PersonKind,
    given: &str,
    family: &str,
    email: &str,
    department: Option<uuid::Uuid>,
) -> anyhow::Result<uuid::Uuid> {
    let p = org::seed_person(
        tenancy,
        t,
        NewPerson {
            kind,
            name: person_name(given, family)?,
            email: Some(Email::parse(email).map_err(|e| anyhow::anyhow!(e))?),
            department_id: department,
        },
    )
    .await?;
    Ok(p.id)
}

async fn seed(tenancy: &Tenancy, t: &TenantRef) -> anyhow::Result<String> {
    let hospital = dept(
        tenancy,
        t,
        None,
        "Riverside General Hospital",
        DepartmentKind::Site,
    )
    .await?;
    let adult = dept(
        tenancy,
        t,
        Some(hospital),
        "Adult Mental Health",
        DepartmentKind::Department,
    )
    .await?;
    let mood = dept(
        tenancy,
        t,
        Some(adult),
        "Mood Disorders Clinic",
        DepartmentKind::Unit,
    )
    .await?;
    let youth = dept(
        tenancy,
        t,
        Some(hospital),
        "Child and Youth Mental Health",
        DepartmentKind::Department,
    )
    .await?;
    let eastside = dept(
        tenancy,
        t,
        None,
        "Eastside Community Clinic",
        DepartmentKind::Site,
    )
    .await?;
    let counselling = dept(
        tenancy,
        t,
        Some(eastside),
        "Community Counselling",
        DepartmentKind::Department,
    )
    .await?;
    dept(
        tenancy,
        t,
        None,
        "Workplace Wellbeing Program",
        DepartmentKind::Program,
    )
    .await?;

    let mut creds = String::from("Demo sign-ins (email / password):\n");
    let admin_pw = generated_password();
    let admin = identity::create_first_admin(
        tenancy,
        t,
        "admin@demo.swiftacare.test",
        person_name("Avery", "Admin")?,
    )
    .await?;
    identity::complete_setup(tenancy, t, &admin.token, &admin_pw, None).await?;
    writeln!(
        creds,
        "  {:<21} {:<31} {admin_pw}",
        "institution admin", "admin@demo.swiftacare.test"
    )?;

    struct DemoAccount {
        kind: PersonKind,
        given: &'static str,
        family: &'static str,
        email: &'static str,
        department: uuid::Uuid,
        grants: Vec<RoleGrant>,
        label: &'static str,
    }
    let grant = |role, department_id| RoleGrant {
        role,
        department_id,
    };
    let accounts = [
        DemoAccount {
            kind: PersonKind::Staff,
            given: "Sam",
            family: "Okafor",
            email: "subadmin@demo.swiftacare.test",
            department: hospital,
            grants: vec![
                grant(Role::SubAdmin, Some(hospital)),
                grant(Role::Staff, None),
            ],
            label: "sub-admin (hospital)",
        },
        DemoAccount {
            kind: PersonKind::Provider,
            given: "Maya",
            family: "Chen",
            email: "provider@demo.swiftacare.test",
            department: mood,
            grants: vec![grant(Role::Provider, None)],
            label: "provider",
        },
        DemoAccount {
            kind: PersonKind::Staff,
            given: "Jordan",
            family: "Reyes",
            email: "staff@demo.swiftacare.test",
            department: adult,
            grants: vec![grant(Role::Staff, None)],
            label: "front desk staff",
        },
        DemoAccount {
            kind: PersonKind::Client,
            given: "Alex",
            family: "Morgan",
            email: "client@demo.swiftacare.test",
            department: mood,
            grants: vec![grant(Role::Client, None)],
            label: "client",
        },
    ];
    let mut provider_id = None;
    let mut providers = Vec::new();
    let mut client_ids = Vec::new();
    for DemoAccount {
        kind,
        given,
        family,
        email,
        department,
        grants,
        label,
    } in accounts
    {
        let pw = generated_password();
        let pid = person(tenancy, t, kind, given, family, email, Some(department)).await?;
        match kind {
            PersonKind::Provider => {
                provider_id = Some(pid);
                providers.push((pid, "America/Toronto"));
            }
            PersonKind::Client => client_ids.push(pid),
            PersonKind::Staff => {}
        }
        identity::create_account_with_password(tenancy, t, pid, email, &pw, &grants).await?;
        writeln!(creds, "  {label:<21} {email:<31} {pw}")?;
    }
    // Directory entries without accounts, so lists and departments have some body.
    let others = [
        (
            PersonKind::Provider,
            "Noah",
            "Patel",
            "n.patel@demo.swiftacare.test",
            youth,
        ),
        (
            PersonKind::Provider,
            "Ines",
            "Laurent",
            "i.laurent@demo.swiftacare.test",
            counselling,
        ),
        (
            PersonKind::Client,
            "Riley",
            "Brooks",
            "riley.b@example.test",
            youth,
        ),
        (
            PersonKind::Client,
            "Casey",
            "Nguyen",
            "casey.n@example.test",
            counselling,
        ),
        (
            PersonKind::Client,
            "Taylor",
            "Singh",
            "taylor.s@example.test",
            mood,
        ),
    ];
    for (kind, given, family, email, department) in others {
        let pid = person(tenancy, t, kind, given, family, email, Some(department)).await?;
        if kind == PersonKind::Client && department == mood {
            client_ids.push(pid);
        }
        if kind == PersonKind::Provider {
            // The community clinic's counsellor works from Vancouver.
            let zone = if department == counselling {
                "America/Vancouver"
            } else {
                "America/Toronto"
            };
            providers.push((pid, zone));
        }
    }
    // Something to book: a clinic, three appointment types, everyone's working hours.
    domain::scheduling::setup::seed_demo(tenancy, t, hospital, &providers).await?;
    // The demo provider's caseload: the Mood Disorders Clinic's clients.
    if let Some(provider) = provider_id {
        for client in client_ids {
            domain::access::seed_care_team(tenancy, t, client, provider).await?;
        }
    }
    Ok(creds)
}
