//! Serves the web app's static export (`web/out`, built by `make web`) at `/`, on the same
//! origin as the API, with the security headers an HTML app needs.
//!
//! Mounted last in `app::build`, so `/api`, `/platform`, `/healthz`, `/readyz`, `/metrics`,
//! `/docs` and `/openapi.json` keep their own endpoints; everything else is looked up here.
//!
//! The Content-Security-Policy allows scripts only from this origin plus the exact inline
//! scripts of each page: Next's static export puts its bootstrap and RSC payload in inline
//! `<script>` tags, so at start-up every HTML file is read once and the SHA-256 of each inline
//! script goes into that file's policy (`script-src 'self' 'sha256-…'`). No `'unsafe-inline'`
//! for scripts or styles. The HTML is fixed after the build, so the hashes cannot go stale
//! while the server runs; rebuilding the app needs a restart (as any deploy does).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use poem::http::{HeaderValue, StatusCode, header};
use poem::web::StaticFileRequest;
use poem::{Endpoint, FromRequest, IntoResponse, Request, Response};
use sha2::{Digest, Sha256};

use crate::telemetry::RouteLabel;

/// The policy for every page, before the per-page script hashes.
const CSP_BASE: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The static export, with each HTML file's Content-Security-Policy computed once.
pub struct WebApp {
    root: PathBuf,
    csp: Arc<HashMap<PathBuf, String>>,
}

impl WebApp {
    /// `None` when `dir` holds no `index.html` (the app is not built).
    pub fn open(dir: &Path) -> Option<Self> {
        if !dir.join("index.html").is_file() {
            return None;
        }
        let mut csp = HashMap::new();
        collect_html(dir, &mut csp);
        tracing::info!(pages = csp.len(), "serving the web app");
        Some(Self {
            root: dir.to_path_buf(),
            csp: Arc::new(csp),
        })
    }

    /// The file a request path names: the file itself, `<path>/index.html` or `<path>.html`.
    fn resolve(&self, path: &str) -> Option<PathBuf> {
        let decoded = percent_decode(path)?;
        let mut file = self.root.clone();
        for part in Path::new(decoded.trim_start_matches('/')).components() {
            match part {
                Component::Normal(p) => file.push(p),
                Component::CurDir => {}
                // `..`, a root or a drive prefix: never outside the export.
                _ => return None,
            }
        }
        if file.is_file() {
            return Some(file);
        }
        let index = file.join("index.html");
        if index.is_file() {
            return Some(index);
        }
        let html = file.with_extension("html");
        html.is_file().then_some(html)
    }
}

impl Endpoint for WebApp {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if req.method() != poem::http::Method::GET && req.method() != poem::http::Method::HEAD {
            return Err(poem::Error::from_status(StatusCode::METHOD_NOT_ALLOWED));
        }
        let (file, status) = match self.resolve(req.uri().path()) {
            Some(f) => (f, StatusCode::OK),
            None => (self.root.join("404.html"), StatusCode::NOT_FOUND),
        };
        let conditional = StaticFileRequest::from_request_without_body(&req).await?;
        let mut resp = conditional
            .create_response(&file, true, false)?
            .into_response();
        if status == StatusCode::NOT_FOUND && resp.status().is_success() {
            resp.set_status(StatusCode::NOT_FOUND);
        }
        let headers = resp.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(csp) = self.csp.get(&file) {
            if let Ok(v) = HeaderValue::from_str(csp) {
                headers.insert(header::CONTENT_SECURITY_POLICY, v);
            }
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            headers.insert(
                "Permissions-Policy",
                HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
            );
            // Pages name their hashed assets; always revalidate them so a deploy shows at once.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        } else if req.uri().path().starts_with("/_next/static/") {
            // File names carry a content hash: cache them for good.
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
        }
        resp.set_data(RouteLabel("web"));
        Ok(resp)
    }
}

fn collect_html(dir: &Path, out: &mut HashMap<PathBuf, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_html(&path, out);
        } else if path.extension().is_some_and(|e| e == "html") {
            match std::fs::read_to_string(&path) {
                Ok(html) => {
                    out.insert(path, csp_for(&html));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable web page; served without a policy")
                }
            }
        }
    }
}

/// The page's policy: the base plus a hash for each inline `<script>` it contains.
pub fn csp_for(html: &str) -> String {
    let mut script_src = String::from("script-src 'self'");
    for body in inline_scripts(html) {
        let digest = Sha256::digest(body.as_bytes());
        script_src.push_str(" 'sha256-");
        script_src.push_str(&base64::engine::general_purpose::STANDARD.encode(digest));
        script_src.push('\'');
    }
    format!("{CSP_BASE}; {script_src}")
}

/// The text of each `<script>` without a `src` attribute, exactly as it appears.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start + "<script".len()..];
        let Some(tag_end) = rest.find('>') else { break };
        let attrs = &rest[..tag_end];
        rest = &rest[tag_end + 1..];
        let Some(close) = rest.find("</script>") else {
            break;
        };
        if !attrs.contains(" src=") && !rest[..close].is_empty() {
            out.push(&rest[..close]);
        }
        rest = &rest[close + "</script>".len()..];
    }
    out
}

fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html = r#"<script src="/a.js" async=""></script><script>alert(1)</script><script id="_R_">x()</script>"#;
        assert_eq!(inline_scripts(html), vec!["alert(1)", "x()"]);
        let csp = csp_for(html);
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(csp.matches("'sha256-").count(), 2);
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn never_leaves_the_export() {
        let dir = std::env::temp_dir().join(format!("swiftacare-web-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sign-in")).expect("temp dir");
        std::fs::write(dir.join("index.html"), "<html></html>").expect("write");
        std::fs::write(dir.join("sign-in/index.html"), "<html></html>").expect("write");
        let app = WebApp::open(&dir).expect("index.html exists");
        assert_eq!(
            app.resolve("/sign-in"),
            Some(dir.join("sign-in/index.html"))
        );
        assert_eq!(
            app.resolve("/sign-in/"),
            Some(dir.join("sign-in/index.html"))
        );
        assert_eq!(app.resolve("/../etc/passwd"), None);
        assert_eq!(app.resolve("/%2e%2e/etc/passwd"), None);
        std::fs::remove_dir_all(&dir).ok();
    }
}
