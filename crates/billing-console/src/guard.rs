//! Around every console route: refuse forms posted from another site, answer bare error
//! statuses as pages, and set the security headers.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// Own stylesheet only; no script at all; forms to the console itself; never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A form posted from another site (a cross-site request forgery, also of the sign-in form,
/// which has no session yet) is refused before any handler, by the browser's own
/// `Sec-Fetch-Site` and `Origin`; session-bound forms also carry a CSRF token.
fn cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if method == Method::GET || method == Method::HEAD {
        return false;
    }
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return true;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let bare = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .unwrap_or(origin);
            bare != host
        }
        _ => false,
    }
}

pub(crate) async fn guard(request: Request, next: Next) -> Response {
    let mut response = if cross_site(request.method(), request.headers()) {
        crate::pages::forbidden()
    } else {
        next.run(request).await
    };
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_html {
        response = if status == StatusCode::NOT_FOUND {
            crate::pages::missing()
        } else if status.is_server_error() {
            crate::pages::failed()
        } else {
            crate::views::message(
                status,
                "This request cannot be served",
                "Go back to the console and try again.",
            )
        };
    }
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn forms_from_another_site_are_refused() {
        let post = Method::POST;
        assert!(cross_site(
            &post,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(cross_site(
            &post,
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "billing.example")
            ])
        ));
        assert!(cross_site(&post, &headers(&[("origin", "null")])));
        assert!(!cross_site(
            &post,
            &headers(&[
                ("origin", "https://billing.example"),
                ("host", "billing.example"),
                ("sec-fetch-site", "same-origin")
            ])
        ));
        assert!(
            !cross_site(&post, &headers(&[])),
            "no browser headers: no browser"
        );
        assert!(!cross_site(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
    }

    #[test]
    fn the_policy_allows_no_script_and_no_framing() {
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src"));
        assert!(CONTENT_SECURITY_POLICY.contains("default-src 'none'"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
