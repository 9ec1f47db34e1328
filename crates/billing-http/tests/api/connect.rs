//! Connecting the business's Stripe account through the API: onboarding started (one account,
//! a fresh link each time), the owner's return, `account.updated` events (never an older one
//! over a newer), card payments refused with a problem while the account cannot charge, and
//! one business seeing nothing of another's account.

use billing_core::connect::AccountState;
use billing_core::ports::{EventSubject, GatewayEvent, WebhookRejected, WebhookVerifier};
use billing_core::testkit::ScriptedOnboarding;
use billing_http::{AppState, router};

use crate::common::*;

const BACK: &str = r#"{"return_url": "https://app.example/stripe/return", "refresh_url": "https://app.example/stripe/refresh"}"#;

fn back() -> Value {
    serde_json::from_str(BACK).unwrap()
}

/// Account events as JSON: `{"id", "account", "charges_enabled", "past_due"?, "created"}`
/// (seconds after the harness's clock start), signed `good`.
struct AccountEvents {
    start: chrono::DateTime<chrono::Utc>,
}

impl WebhookVerifier for AccountEvents {
    fn verify(&self, payload: &[u8], signature: &str) -> Result<GatewayEvent, WebhookRejected> {
        if signature != "good" {
            return Err(WebhookRejected("no v1 signature matches".into()));
        }
        let body: Value =
            serde_json::from_slice(payload).map_err(|e| WebhookRejected(e.to_string()))?;
        let account = body["account"].as_str().unwrap_or_default().to_owned();
        let charges = body["charges_enabled"].as_bool().unwrap_or(false);
        let state = AccountState {
            charges_enabled: charges,
            payouts_enabled: charges,
            details_submitted: true,
            requirements_past_due: body["past_due"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            disabled_reason: (!charges).then(|| "requirements.past_due".to_owned()),
            ..AccountState::new_restricted(account.clone())
        };
        Ok(GatewayEvent {
            id: body["id"].as_str().unwrap_or_default().to_owned(),
            event_type: "account.updated".into(),
            account: Some(account),
            business: None,
            subject: EventSubject::Account {
                state,
                created: self.start + Duration::seconds(body["created"].as_i64().unwrap_or(0)),
            },
        })
    }
}

/// The harness with onboarding (scripted, as strict as Stripe's) and account events.
async fn connectable() -> (Harness, ScriptedOnboarding) {
    let mut h = Harness::new().await;
    let onboarding = ScriptedOnboarding::new(h.clock.clone());
    let billing = h
        .billing
        .clone()
        .with_onboarding(Arc::new(onboarding.clone()));
    let start = billing_core::ports::Clock::now(&*h.clock);
    h.app = router(AppState::new(billing.clone()).with_webhooks(Arc::new(AccountEvents { start })));
    h.billing = billing;
    (h, onboarding)
}

async fn event(h: &Harness, body: Value) -> Reply {
    h.send(
        Request::post("/v1/webhooks/stripe")
            .header("stripe-signature", "good")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn onboarding_connects_one_account_and_charges_wait_for_it() {
    let (h, onboarding) = connectable().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.get("/v1/connect/account")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "account_not_connected");

    let started = h.post("/v1/connect/onboarding", back()).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.text);
    let account = started.json["account"]["account"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(account.starts_with("acct_"));
    assert!(
        started.json["url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(started.json["expires_at"].is_string());
    assert_eq!(started.json["account"]["standing"], "onboarding_incomplete");
    assert_eq!(started.json["account"]["charges_enabled"], false);
    assert_eq!(
        started.json["account"]["requirements_due"],
        json!(["external_account", "tos_acceptance.date"])
    );
    let again = h.post("/v1/connect/onboarding", back()).await;
    assert_eq!(again.json["account"]["account"], account.as_str());
    assert_ne!(
        again.json["url"], started.json["url"],
        "a fresh link each time"
    );
    assert_eq!(onboarding.made().len(), 1, "one account");
    assert_eq!(
        onboarding.links()[0].1.return_url,
        "https://app.example/stripe/return"
    );

    // Card payments wait for the account; nothing is written or sent.
    let before = h.get("/v1/bookings/b1").await.json;
    let calls = h.gateway.calls().len();
    let refused = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "30.00"}), "k-1")
        .await;
    refused.assert_problem(StatusCode::CONFLICT, "account_cannot_charge");
    assert_eq!(refused.json["title"], "Account cannot charge");
    assert!(
        refused.json["detail"].as_str().unwrap().contains(&account),
        "{}",
        refused.text
    );
    h.post("/v1/bookings/b1/authorizations", json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "account_cannot_charge");
    let bulk = h
        .post("/v1/charges/bulk", json!({"bookings": ["b1"]}))
        .await;
    assert_eq!(bulk.json["results"][0]["status"], 409, "{}", bulk.text);
    assert_eq!(
        bulk.json["results"][0]["error"]["code"], "account_cannot_charge",
        "{}",
        bulk.text
    );
    assert_eq!(h.get("/v1/bookings/b1").await.json, before);
    assert_eq!(
        h.gateway.calls().len(),
        calls,
        "the gateway was asked nothing"
    );

    // The owner finishes and comes back.
    onboarding.complete(&account).unwrap();
    h.clock.advance(Duration::seconds(5));
    let returned = h.post("/v1/connect/onboarding/return", json!({})).await;
    assert_eq!(returned.status, StatusCode::OK, "{}", returned.text);
    assert_eq!(returned.json["standing"], "ready");
    assert_eq!(returned.json["requirements_due"], json!([]));
    assert_eq!(h.get("/v1/connect/account").await.json, returned.json);
    let charged = h
        .post_keyed("/v1/bookings/b1/charges", json!({"amount": "30.00"}), "k-1")
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{}", charged.text);
}

#[tokio::test]
async fn account_events_keep_the_newest_state() {
    let (h, _) = connectable().await;
    let started = h.post("/v1/connect/onboarding", back()).await;
    let account = started.json["account"]["account"]
        .as_str()
        .unwrap()
        .to_owned();
    h.clock.advance(Duration::seconds(100));

    let ready = event(
        &h,
        json!({"id": "evt_2", "account": account, "charges_enabled": true, "created": 50}),
    )
    .await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    assert_eq!(ready.json["outcome"], "reconciled");
    let late = event(
        &h,
        json!({"id": "evt_1", "account": account, "charges_enabled": false, "created": 20}),
    )
    .await;
    assert_eq!(
        late.json["outcome"], "ignored",
        "an older event changes nothing"
    );
    assert_eq!(h.get("/v1/connect/account").await.json["standing"], "ready");

    let restricted = event(
        &h,
        json!({"id": "evt_3", "account": account, "charges_enabled": false,
               "past_due": ["external_account"], "created": 60}),
    )
    .await;
    assert_eq!(restricted.json["outcome"], "reconciled");
    let now = h.get("/v1/connect/account").await.json;
    assert_eq!(now["standing"], "restricted");
    assert_eq!(now["requirements_past_due"], json!(["external_account"]));
    assert_eq!(now["disabled_reason"], "requirements.past_due");
    let other = event(
        &h,
        json!({"id": "evt_4", "account": "acct_of_nobody", "charges_enabled": true, "created": 70}),
    )
    .await;
    assert_eq!(other.json["outcome"], "ignored");
}

#[tokio::test]
async fn onboarding_needs_return_addresses_and_a_gateway_that_connects() {
    let h = Harness::new().await;
    h.post("/v1/connect/onboarding", back())
        .await
        .assert_problem(StatusCode::NOT_IMPLEMENTED, "onboarding_unavailable");
    let (h, onboarding) = connectable().await;
    h.post(
        "/v1/connect/onboarding",
        json!({"return_url": "/settings", "refresh_url": "https://app.example/r"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    h.post(
        "/v1/connect/onboarding",
        json!({"return_url": "https://app.example/r"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    h.post("/v1/connect/onboarding/return", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "account_not_connected");
    assert!(onboarding.made().is_empty());
}

#[tokio::test]
async fn a_business_sees_nothing_of_another_business_account() {
    let (h, onboarding) = connectable().await;
    let a = h.post("/v1/connect/onboarding", back()).await;
    let account_a = a.json["account"]["account"].as_str().unwrap().to_owned();
    onboarding.complete(&account_a).unwrap();
    h.post("/v1/connect/onboarding/return", json!({})).await;
    // B has none, cannot return to A's, and connecting makes B its own.
    h.get_as(KEY_B, "/v1/connect/account")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "account_not_connected");
    h.call(
        Method::POST,
        "/v1/connect/onboarding/return",
        Some(KEY_B),
        Some(json!({})),
        &[],
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "account_not_connected");
    let b = h
        .call(
            Method::POST,
            "/v1/connect/onboarding",
            Some(KEY_B),
            Some(back()),
            &[],
        )
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    assert_ne!(b.json["account"]["account"], account_a.as_str());
    assert_eq!(b.json["account"]["standing"], "onboarding_incomplete");
    assert_eq!(h.get("/v1/connect/account").await.json["standing"], "ready");
    for path in ["/v1/connect/account"] {
        h.call(Method::GET, path, None, None, &[])
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
}
