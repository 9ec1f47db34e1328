//! The sandbox's 3-D Secure challenge page, through HTTP: what it shows, what each button does,
//! where it sends the browser, and what it refuses.

mod common;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt;

use billing_core::ports::{GatewayStatus, PaymentGateway, SetupStatus};
use billing_core::testkit::FixedClock;
use billing_sandbox::{SandboxConfig, SandboxGateway};

use common::{ACCT, RETURN_URL, acct, customer, on_session, request, sandbox, usd};

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

fn app(gateway: &SandboxGateway) -> Router {
    Router::new().nest("/sandbox", gateway.challenge_pages())
}

async fn send(app: &Router, request: Request<Body>) -> Page {
    let response = app.clone().oneshot(request).await.expect("answered");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    Page {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("utf-8"),
    }
}

async fn get(app: &Router, uri: &str) -> Page {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    send(app, request).await
}

async fn post(app: &Router, uri: &str, form: &str) -> Page {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request");
    send(app, request).await
}

/// A payment of 40.00 waiting for the challenge: its reference and its page's address.
async fn waiting_payment(gateway: &SandboxGateway, card: &str, hold: bool) -> (String, String) {
    let customer = customer(gateway, acct(), "page").await;
    let asked = on_session(
        request(&format!("pay_{card}_{hold}"), &customer, card, usd(4_000)),
        false,
    );
    let answer = if hold {
        gateway.authorize(&asked).await
    } else {
        gateway.charge(&asked).await
    }
    .expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction);
    let url = answer
        .next_action
        .and_then(|n| n.redirect_url)
        .expect("the page");
    (answer.reference, url)
}

#[tokio::test]
async fn the_page_shows_the_amount_and_two_buttons() {
    let (gateway, _) = sandbox();
    let (reference, url) = waiting_payment(&gateway, "pm_card_authenticationRequired", false).await;
    let page = get(&app(&gateway), &url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(
        page.body.contains("Sandbox 3-D Secure challenge"),
        "{}",
        page.body
    );
    assert!(page.body.contains("40.00 USD"), "{}", page.body);
    assert!(page.body.contains("ending 3184"), "{}", page.body);
    assert!(page.body.contains(&reference));
    assert!(page.body.contains("id=\"approve\""));
    assert!(page.body.contains("Complete authentication"));
    assert!(page.body.contains("id=\"fail\""));
    assert!(page.body.contains("Fail authentication"));
    assert!(!page.body.contains("<script"), "no script needed");
}

#[tokio::test]
async fn completing_it_pays_and_sends_the_browser_back() {
    let (gateway, _) = sandbox();
    let (reference, url) = waiting_payment(&gateway, "pm_card_threeDSecure2Required", false).await;
    let app = app(&gateway);
    let answer = post(&app, &url, "result=approve").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(format!("{RETURN_URL}?payment_intent={reference}&redirect_status=succeeded").as_str())
    );
    let paid = gateway.payment(ACCT, &reference).expect("present");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    // Finished: the page is gone, and answering again changes nothing.
    assert_eq!(get(&app, &url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        post(&app, &url, "result=fail").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        gateway.payment(ACCT, &reference).map(|p| p.status),
        Some(GatewayStatus::Succeeded)
    );
}

#[tokio::test]
async fn completing_a_hold_places_it() {
    let (gateway, _) = sandbox();
    let (reference, url) =
        waiting_payment(&gateway, "pm_card_authenticationRequiredOnSetup", true).await;
    let answer = post(&app(&gateway), &url, "result=approve").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let held = gateway.payment(ACCT, &reference).expect("present");
    assert_eq!(held.status, GatewayStatus::RequiresCapture);
    assert_eq!(held.amount_capturable, usd(4_000));
}

#[tokio::test]
async fn failing_it_fails_the_payment() {
    let (gateway, _) = sandbox();
    let (reference, url) = waiting_payment(&gateway, "pm_card_authenticationRequired", false).await;
    let answer = post(&app(&gateway), &url, "result=fail").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let location = answer
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(location.ends_with("redirect_status=failed"), "{location}");
    let failed = gateway.payment(ACCT, &reference).expect("present");
    assert!(
        matches!(&failed.status, GatewayStatus::Failed(f) if f.code == "payment_intent_authentication_failure"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_card_setup_is_challenged_on_the_same_page() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "setup").await;
    let setup = gateway
        .start_card_setup(acct(), &customer, "setup-1")
        .await
        .expect("started");
    let pm = gateway
        .create_payment_method_from_card("4000002500003155", 5, 2032, "123")
        .expect("valid");
    let return_url = "https://billing.example.com/cards/tok_2/return?lang=en";
    let asked = gateway
        .confirm_card_setup(acct(), &setup.reference, &pm, return_url)
        .await
        .expect("answered");
    let SetupStatus::RequiresAction(next) = asked.status else {
        panic!("expected the challenge, got {asked:?}");
    };
    let url = next.redirect_url.expect("the page");
    let app = app(&gateway);
    let page = get(&app, &url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("saving your card"), "{}", page.body);
    assert!(page.body.contains("ending 3155"), "{}", page.body);
    let answer = post(&app, &url, "result=approve").await;
    assert_eq!(
        answer
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(
            format!(
                "{return_url}&setup_intent={}&redirect_status=succeeded",
                setup.reference
            )
            .as_str()
        )
    );
    let read = gateway
        .card_setup(acct(), &setup.reference)
        .await
        .expect("read");
    assert!(matches!(read.status, SetupStatus::Succeeded(_)), "{read:?}");
}

#[tokio::test]
async fn wrong_addresses_and_answers_are_refused() {
    let (gateway, _) = sandbox();
    let (reference, url) = waiting_payment(&gateway, "pm_card_authenticationRequired", false).await;
    let app = app(&gateway);
    let without_token = format!("/sandbox/authenticate/{reference}");
    let wrong_token = format!("/sandbox/authenticate/{reference}?token=guess");
    for uri in [
        without_token.as_str(),
        wrong_token.as_str(),
        "/sandbox/authenticate/pi_sbx99999999999999?token=x",
        "/sandbox/authenticate/%3Cscript%3E?token=x",
    ] {
        let page = get(&app, uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.body.contains("no challenge waiting"), "{}", page.body);
        assert!(!page.body.contains("<script>"));
        assert_eq!(
            post(&app, uri, "result=approve").await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    for form in ["", "result=maybe", "result=<b>"] {
        let page = post(&app, &url, form).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{form:?}");
        assert!(!page.body.contains("<b>"));
    }
    assert_eq!(
        gateway.payment(ACCT, &reference).map(|p| p.status),
        Some(GatewayStatus::RequiresAction),
        "nothing was answered"
    );
}

#[tokio::test]
async fn the_page_can_live_under_another_base() {
    let clock = std::sync::Arc::new(FixedClock::default());
    let gateway = SandboxGateway::with_config(
        clock,
        SandboxConfig::default().with_challenge_base("https://billing.example.com/test-gateway/"),
    );
    let (reference, url) = waiting_payment(&gateway, "pm_card_authenticationRequired", false).await;
    let path = url
        .strip_prefix("https://billing.example.com/test-gateway")
        .expect("under the base");
    assert!(
        path.starts_with(&format!("/authenticate/{reference}?token=")),
        "{url}"
    );
    let app = Router::new().nest("/test-gateway", gateway.challenge_pages());
    let page = get(&app, &format!("/test-gateway{path}")).await;
    assert_eq!(page.status, StatusCode::OK);
}
