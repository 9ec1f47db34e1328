//! Connected accounts in the sandbox, as strict as the fake Stripe: one account per key,
//! restricted until onboarding on the sandbox's own page, single-use links, payments refused
//! meanwhile, and accounts kept in the data folder across a restart.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use billing_core::connect::OnboardingReturn;
use billing_core::ports::{AccountOnboarding, GatewayError, NewConnectedAccount, PaymentGateway};
use billing_core::testkit::FixedClock;
use billing_sandbox::{SandboxConfig, SandboxGateway};

use common::{customer, request, sandbox, usd};

fn new_account(key: &str) -> NewConnectedAccount {
    NewConnectedAccount {
        business: "sparkle".parse().expect("id"),
        email: None,
        idempotency_key: key.into(),
    }
}

fn back() -> OnboardingReturn {
    OnboardingReturn {
        return_url: "https://billing.example/console/settings/stripe/return".into(),
        refresh_url: "https://billing.example/console/settings/stripe/refresh".into(),
    }
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.clone().oneshot(request).await.expect("answered");
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

fn post(uri: &str, form: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request")
}

#[tokio::test]
async fn onboarding_on_the_sandbox_page_lets_the_account_charge() {
    let (gateway, _) = sandbox();
    let app = Router::new().nest("/sandbox", gateway.challenge_pages());
    let made = gateway
        .create_account(&new_account("connect-account:sparkle"))
        .await
        .expect("made");
    assert!(made.account.starts_with("acct_"));
    assert!(!made.charges_enabled && !made.requirements_due.is_empty());
    assert_eq!(
        gateway
            .create_account(&new_account("connect-account:sparkle"))
            .await
            .expect("again"),
        made,
        "one account per key"
    );

    let account = Some(made.account.clone());
    let cus = customer(&gateway, account.clone(), "ada").await;
    let card = gateway
        .attach_card(account.clone(), &cus, "pm_card_visa")
        .await
        .expect("card");
    let mut asked = request("pay_1", &cus, &card.payment_method, usd(5_000));
    asked.account = account.clone();
    assert!(matches!(
        gateway.charge(&asked).await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    assert!(matches!(
        gateway.authorize(&asked).await,
        Err(GatewayError::InvalidRequest { .. })
    ));

    let link = gateway
        .onboarding_link(&made.account, &back())
        .await
        .expect("link");
    assert!(
        link.url.starts_with("/sandbox/connect/onboarding/"),
        "{}",
        link.url
    );
    let (status, _, page) = send(&app, get(&link.url)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"complete\"") && page.contains(&made.account),
        "{page}"
    );
    let (status, location, _) = send(&app, post(&link.url, "result=complete")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some(back().return_url.as_str()));
    let (status, location, _) = send(&app, get(&link.url)).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(back().refresh_url.as_str())),
        "a link works once"
    );
    let (status, _, _) = send(&app, get("/sandbox/connect/onboarding/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let now = gateway.account(&made.account).await.expect("read");
    assert!(now.charges_enabled && now.details_submitted && now.requirements_due.is_empty());
    let mut asked = request("pay_2", &cus, &card.payment_method, usd(5_000));
    asked.account = account;
    gateway.charge(&asked).await.expect("charged");
    assert!(matches!(
        gateway.onboarding_link("acct_nobody", &back()).await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn leaving_changes_nothing_and_accounts_survive_a_restart() {
    let folder = common::DataDir::new("sandbox-connect");
    let clock = Arc::new(FixedClock::default());
    let made = {
        let gateway = SandboxGateway::open(folder.path(), clock.clone(), SandboxConfig::default())
            .expect("opened");
        let app = Router::new().nest("/sandbox", gateway.challenge_pages());
        let made = gateway
            .create_account(&new_account("connect-account:sparkle"))
            .await
            .expect("made");
        let link = gateway
            .onboarding_link(&made.account, &back())
            .await
            .expect("link");
        let (status, location, _) = send(&app, post(&link.url, "result=leave")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some(back().return_url.as_str()));
        assert!(
            !gateway
                .account(&made.account)
                .await
                .expect("read")
                .charges_enabled
        );
        made
    };
    let reopened =
        SandboxGateway::open(folder.path(), clock, SandboxConfig::default()).expect("reopened");
    assert_eq!(reopened.account(&made.account).await.expect("kept"), made);
    assert_eq!(
        reopened
            .create_account(&new_account("connect-account:sparkle"))
            .await
            .expect("same"),
        made
    );
    reopened
        .complete_onboarding(&made.account)
        .expect("completed");
    assert!(
        reopened
            .account(&made.account)
            .await
            .expect("read")
            .charges_enabled
    );
}
