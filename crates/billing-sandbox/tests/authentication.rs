//! 3-D Secure with Stripe's test cards, by test id and by number: declined with the customer
//! away, waiting for the challenge with the customer there, completed or failed; a card
//! authenticated once it is set up; and the events a challenge leaves.

mod common;

use billing_core::payment::AUTHENTICATION_REQUIRED;
use billing_core::ports::{CancelRequest, Clock, GatewayError, GatewayStatus, PaymentGateway};
use billing_sandbox::{SandboxConfig, SandboxGateway};

use common::{ACCT, acct, customer, on_session, pid, request, sandbox, usd};

const ALWAYS: [&str; 2] = [
    "pm_card_authenticationRequired",
    "pm_card_threeDSecure2Required",
];
const ON_SETUP: &str = "pm_card_authenticationRequiredOnSetup";

fn declined_for_authentication(status: &GatewayStatus) -> bool {
    matches!(status, GatewayStatus::Failed(f)
        if f.code == AUTHENTICATION_REQUIRED
            && f.decline_code.as_deref() == Some(AUTHENTICATION_REQUIRED)
            && f.suggests_payment_link())
}

#[tokio::test]
async fn off_session_every_authentication_card_is_declined() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "away").await;
    let cards = ALWAYS.iter().copied().chain([ON_SETUP]);
    for (n, card) in cards.enumerate() {
        for hold in [false, true] {
            let asked = request(&format!("pay_{n}_{hold}"), &customer, card, usd(4_000));
            let answer = if hold {
                gateway.authorize(&asked).await
            } else {
                gateway.charge(&asked).await
            }
            .expect("a decline is an answer");
            assert!(
                declined_for_authentication(&answer.status),
                "{card}: {answer:?}"
            );
            assert_eq!(answer.next_action, None);
            assert_eq!(
                (answer.amount_received, answer.amount_capturable),
                (usd(0), usd(0))
            );
            assert!(!answer.multicapture);
        }
    }
    // The same by card number, saved without a set-up.
    for number in ["4000002760003184", "4000002500003155", "4000000000003220"] {
        let pm = gateway
            .create_payment_method_from_card(number, 12, 2030, "123")
            .expect("valid");
        let saved = gateway
            .attach_card(acct(), &customer, &pm)
            .await
            .expect("saved");
        let answer = gateway
            .charge(&request(
                &format!("pay_{number}"),
                &customer,
                &saved.payment_method,
                usd(4_000),
            ))
            .await
            .expect("answered");
        assert!(
            declined_for_authentication(&answer.status),
            "{number}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn on_session_the_payment_waits_for_the_challenge_page() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "there").await;
    let asked = on_session(request("pay_1", &customer, ALWAYS[0], usd(4_000)), false);
    let answer = gateway.charge(&asked).await.expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction);
    let next = answer.next_action.clone().expect("a next action");
    assert!(
        next.client_secret
            .starts_with(&format!("{}_secret_", answer.reference)),
        "{next:?}"
    );
    let page = next.redirect_url.expect("the sandbox's page");
    assert!(
        page.starts_with(&format!(
            "/sandbox/authenticate/{}?token=",
            answer.reference
        )),
        "{page}"
    );
    assert!(
        !page.contains(&next.client_secret),
        "the client secret stays out of addresses"
    );
    assert_eq!(answer.card.as_ref().map(|c| c.last4.as_str()), Some("3184"));
    let found = gateway
        .find_payment(acct(), &asked.payment)
        .await
        .expect("looked up")
        .expect("found");
    assert_eq!(found.status, GatewayStatus::RequiresAction);
    assert_eq!(found.next_action, answer.next_action, "the same page again");
}

#[tokio::test]
async fn a_completed_challenge_pays_or_places_the_hold() {
    let (gateway, clock) = sandbox();
    let customer = customer(&gateway, acct(), "there").await;
    let charge = on_session(request("pay_c", &customer, ALWAYS[1], usd(4_000)), false);
    let hold = on_session(request("pay_h", &customer, ON_SETUP, usd(6_000)), false);
    let charged = gateway.charge(&charge).await.expect("answered");
    let held = gateway.authorize(&hold).await.expect("answered");
    assert_eq!(held.status, GatewayStatus::RequiresAction);
    assert_eq!(held.hold_expires_at, None, "nothing is held yet");

    clock.advance(chrono::Duration::minutes(3));
    gateway
        .authenticate(ACCT, &charged.reference, true)
        .expect("completed");
    gateway
        .authenticate(ACCT, &held.reference, true)
        .expect("completed");
    let paid = gateway.payment(ACCT, &charged.reference).expect("present");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    assert_eq!(paid.amount_received, usd(4_000));
    assert_eq!(paid.next_action, None);
    let placed = gateway.payment(ACCT, &held.reference).expect("present");
    assert_eq!(placed.status, GatewayStatus::RequiresCapture);
    assert_eq!(placed.amount_capturable, usd(6_000));
    assert_eq!(
        placed.hold_expires_at,
        Some(clock.now() + chrono::Duration::days(7)),
        "held from the moment the customer authenticated"
    );
    assert!(placed.multicapture);

    // Answered once: the challenge is over.
    assert!(matches!(
        gateway.authenticate(ACCT, &charged.reference, false),
        Err(GatewayError::InvalidRequest { .. })
    ));
    assert!(matches!(
        gateway.authenticate(ACCT, "pi_never_made", true),
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        gateway.authenticate(Some("acct_other"), &held.reference, true),
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_failed_challenge_fails_the_payment() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "there").await;
    let asked = on_session(request("pay_1", &customer, ALWAYS[0], usd(4_000)), true);
    let answer = gateway.charge(&asked).await.expect("answered");
    gateway
        .authenticate(ACCT, &answer.reference, false)
        .expect("failed");
    let found = gateway
        .find_payment(acct(), &asked.payment)
        .await
        .expect("looked up")
        .expect("found");
    let GatewayStatus::Failed(failure) = &found.status else {
        panic!("expected a failure, got {found:?}");
    };
    assert_eq!(failure.code, "payment_intent_authentication_failure");
    assert!(!failure.suggests_payment_link(), "the customer was there");
    assert_eq!(found.amount_received, usd(0));
    assert!(
        gateway
            .list_cards(acct(), &customer)
            .await
            .expect("listed")
            .is_empty(),
        "a card that failed is not kept"
    );
}

#[tokio::test]
async fn a_payment_waiting_for_the_customer_can_be_given_up() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "there").await;
    let answer = gateway
        .charge(&on_session(
            request("pay_1", &customer, ALWAYS[0], usd(4_000)),
            false,
        ))
        .await
        .expect("answered");
    let canceled = gateway
        .cancel(&CancelRequest {
            account: acct(),
            payment_reference: answer.reference.clone(),
            idempotency_key: "pay_1:cancel".into(),
        })
        .await
        .expect("given up");
    assert_eq!(canceled.status, GatewayStatus::Canceled);
    assert_eq!(canceled.next_action, None);
    assert!(matches!(
        gateway.authenticate(ACCT, &answer.reference, true),
        Err(GatewayError::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn a_card_saved_by_an_authenticated_payment_charges_without_the_customer() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "saver").await;
    // By test id: the card kept is a copy with its own id, set up by the payment.
    let first = gateway
        .charge(&on_session(
            request("pay_1", &customer, ON_SETUP, usd(2_000)),
            true,
        ))
        .await
        .expect("answered");
    gateway
        .authenticate(ACCT, &first.reference, true)
        .expect("completed");
    let kept = gateway
        .payment(ACCT, &first.reference)
        .and_then(|p| p.card)
        .expect("the card charged");
    assert_ne!(kept.payment_method, ON_SETUP);
    let cards = gateway.list_cards(acct(), &customer).await.expect("listed");
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].payment_method, kept.payment_method);
    let later = gateway
        .charge(&request(
            "pay_2",
            &customer,
            &kept.payment_method,
            usd(2_500),
        ))
        .await
        .expect("answered");
    assert_eq!(later.status, GatewayStatus::Succeeded, "{later:?}");
    // With the customer there, the issuer still asks.
    let again = gateway
        .charge(&on_session(
            request("pay_3", &customer, &kept.payment_method, usd(2_500)),
            false,
        ))
        .await
        .expect("answered");
    assert_eq!(again.status, GatewayStatus::RequiresAction);

    // By number, from the card form: the method itself is kept.
    let pm = gateway
        .create_payment_method_from_card("4000 0025 0000 3155", 11, 2031, "123")
        .expect("valid");
    let typed = gateway
        .charge(&on_session(
            request("pay_4", &customer, &pm, usd(3_000)),
            true,
        ))
        .await
        .expect("answered");
    gateway
        .authenticate(ACCT, &typed.reference, true)
        .expect("completed");
    let paid = gateway
        .charge(&request("pay_5", &customer, &pm, usd(3_000)))
        .await
        .expect("answered");
    assert_eq!(paid.status, GatewayStatus::Succeeded, "{paid:?}");

    // A card that always asks keeps asking, however it was saved.
    let strict = gateway
        .charge(&on_session(
            request("pay_6", &customer, ALWAYS[0], usd(2_000)),
            true,
        ))
        .await
        .expect("answered");
    gateway
        .authenticate(ACCT, &strict.reference, true)
        .expect("completed");
    let strict_card = gateway
        .payment(ACCT, &strict.reference)
        .and_then(|p| p.card)
        .expect("kept");
    let away = gateway
        .charge(&request(
            "pay_7",
            &customer,
            &strict_card.payment_method,
            usd(2_000),
        ))
        .await
        .expect("answered");
    assert!(declined_for_authentication(&away.status), "{away:?}");
}

#[tokio::test]
async fn an_on_session_payment_keeps_the_card_only_when_asked() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "keeper").await;
    let once = gateway
        .create_payment_method_from_card("4242424242424242", 1, 2030, "123")
        .expect("valid");
    let paid = gateway
        .charge(&on_session(
            request("pay_1", &customer, &once, usd(2_000)),
            false,
        ))
        .await
        .expect("charged");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    assert_eq!(paid.card.as_ref().map(|c| c.last4.as_str()), Some("4242"));
    assert!(
        gateway
            .list_cards(acct(), &customer)
            .await
            .expect("listed")
            .is_empty()
    );
    assert!(
        matches!(
            gateway
                .charge(&request("pay_2", &customer, &once, usd(2_000)))
                .await,
            Err(GatewayError::InvalidRequest { .. })
        ),
        "a card used once without being saved cannot be used again"
    );
}

#[tokio::test]
async fn events_tell_what_no_call_answered() {
    let clock = std::sync::Arc::new(billing_core::testkit::FixedClock::default());
    let gateway = SandboxGateway::with_config(
        clock.clone(),
        SandboxConfig::default().with_hold_duration(chrono::Duration::hours(1)),
    );
    let start = clock.now();
    let customer = customer(&gateway, acct(), "evented").await;
    let visa = gateway
        .attach_card(acct(), &customer, "pm_card_visa")
        .await
        .expect("saved");
    gateway
        .charge(&request(
            "pay_plain",
            &customer,
            &visa.payment_method,
            usd(1_000),
        ))
        .await
        .expect("charged");
    let waiting = gateway
        .charge(&on_session(
            request("pay_sca", &customer, ALWAYS[0], usd(1_000)),
            false,
        ))
        .await
        .expect("answered");
    gateway
        .authorize(&request(
            "pay_hold",
            &customer,
            &visa.payment_method,
            usd(1_000),
        ))
        .await
        .expect("held");
    assert!(
        gateway
            .events_since(acct(), start)
            .await
            .expect("read")
            .is_empty(),
        "what the calls answered is not repeated"
    );
    clock.advance(chrono::Duration::minutes(5));
    gateway
        .authenticate(ACCT, &waiting.reference, true)
        .expect("completed");
    clock.advance(chrono::Duration::hours(2));
    let events = gateway.events_since(acct(), start).await.expect("read");
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.subject.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "payment_intent.succeeded",
                billing_core::ports::EventSubject::Payment(pid("pay_sca"))
            ),
            (
                "payment_intent.canceled",
                billing_core::ports::EventSubject::Payment(pid("pay_hold"))
            ),
        ]
    );
    assert!(events.iter().all(|e| e.account == acct()));
    assert!(
        events
            .iter()
            .all(|e| e.business.as_ref().map(|b| b.as_str()) == Some("acme")),
        "{events:?}"
    );
    let later = gateway
        .events_since(acct(), start + chrono::Duration::minutes(30))
        .await
        .expect("read");
    assert_eq!(later.len(), 1, "only the expiry, an hour after the hold");
    assert!(
        gateway
            .events_since(Some("acct_other".into()), start)
            .await
            .expect("read")
            .is_empty()
    );
}
