//! The fake's 3-D Secure page, where `next_action` sends the customer: two buttons, complete
//! or fail. Completing redirects to the intent's `return_url` with the parameters Stripe adds
//! (`payment_intent`, `payment_intent_client_secret`, `redirect_status`; for a SetupIntent
//! `setup_intent` and `setup_intent_client_secret`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;

use super::{DEFAULT_API_VERSION, Shared};
use crate::api::dashboard::Operation;
use crate::api::{self, Ctx, format_amount};
use crate::form::{self, percent_encode};

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n{body}\n</body></html>\n",
        escape(title),
        escape(title)
    );
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The connected account of the page (`?account=acct_...`).
fn account(uri: &Uri) -> Option<String> {
    form::parse(uri.query().unwrap_or_default())["account"]
        .as_str()
        .filter(|a| a.starts_with("acct_"))
        .map(str::to_owned)
}

fn intent_json(shared: &Shared, account: Option<&str>, id: &str) -> Option<Value> {
    if !(id.starts_with("pi_") || id.starts_with("seti_")) {
        return None;
    }
    shared.with_state(|state| {
        let ctx = Ctx::new(
            state,
            account.map(str::to_owned),
            String::new(),
            None,
            DEFAULT_API_VERSION.into(),
        );
        api::render_object(&ctx, id)
    })
}

/// `GET /_fake/3ds/{intent}`: the challenge.
pub(super) async fn page(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(intent): Path<String>,
    uri: Uri,
) -> Response {
    let account = account(&uri);
    let Some(object) = intent_json(&shared, account.as_deref(), &intent) else {
        return html(
            StatusCode::NOT_FOUND,
            "3D Secure test page",
            &format!("<p>No such intent: {}</p>", escape(&intent)),
        );
    };
    let status = object["status"].as_str().unwrap_or_default();
    let what = match (object["amount"].as_i64(), object["currency"].as_str()) {
        (Some(amount), Some(currency)) => {
            format!("a payment of {}", format_amount(amount, currency))
        }
        _ => "saving a card".to_owned(),
    };
    if status != "requires_action" {
        return html(
            StatusCode::OK,
            "3D Secure test page",
            &format!(
                "<p id=\"status\">{} has a status of {}: there is nothing to authenticate.</p>",
                escape(&intent),
                escape(status)
            ),
        );
    }
    let action = match uri.query() {
        Some(q) => format!("{}?{}", uri.path(), q),
        None => uri.path().to_owned(),
    };
    let action = escape(&action);
    html(
        StatusCode::OK,
        "3D Secure test page",
        &format!(
            "<p>FakeStripe asks the customer to authenticate {} ({}).</p>\n\
             <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"result\" value=\"approve\">\
             <button id=\"approve\" type=\"submit\">Complete authentication</button></form>\n\
             <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"result\" value=\"fail\">\
             <button id=\"fail\" type=\"submit\">Fail authentication</button></form>",
            escape(&what),
            escape(&intent),
        ),
    )
}

/// `POST /_fake/3ds/{intent}` with `result=approve` or `result=fail` (form body or query).
pub(super) async fn complete(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(intent): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let account = account(&uri);
    let form_body = form::parse(&String::from_utf8_lossy(&body));
    let query = form::parse(uri.query().unwrap_or_default());
    let result = form_body["result"]
        .as_str()
        .or(query["result"].as_str())
        .unwrap_or_default()
        .to_owned();
    let success = match result.as_str() {
        "approve" => true,
        "fail" => false,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                "3D Secure test page",
                "<p>Send result=approve or result=fail.</p>",
            );
        }
    };
    let before = intent_json(&shared, account.as_deref(), &intent);
    let return_url = before
        .as_ref()
        .and_then(|b| b["next_action"]["redirect_to_url"]["return_url"].as_str())
        .map(str::to_owned);
    let client_secret = before
        .as_ref()
        .and_then(|b| b["client_secret"].as_str())
        .unwrap_or_default()
        .to_owned();
    let operation = Operation::Authenticate {
        intent: intent.clone(),
        success,
    };
    let after = match shared.operate(account.as_deref(), &operation) {
        Ok(after) => after,
        Err(err) => {
            return html(
                StatusCode::BAD_REQUEST,
                "3D Secure test page",
                &format!("<p id=\"error\">{}</p>", escape(&err.message)),
            );
        }
    };
    let redirect_status = if success { "succeeded" } else { "failed" };
    let Some(return_url) = return_url else {
        return html(
            StatusCode::OK,
            "3D Secure test page",
            &format!(
                "<p id=\"status\">Authentication {redirect_status}: {} is now {}.</p>",
                escape(&intent),
                escape(after["status"].as_str().unwrap_or_default())
            ),
        );
    };
    let kind = if intent.starts_with("seti_") {
        "setup_intent"
    } else {
        "payment_intent"
    };
    let separator = if return_url.contains('?') { '&' } else { '?' };
    let location = format!(
        "{return_url}{separator}{kind}={}&{kind}_client_secret={}&redirect_status={redirect_status}",
        percent_encode(&intent),
        percent_encode(&client_secret),
    );
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let uri: Uri = "/_fake/3ds/pi_1?account=acct_9".parse().expect("uri");
        assert_eq!(account(&uri).as_deref(), Some("acct_9"));
        let uri: Uri = "/_fake/3ds/pi_1?account=venue".parse().expect("uri");
        assert_eq!(account(&uri), None);
    }
}
