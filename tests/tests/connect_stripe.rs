//! Connecting a business's Stripe account, with `billingd` on the fake Stripe (a process of
//! its own): onboarding makes one account and a fresh link each time, card payments are
//! refused until Stripe enables charges, the signed `account.updated` Stripe sends when the
//! owner finishes brings the account's new state in, and the business then charges on its own
//! account.

use std::time::Duration;

use billing_blackbox::stripe_fake::{OnFakeStripe, Webhooks, eventually, tail};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long a webhook may take to arrive.
const WITHIN: Duration = Duration::from_secs(30);

fn back() -> Value {
    json!({
        "return_url": "https://sparkle.example/stripe/back",
        "refresh_url": "https://sparkle.example/stripe/again",
    })
}

#[tokio::test]
async fn a_business_connects_its_account_and_charges_once_stripe_enables_it() {
    let stack = OnFakeStripe::start(Webhooks::On, &[]);
    let started = stack.post("/v1/connect/onboarding", back()).await;
    assert_eq!(started.status, StatusCode::OK, "{started:?}");
    let account = started.json["account"]["account"]
        .as_str()
        .expect("an account")
        .to_owned();
    assert!(account.starts_with("acct_"), "{started:?}");
    assert_eq!(started.json["account"]["standing"], "onboarding_incomplete");
    let url = started.json["url"].as_str().expect("a link");
    assert!(url.contains("/_fake/connect/onboarding/"), "{url}");
    let again = stack.post("/v1/connect/onboarding", back()).await;
    assert_eq!(again.json["account"]["account"], account.as_str());
    assert_ne!(again.json["url"], started.json["url"]);
    assert_eq!(
        stack.fake.count("POST", "/v1/accounts").await,
        1,
        "one account for the business"
    );

    // The business's customers and cards now live on its account.
    stack
        .seed("c1", "pm_card_visa", "b1", "USD", "120.00")
        .await;
    let refused = stack
        .post("/v1/bookings/b1/charges", json!({"amount": "20.00"}))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
    assert_eq!(refused.json["code"], "account_cannot_charge");
    assert_eq!(
        refused.json["type"],
        "https://billing.example/problems/account_cannot_charge"
    );
    assert_eq!(stack.fake.count("POST", "/v1/payment_intents").await, 0);
    assert_eq!(stack.booking("b1").await["payments"], json!([]));

    // The owner finishes at Stripe; its event arrives signed, and charges go through.
    stack
        .fake
        .post(&format!("accounts/{account}/complete"), json!({}))
        .await;
    let ready = eventually(WITHIN, || async {
        let now = stack.get("/v1/connect/account").await;
        if now.json["charges_enabled"] == true {
            Ok(now.json)
        } else {
            Err(now.json)
        }
    })
    .await;
    let ready = match ready {
        Ok(ready) => ready,
        Err(last) => panic!(
            "the account was not enabled within {WITHIN:?}: {last:#}\nwebhooks: {:#}\nbillingd:\n{}",
            stack.fake.get("webhooks").await,
            tail(&stack.service.log())
        ),
    };
    assert_eq!(ready["standing"], "ready");
    assert_eq!(ready["requirements_due"], json!([]));
    let charged = stack
        .post("/v1/bookings/b1/charges", json!({"amount": "20.00"}))
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{charged:?}");
    let intents = stack.fake.requests("POST", "/v1/payment_intents").await;
    assert!(
        intents
            .iter()
            .all(|r| r["stripe_account"] == account.as_str()),
        "charged on the business's own account: {intents:#?}"
    );

    // Back from onboarding: the account read again says the same.
    let returned = stack.post("/v1/connect/onboarding/return", json!({})).await;
    assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
    assert_eq!(returned.json["standing"], "ready");
}
