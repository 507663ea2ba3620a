//! The web app's static export is served at `/` (with a Content-Security-Policy hashing each
//! page's inline scripts, and the other security headers), while every API, platform, health,
//! metrics and docs route keeps answering as before.

use crate::support::TestApp;

/// A miniature static export shaped like `web/out` (the real one is built by `make web`).
fn export() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    std::fs::create_dir_all(p.join("sign-in")).expect("mkdir");
    std::fs::create_dir_all(p.join("_next/static/chunks")).expect("mkdir");
    std::fs::write(
        p.join("index.html"),
        r#"<!DOCTYPE html><html><body><script src="/_next/static/chunks/a.js" async=""></script><script>self.boot=1</script>home</body></html>"#,
    )
    .expect("write");
    std::fs::write(
        p.join("sign-in/index.html"),
        "<!DOCTYPE html><html><body>sign in page</body></html>",
    )
    .expect("write");
    std::fs::write(
        p.join("404.html"),
        "<!DOCTYPE html><html><body>not here</body></html>",
    )
    .expect("write");
    std::fs::write(p.join("_next/static/chunks/a.js"), "console.log(1)").expect("write");
    dir
}

#[tokio::test]
async fn serves_the_app_with_security_headers() {
    let dir = export();
    let app = TestApp::with_web(dir.path().to_owned()).await;

    let r = app.client.get("/").send().await;
    r.assert_status_is_ok();
    r.assert_header("X-Content-Type-Options", "nosniff");
    r.assert_header("X-Frame-Options", "DENY");
    r.assert_header("Referrer-Policy", "no-referrer");
    let csp =
        r.0.headers()
            .get("Content-Security-Policy")
            .expect("CSP on HTML")
            .to_str()
            .expect("ascii")
            .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        r.0.into_body()
            .into_string()
            .await
            .expect("body")
            .contains("home")
    );

    // A page of the export, with or without the trailing slash.
    for path in ["/sign-in", "/sign-in/"] {
        let r = app.client.get(path).send().await;
        r.assert_status_is_ok();
        r.assert_content_type("text/html; charset=utf-8");
        r.assert_text("<!DOCTYPE html><html><body>sign in page</body></html>")
            .await;
    }

    // Hashed assets are cached for good; unknown pages get the app's 404 page.
    let r = app.client.get("/_next/static/chunks/a.js").send().await;
    r.assert_status_is_ok();
    r.assert_header("Cache-Control", "public, max-age=31536000, immutable");
    let r = app.client.get("/no/such/page").send().await;
    r.assert_status(poem::http::StatusCode::NOT_FOUND);
    r.assert_text("<!DOCTYPE html><html><body>not here</body></html>")
        .await;

    // Nothing outside the export.
    let r = app.client.get("/../Cargo.toml").send().await;
    r.assert_status(poem::http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_routes_are_not_shadowed() {
    let dir = export();
    let app = TestApp::with_web(dir.path().to_owned()).await;

    let r = app.client.get("/healthz").send().await;
    r.assert_status_is_ok();
    r.assert_text(r#"{"status":"ok"}"#).await;
    app.client.get("/readyz").send().await.assert_status_is_ok();
    let r = app.client.get("/metrics").send().await;
    r.assert_status_is_ok();
    r.assert_content_type("text/plain; version=0.0.4");
    let r = app.client.get("/openapi.json").send().await;
    r.assert_status_is_ok();
    r.assert_content_type("application/json");
    let r = app.client.get("/platform/openapi.json").send().await;
    r.assert_status_is_ok();
    r.assert_content_type("application/json");
    let r = app.client.get("/docs/").send().await;
    r.assert_status_is_ok();
    assert!(r.0.headers().get("Content-Security-Policy").is_none());

    // API errors stay problem+json, not the app's HTML.
    let r = app.client.get("/api/v1/departments").send().await;
    r.assert_status(poem::http::StatusCode::BAD_REQUEST);
    r.assert_content_type("application/problem+json");
    let r = app
        .client
        .get("/api/v1/no-such-route")
        .header("X-Tenant", "nobody")
        .send()
        .await;
    r.assert_content_type("application/problem+json");
    let r = app.client.get("/platform/v1/tenants").send().await;
    r.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    r.assert_content_type("application/problem+json");
}
