//! Connect against the fake Stripe: an account made once per key, Account Links to the fake's
//! onboarding page, the page completing the account and sending the signed `account.updated`,
//! and PaymentIntents refused on an account that cannot take charges.

mod common;

use std::time::Duration;

use billing_core::connect::OnboardingReturn;
use billing_core::ports::{
    AccountOnboarding, EventSubject, GatewayError, NewConnectedAccount, PaymentGateway,
    WebhookVerifier,
};
use billing_stripe::{StripeConfig, StripeGateway, StripeWebhooks};
use billing_stripe_fake::FakeStripe;
use common::{browse, eur, pid};

const RETURN_URL: &str = "https://billing.example/console/settings/stripe/return";
const REFRESH_URL: &str = "https://billing.example/console/settings/stripe/refresh";

async fn start() -> (FakeStripe, StripeGateway) {
    let fake = FakeStripe::start().await;
    let gateway = StripeGateway::new(
        StripeConfig::new(fake.secret_key())
            .with_base_url(fake.base_url())
            .with_timeout(Duration::from_secs(5))
            .with_retries(2, Duration::from_millis(10)),
    )
    .expect("client");
    (fake, gateway)
}

fn new_account(key: &str) -> NewConnectedAccount {
    NewConnectedAccount {
        business: "sparkle".parse().expect("business id"),
        email: Some("owner@sparkle.example".into()),
        idempotency_key: key.into(),
    }
}

fn back() -> OnboardingReturn {
    OnboardingReturn {
        return_url: RETURN_URL.into(),
        refresh_url: REFRESH_URL.into(),
    }
}

#[tokio::test]
async fn accounts_are_made_once_per_key_and_start_restricted() {
    let (fake, gateway) = start().await;
    let made = gateway
        .create_account(&new_account("connect-account:sparkle"))
        .await
        .expect("made");
    assert!(made.account.starts_with("acct_"));
    assert!(!made.charges_enabled && !made.payouts_enabled && !made.details_submitted);
    assert!(
        made.requirements_due
            .contains(&"external_account".to_owned())
    );
    assert_eq!(
        made.disabled_reason.as_deref(),
        Some("requirements.past_due")
    );

    let again = gateway
        .create_account(&new_account("connect-account:sparkle"))
        .await
        .expect("replayed");
    assert_eq!(again, made, "the same key answers the same account");
    let other = gateway
        .create_account(&new_account("connect-account:other"))
        .await
        .expect("made");
    assert_ne!(other.account, made.account);

    let requests = fake.requests();
    let creates: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/v1/accounts" && r.method == "POST")
        .collect();
    assert_eq!(creates.len(), 3);
    assert!(
        creates.iter().all(|r| r.stripe_account.is_none()),
        "the platform's call"
    );
    assert_eq!(creates[0].params()["type"], "standard");
    assert_eq!(creates[0].params()["metadata"]["business_id"], "sparkle");
    assert_eq!(creates[0].params()["email"], "owner@sparkle.example");
    assert!(creates[1].replayed);

    assert_eq!(gateway.account(&made.account).await.expect("read"), made);
    assert!(matches!(
        gateway.account("acct_nobody").await,
        Err(GatewayError::Unavailable(_))
    ));
}

#[tokio::test]
async fn onboarding_completes_the_account_and_signs_its_event() {
    let (fake, gateway) = start().await;
    let made = gateway
        .create_account(&new_account("connect-account:sparkle"))
        .await
        .expect("made");
    let link = gateway
        .onboarding_link(&made.account, &back())
        .await
        .expect("link");
    assert!(
        link.url
            .starts_with(&fake.base_url().trim_end_matches('/').to_owned())
    );
    let second = gateway
        .onboarding_link(&made.account, &back())
        .await
        .expect("another link");
    assert_ne!(second.url, link.url, "a fresh link each time");
    assert!(link.expires_at > common::now(&fake));
    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/account_links")
        .expect("sent");
    assert_eq!(sent.params()["type"], "account_onboarding");
    assert_eq!(sent.params()["return_url"], RETURN_URL);
    assert_eq!(sent.params()["refresh_url"], REFRESH_URL);

    // The owner leaves first: nothing changes, and the link is spent.
    let page = browse(&link.url, "GET", None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Complete onboarding"));
    let left = browse(&link.url, "POST", Some("result=leave")).await;
    assert_eq!(
        (left.status, left.location.as_deref()),
        (303, Some(RETURN_URL))
    );
    assert!(
        !gateway
            .account(&made.account)
            .await
            .expect("read")
            .charges_enabled
    );
    let spent = browse(&link.url, "GET", None).await;
    assert_eq!(
        (spent.status, spent.location.as_deref()),
        (303, Some(REFRESH_URL))
    );

    // Then finishes on a fresh link.
    let done = browse(&second.url, "POST", Some("result=complete")).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some(RETURN_URL))
    );
    let now = gateway.account(&made.account).await.expect("read");
    assert!(now.charges_enabled && now.payouts_enabled && now.details_submitted);
    assert!(now.requirements_due.is_empty() && now.disabled_reason.is_none());

    let events = fake.events_of_type("account.updated");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["account"], made.account.as_str());
    assert_eq!(
        events[0]["data"]["previous_attributes"]["charges_enabled"],
        false
    );
    let payload = serde_json::to_string(&events[0]).expect("json");
    let webhooks = StripeWebhooks::new(fake.webhook_secret()).expect("secret");
    let event = webhooks
        .verify(payload.as_bytes(), &fake.sign(&payload))
        .expect("verified");
    assert_eq!(event.account.as_deref(), Some(made.account.as_str()));
    match event.subject {
        EventSubject::Account { state, created } => {
            assert_eq!(state, now);
            assert_eq!(
                created.timestamp(),
                events[0]["created"].as_i64().expect("created")
            );
        }
        other => panic!("not an account event: {other:?}"),
    }
}

#[tokio::test]
async fn links_need_an_account_of_the_platform() {
    let (_fake, gateway) = start().await;
    assert!(matches!(
        gateway.onboarding_link("acct_nobody", &back()).await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_account_that_cannot_charge_is_refused_payment_intents() {
    let (fake, gateway) = start().await;
    let made = gateway
        .create_account(&new_account("connect-account:sparkle"))
        .await
        .expect("made");
    let account = Some(made.account.clone());
    let customer = gateway
        .create_customer(&billing_core::ports::NewGatewayCustomer {
            account: account.clone(),
            business: "sparkle".parse().expect("id"),
            customer: billing_core::ids::CustomerId::new("c-1").expect("id"),
            name: "Ada".into(),
            email: None,
        })
        .await
        .expect("customer");
    let card = gateway
        .attach_card(account.clone(), &customer, "pm_card_visa")
        .await
        .expect("card");
    let mut request = common::request("pay_1", &customer, &card.payment_method, eur(5_000));
    request.account = account.clone();
    assert!(matches!(
        gateway.charge(&request).await,
        Err(GatewayError::InvalidRequest { ref message, .. }) if message.contains("cannot currently make live charges")
    ));
    fake.complete_onboarding(&made.account).expect("completed");
    let mut request = common::request("pay_2", &customer, &card.payment_method, eur(5_000));
    request.account = account.clone();
    let paid = gateway.charge(&request).await.expect("charged");
    assert_eq!(paid.payment, Some(pid("pay_2")));
    fake.restrict_account(
        &made.account,
        "requirements.past_due",
        &["external_account"],
    )
    .expect("restricted");
    let restricted = gateway.account(&made.account).await.expect("read");
    assert!(!restricted.charges_enabled);
    assert_eq!(
        restricted.requirements_past_due,
        vec!["external_account".to_owned()]
    );
}
