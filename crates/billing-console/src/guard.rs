//! Around every console route: refuse forms posted from another site, answer bare error
//! statuses as pages, and set the security headers.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use axum_extra::extract::cookie::CookieJar;

use crate::Console;

/// Own stylesheet only; no script at all; forms to the console itself; never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A form posted from another site (a cross-site request forgery, also of the sign-in form,
/// which has no session yet) is refused before any handler, by the browser's own
/// `Sec-Fetch-Site` and `Origin`; session-bound forms also carry a CSRF token. An `Origin` is
/// the console's own when it is the service's public origin (`public`), or names the host the
/// request was sent to (a proxy may rewrite `Host`, hence both).
fn cross_site(method: &Method, headers: &HeaderMap, public: &str) -> bool {
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
        (Some(origin), _) if origin == public => false,
        (Some(origin), Some(host)) => {
            let bare = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .unwrap_or(origin);
            bare != host
        }
        (Some(_), None) => true,
        _ => false,
    }
}

/// The origin (`scheme://host[:port]`) of the service's public URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |at| after_scheme + at);
    &url[..end]
}

/// The not-found page with the header of the member signed in, if any: a member who followed
/// a stale link keeps their way around the console.
async fn missing_for(console: &Console, jar: &CookieJar) -> Response {
    let header = crate::session::signed_in(console, jar)
        .await
        .ok()
        .map(|member| crate::pages::header_of(&member));
    crate::pages::missing_page(header)
}

pub(crate) async fn guard(
    State(console): State<Console>,
    request: Request,
    next: Next,
) -> Response {
    let public = origin_of(&console.config.public_url);
    let jar = CookieJar::from_headers(request.headers());
    let mut response = if cross_site(request.method(), request.headers(), public) {
        crate::pages::forbidden()
    } else {
        next.run(request).await
    };
    let status = response.status();
    let missing = response
        .extensions()
        .get::<crate::pages::Missing>()
        .is_some();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_html {
        response = if status == StatusCode::NOT_FOUND {
            missing_for(&console, &jar).await
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
    if missing {
        response = missing_for(&console, &jar).await;
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
        const PUBLIC: &str = "https://billing.example";
        let post = Method::POST;
        let refused =
            |pairs: &[(&'static str, &'static str)]| cross_site(&post, &headers(pairs), PUBLIC);
        assert!(refused(&[("sec-fetch-site", "cross-site")]));
        assert!(refused(&[
            ("origin", "https://evil.example"),
            ("host", "billing.example")
        ]));
        assert!(refused(&[("origin", "null")]));
        assert!(!refused(&[
            ("origin", "https://billing.example"),
            ("host", "billing.example"),
            ("sec-fetch-site", "same-origin"),
        ]));
        // Behind a proxy that rewrote Host: the public origin is the console's own.
        assert!(!refused(&[
            ("origin", "https://billing.example"),
            ("host", "127.0.0.1:8080")
        ]));
        assert!(!refused(&[]), "no browser headers: no browser");
        assert!(!cross_site(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")]),
            PUBLIC
        ));
    }

    #[test]
    fn the_public_origin_is_the_urls_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://billing.example"),
            "https://billing.example"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://x.example/pay"), "https://x.example");
    }

    #[test]
    fn the_policy_allows_no_script_and_no_framing() {
        assert!(!CONTENT_SECURITY_POLICY.contains("script-src"));
        assert!(CONTENT_SECURITY_POLICY.contains("default-src 'none'"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
