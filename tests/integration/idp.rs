//! Real identity providers for the SSO tests, started per test on loopback ports:
//! `oidc-provider` (npm, `ops/dev/idp/oidc/server.mjs`) and SimpleSAMLphp (Debian,
//! `ops/dev/idp/saml/start.sh`, PHP's built-in server). `ops/dev/ensure-services.sh` installs
//! both. Each is killed when its handle drops.
//!
//! [`Browser`] plays the user's browser: it follows the IdP's redirects, fills and posts its
//! sign-in form, and stops when the IdP sends the browser back to Swiftacare (a redirect, or the
//! SAML HTTP-POST form), which the test then sends to the app.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The public URL the test app uses (never resolved: the test hands those requests to the app).
pub const PUBLIC: &str = "http://sso.test";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn wait_for(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("identity provider did not come up at {url}");
}

pub struct OidcIdp {
    pub issuer: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for OidcIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const OIDC_SECRET: &str = "swiftacare-test-client-secret";

impl OidcIdp {
    /// `users`: {"alice@hospital.example": {"password": "…", "groups": ["therapists"]}}.
    pub async fn start(port: u16, redirect_uris: &[String], users: Value) -> OidcIdp {
        OidcIdp::start_signing_with(port, redirect_uris, users, None).await
    }

    /// As [`OidcIdp::start`], but the IdP signs Swiftacare's ID tokens with `alg` (e.g. `HS256`,
    /// with the client secret): a real oidc-provider behaving as a compromised IdP would (T11).
    pub async fn start_signing_with(
        port: u16,
        redirect_uris: &[String],
        users: Value,
        alg: Option<&str>,
    ) -> OidcIdp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut client = json!({
            "client_id": "swiftacare",
            "client_secret": OIDC_SECRET,
            "redirect_uris": redirect_uris,
        });
        let mut cfg = json!({"port": port, "users": users});
        if let Some(alg) = alg {
            client["id_token_signed_response_alg"] = json!(alg);
            cfg["id_token_algs"] = json!(["RS256", alg]);
        }
        cfg["clients"] = json!([client]);
        let path = dir.path().join("config.json");
        std::fs::write(&path, cfg.to_string()).expect("write config");
        let child = Command::new("node")
            .arg(repo_root().join("ops/dev/idp/oidc/server.mjs"))
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start oidc-provider (run ops/dev/ensure-services.sh)");
        let issuer = format!("http://127.0.0.1:{port}");
        let idp = OidcIdp {
            issuer: issuer.clone(),
            child,
            _dir: dir,
        };
        wait_for(&format!("{issuer}/.well-known/openid-configuration")).await;
        idp
    }
}

/// Debian's libfaketime (package `faketime`).
fn libfaketime() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists());
    found.expect("libfaketime.so.1 under /usr/lib/*/faketime (run ops/dev/ensure-services.sh)")
}

pub struct SamlIdp {
    pub base: String,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SamlIdp {
    pub async fn start() -> SamlIdp {
        SamlIdp::start_with(None).await
    }

    /// `faketime`: run the IdP with its clock shifted (e.g. "-2h"), to get real, properly
    /// signed but expired assertions.
    pub async fn start_with(faketime: Option<&str>) -> SamlIdp {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let script = repo_root().join("ops/dev/idp/saml/start.sh");
        let mut cmd = Command::new(&script);
        if let Some(offset) = faketime {
            // libfaketime preloaded straight into start.sh, which execs php: the child we kill
            // on drop is PHP itself (the `faketime` wrapper would leave it running).
            cmd.env("LD_PRELOAD", libfaketime()).env("FAKETIME", offset);
        }
        let child = cmd
            .arg(dir.path())
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start SimpleSAMLphp (run ops/dev/ensure-services.sh)");
        let base = format!("http://127.0.0.1:{port}");
        let idp = SamlIdp { base, dir, child };
        wait_for(&idp.metadata_url()).await;
        idp
    }

    pub fn metadata_url(&self) -> String {
        format!("{}/saml2/idp/metadata.php", self.base)
    }

    /// Tells the IdP about one of our connections (SimpleSAMLphp reads sp/*.json per request).
    pub fn trust_sp(&self, entity_id: &str, acs_url: &str) {
        let file = self
            .dir
            .path()
            .join("sp")
            .join(format!("{}.json", entity_id.replace(['/', ':'], "_")));
        std::fs::write(
            file,
            json!({"entity_id": entity_id, "acs_url": acs_url}).to_string(),
        )
        .expect("write sp");
    }
}

/// How the IdP hands the browser back to Swiftacare.
#[derive(Debug)]
pub enum Back {
    /// A redirect (OIDC): path and query under PUBLIC.
    Get(String),
    /// An auto-submitting form (SAML HTTP-POST): path under PUBLIC and its fields.
    Post(String, Vec<(String, String)>),
}

pub struct Browser {
    http: reqwest::Client,
    /// Swiftacare's public URL: where the IdP hands the browser back.
    back_to: String,
}

struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    for quote in ['"', '\''] {
        let key = format!(" {name}={quote}");
        if let Some(i) = lower.find(&key) {
            let start = i + key.len();
            let end = tag[start..].find(quote)? + start;
            return Some(unescape(&tag[start..end]));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#x3a;", ":")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

fn first_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<form")?;
    let end = lower[start..].find("</form>").map(|e| e + start)?;
    let tag_end = html[start..].find('>')? + start;
    let action = attr(&html[start..tag_end], "action").unwrap_or_default();
    let mut fields = Vec::new();
    let body = &html[tag_end..end];
    let lbody = body.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lbody[at..].find("<input") {
        let s = at + i;
        let e = body[s..].find('>').map(|e| e + s).unwrap_or(body.len());
        let tag = &body[s..e];
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
        at = e;
    }
    Some(Form { action, fields })
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser::returning_to(PUBLIC)
    }

    pub fn returning_to(public_url: &str) -> Browser {
        Browser {
            back_to: public_url.to_owned(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// From the IdP URL Swiftacare redirected to, through the sign-in form (`login` fills the
    /// named fields), until the IdP sends the browser back to PUBLIC.
    pub async fn sign_in_at_idp(&self, start: &str, login: &[(&str, &str)]) -> Back {
        let mut next: (String, Option<Vec<(String, String)>>) = (start.to_owned(), None);
        for _ in 0..20 {
            let (url, form) = next;
            if let Some(path) = url.strip_prefix(self.back_to.as_str()) {
                let path = path.to_owned();
                return match form {
                    None => Back::Get(path),
                    Some(f) => Back::Post(path, f),
                };
            }
            let resp = match &form {
                None => self.http.get(&url).send().await,
                Some(f) => self.http.post(&url).form(f).send().await,
            }
            .expect("idp request");
            let here = resp.url().clone();
            if resp.status().is_redirection() {
                let loc = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .expect("location");
                next = (here.join(loc).expect("url").to_string(), None);
                continue;
            }
            let status = resp.status();
            let html = resp.text().await.expect("body");
            assert!(status.is_success(), "IdP answered {status}: {html}");
            let f = first_form(&html).unwrap_or_else(|| panic!("no form at {here}: {html}"));
            let action = if f.action.is_empty() {
                here.to_string()
            } else {
                here.join(&f.action).expect("action").to_string()
            };
            let mut fields = f.fields;
            for (k, v) in login {
                if let Some(slot) = fields.iter_mut().find(|(n, _)| n == k) {
                    slot.1 = (*v).to_owned();
                }
            }
            next = (action, Some(fields));
        }
        panic!("the IdP never sent the browser back");
    }
}
