//! `/docs`: the API reference, rendered in the browser by Redoc from `/openapi.json`. Every
//! asset is served from this binary (Redoc's standalone bundle is vendored in
//! `assets/vendor/`, with its licence), so the page works with no internet.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The vendored Redoc bundle's version: in its path, so that it can be cached for good.
const REDOC_VERSION: &str = "2.5.1";

/// Redoc's standalone bundle (`npm pack redoc@2.5.1`, `bundles/`), its attribution logo's CDN
/// address blanked: see `assets/vendor/README.md`.
const REDOC_JS: &str = include_str!("../assets/vendor/redoc-2.5.1.standalone.js");

/// The page: Redoc finds the `redoc` element and loads the spec it names. No inline script.
const PAGE: &str = "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Billing API reference</title>
</head>
<body>
<redoc spec-url=\"/openapi.json\"></redoc>
<script src=\"/docs/redoc-2.5.1.standalone.js\"></script>
</body>
</html>
";

/// Own scripts only; Redoc writes its styles into the page (styled-components) and runs its
/// search index in a worker made from a blob; nothing is fetched from elsewhere.
pub(crate) const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";

/// `/docs` and its script.
pub(crate) fn routes() -> Router {
    Router::new().route("/docs", get(page)).route(
        &format!("/docs/redoc-{REDOC_VERSION}.standalone.js"),
        get(script),
    )
}

async fn page() -> Response {
    let mut response = PAGE.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn script() -> Response {
    let mut response = REDOC_JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    // The version is in the path: a new one is a new address.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
        assert!(PAGE.contains(&format!("/docs/redoc-{REDOC_VERSION}.standalone.js")));
        assert!(!DOCS_POLICY.contains("unsafe-eval"));
        assert!(HeaderValue::from_str(DOCS_POLICY).is_ok());
        assert!(REDOC_JS.len() > 100_000, "the bundle is vendored whole");
        assert!(!REDOC_JS.contains("cdn.redoc.ly"), "nothing from a CDN");
    }
}
