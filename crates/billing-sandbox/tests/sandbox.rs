//! What the sandbox does beyond the shared contract: hold expiry on the core's clock,
//! multicapture, the rate limit, latency, injected faults, Stripe's idempotency semantics,
//! card numbers typed into a card form, and card set-ups.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use billing_core::ids::{CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::CardRef;
use billing_core::ports::{
    CancelRequest, CaptureRequest, Clock, GatewayError, GatewayStatus, NewGatewayCustomer,
    PaymentGateway, PaymentRequest, RefundRequest,
};
use billing_core::testkit::FixedClock;
use billing_sandbox::{CardError, Fault, Operation, SandboxConfig, SandboxGateway};

const ACCT: Option<&str> = Some("acct_venue");

fn acct() -> Option<String> {
    ACCT.map(str::to_owned)
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn sandbox() -> (SandboxGateway, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::default());
    (SandboxGateway::new(clock.clone()), clock)
}

async fn customer(gateway: &SandboxGateway, account: Option<String>, name: &str) -> String {
    gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account,
            customer: CustomerId::new(name).expect("id"),
            name: name.into(),
            email: None,
        })
        .await
        .expect("customer")
}

fn request(payment: &str, customer: &str, pm: &str, amount: Money) -> PaymentRequest {
    PaymentRequest {
        account: acct(),
        payment: PaymentId::new(payment).expect("id"),
        idempotency_key: format!("{payment}:attempt"),
        card: CardRef {
            gateway_customer: customer.into(),
            payment_method: pm.into(),
        },
        amount,
        description: None,
    }
}

fn capture(reference: &str, id: &str, amount: Money, final_capture: bool) -> CaptureRequest {
    CaptureRequest {
        account: acct(),
        payment_reference: reference.into(),
        capture: PaymentId::new(id).expect("id"),
        idempotency_key: format!("{id}:attempt"),
        amount,
        final_capture,
    }
}

fn refund(reference: &str, id: &str, amount: Money) -> RefundRequest {
    RefundRequest {
        account: acct(),
        payment_reference: reference.into(),
        refund: PaymentId::new(id).expect("id"),
        idempotency_key: format!("{id}:attempt"),
        amount,
        reason: None,
    }
}

async fn visa_customer(gateway: &SandboxGateway, name: &str) -> (String, String) {
    let customer = customer(gateway, acct(), name).await;
    let card = gateway
        .attach_card(acct(), &customer, "pm_card_visa")
        .await
        .expect("attached");
    (customer, card.payment_method)
}

#[tokio::test]
async fn holds_expire_by_the_core_clock() {
    let (gateway, clock) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(10_000)))
        .await
        .expect("hold");
    assert_eq!(
        held.hold_expires_at,
        Some(clock.now() + chrono::Duration::days(7))
    );
    let early = gateway
        .authorize(&request("pay_2", &customer, &pm, usd(5_000)))
        .await
        .expect("hold");

    // Six days on: still capturable.
    clock.advance(chrono::Duration::days(6));
    gateway
        .capture(&capture(&early.reference, "pay_2c", usd(5_000), true))
        .await
        .expect("captured in time");

    // Past seven days: released, shown as canceled, and no longer capturable.
    clock.advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let found = gateway
        .find_payment(acct(), &PaymentId::new("pay_1").expect("id"))
        .await
        .expect("found")
        .expect("present");
    assert_eq!(found.status, GatewayStatus::Canceled);
    assert_eq!(found.amount_capturable, usd(0));
    let late = gateway
        .capture(&capture(&held.reference, "pay_1c", usd(10_000), true))
        .await;
    match late {
        Err(GatewayError::InvalidRequest { message, .. }) => {
            assert!(message.contains("expired"), "{message}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert_eq!(
        gateway
            .payment(ACCT, &early.reference)
            .map(|p| (p.status, p.amount_received)),
        Some((GatewayStatus::Succeeded, usd(5_000))),
        "a captured hold is not touched by expiry"
    );
}

#[tokio::test]
async fn hold_duration_is_configurable() {
    let clock = Arc::new(FixedClock::default());
    let gateway = SandboxGateway::with_config(
        clock.clone(),
        SandboxConfig::default().with_hold_duration(chrono::Duration::hours(1)),
    );
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(1_000)))
        .await
        .expect("hold");
    assert_eq!(
        held.hold_expires_at,
        Some(clock.now() + chrono::Duration::hours(1))
    );
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        gateway.payment(ACCT, &held.reference).map(|p| p.status),
        Some(GatewayStatus::Canceled)
    );
}

#[tokio::test]
async fn several_partial_captures_then_a_final_one() {
    let (gateway, clock) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(10_000)))
        .await
        .expect("hold");
    let first = gateway
        .capture(&capture(&held.reference, "cap_1", usd(3_000), false))
        .await
        .expect("first part");
    assert_eq!(first.status, GatewayStatus::RequiresCapture);
    assert_eq!(
        (first.amount_received, first.amount_capturable),
        (usd(3_000), usd(7_000))
    );
    let second = gateway
        .capture(&capture(&held.reference, "cap_2", usd(2_000), false))
        .await
        .expect("second part");
    assert_eq!(
        (second.amount_received, second.amount_capturable),
        (usd(5_000), usd(5_000))
    );
    assert!(matches!(
        gateway
            .capture(&capture(&held.reference, "cap_x", usd(5_001), false))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let last = gateway
        .capture(&capture(&held.reference, "cap_3", usd(1_000), true))
        .await
        .expect("final");
    assert_eq!(last.status, GatewayStatus::Succeeded);
    assert_eq!(
        (last.amount_received, last.amount_capturable),
        (usd(6_000), usd(0)),
        "the final capture released the remaining 4000"
    );
    // Refunds are bounded by the 6000 captured.
    assert!(matches!(
        gateway
            .refund(&refund(&held.reference, "re_1", usd(6_001)))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    gateway
        .refund(&refund(&held.reference, "re_2", usd(6_000)))
        .await
        .expect("refund all captured");

    // A partly captured hold that runs out closes with what was captured.
    let other = gateway
        .authorize(&request("pay_2", &customer, &pm, usd(4_000)))
        .await
        .expect("hold");
    gateway
        .capture(&capture(&other.reference, "cap_4", usd(1_500), false))
        .await
        .expect("part");
    clock.advance(chrono::Duration::days(8));
    let closed = gateway.payment(ACCT, &other.reference).expect("present");
    assert_eq!(closed.status, GatewayStatus::Succeeded);
    assert_eq!(
        (closed.amount_received, closed.amount_capturable),
        (usd(1_500), usd(0))
    );
}

#[tokio::test]
async fn cancel_twice_is_refused_and_a_charge_cannot_be_canceled() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let held = gateway
        .authorize(&request("pay_1", &customer, &pm, usd(1_000)))
        .await
        .expect("hold");
    let cancel = |key: &str| CancelRequest {
        account: acct(),
        payment_reference: held.reference.clone(),
        idempotency_key: key.into(),
    };
    gateway.cancel(&cancel("k1")).await.expect("canceled");
    // The same key replays the answer; a new key meets a canceled intent.
    assert_eq!(
        gateway.cancel(&cancel("k1")).await.map(|p| p.status),
        Ok(GatewayStatus::Canceled)
    );
    assert!(matches!(
        gateway.cancel(&cancel("k2")).await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let charged = gateway
        .charge(&request("pay_2", &customer, &pm, usd(1_000)))
        .await
        .expect("charge");
    assert!(matches!(
        gateway
            .cancel(&CancelRequest {
                account: acct(),
                payment_reference: charged.reference,
                idempotency_key: "k3".into(),
            })
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn a_replay_answers_the_first_result_not_the_current_state() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let hold = request("pay_1", &customer, &pm, usd(2_000));
    let first = gateway.authorize(&hold).await.expect("hold");
    gateway
        .capture(&capture(&first.reference, "cap_1", usd(2_000), true))
        .await
        .expect("captured");
    let replay = gateway.authorize(&hold).await.expect("replay");
    assert_eq!(replay, first, "Stripe replays the saved response");
    assert_eq!(gateway.payment_attempts(ACCT), 1);
    let calls = gateway.calls();
    let last = calls.last().expect("calls");
    assert!(last.replayed);
    assert_eq!(last.idempotency_key.as_deref(), Some("pay_1:attempt"));
    // The same key for another endpoint is another request.
    let mut as_charge = hold.clone();
    as_charge.amount = usd(2_000);
    assert!(matches!(
        gateway.charge(&as_charge).await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    // Keys are per account.
    let mut elsewhere = hold.clone();
    elsewhere.account = Some("acct_other".into());
    assert!(matches!(
        gateway.authorize(&elsewhere).await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn timeout_after_charge_does_the_charge_and_loses_the_answer() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    gateway.inject(Fault::TimeoutAfterCharge, 1);
    assert_eq!(gateway.pending_faults(), 1);
    let charge = request("pay_1", &customer, &pm, usd(2_500));
    assert!(matches!(
        gateway.charge(&charge).await,
        Err(GatewayError::UnknownOutcome(_))
    ));
    assert_eq!(gateway.pending_faults(), 0);
    assert_eq!(gateway.payment_attempts(ACCT), 1, "the charge was made");
    let found = gateway
        .find_payment(acct(), &charge.payment)
        .await
        .expect("found")
        .expect("present");
    assert_eq!(found.status, GatewayStatus::Succeeded);
    let again = gateway.charge(&charge).await.expect("replayed");
    assert_eq!(again.reference, found.reference);
    assert_eq!(gateway.payment_attempts(ACCT), 1, "and only once");
}

#[tokio::test]
async fn connection_and_server_errors_do_nothing() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    gateway.inject(Fault::ConnectionError, 1);
    gateway.inject(Fault::ServerError, 1);
    let charge = request("pay_1", &customer, &pm, usd(2_500));
    let refused = gateway.charge(&charge).await;
    assert!(
        matches!(&refused, Err(e @ GatewayError::Unavailable(_)) if e.nothing_done()),
        "{refused:?}"
    );
    let server = gateway.charge(&charge).await;
    assert!(
        matches!(&server, Err(e @ GatewayError::UnknownOutcome(_)) if !e.nothing_done()),
        "a 5xx leaves the caller unsure: {server:?}"
    );
    assert_eq!(gateway.payment_attempts(ACCT), 0, "nothing was done");
    let paid = gateway.charge(&charge).await.expect("through");
    assert_eq!(paid.status, GatewayStatus::Succeeded);
    let faults: Vec<_> = gateway.calls().iter().filter_map(|c| c.fault).collect();
    assert_eq!(faults, vec![Fault::ConnectionError, Fault::ServerError]);
}

#[tokio::test]
async fn faults_can_be_aimed_at_one_operation() {
    let (gateway, _) = sandbox();
    gateway.inject_on(Operation::Refund, Fault::ServerError, 2);
    // Customers, cards and charges are not affected.
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let paid = gateway
        .charge(&request("pay_1", &customer, &pm, usd(2_500)))
        .await
        .expect("charge");
    assert_eq!(gateway.pending_faults(), 2);
    for _ in 0..2 {
        assert!(matches!(
            gateway
                .refund(&refund(&paid.reference, "re_1", usd(100)))
                .await,
            Err(GatewayError::UnknownOutcome(_))
        ));
    }
    gateway
        .refund(&refund(&paid.reference, "re_1", usd(100)))
        .await
        .expect("refund after the faults");
}

#[tokio::test]
async fn rate_limit_answers_rate_limited_past_the_rate() {
    let clock = Arc::new(FixedClock::default());
    let rate = NonZeroU32::new(5).expect("non-zero");
    let gateway =
        SandboxGateway::with_config(clock, SandboxConfig::default().with_rate_limit(rate));
    let mut served = 0;
    let mut limited = 0;
    for _ in 0..20 {
        match gateway.list_cards(None, "cus_none").await {
            Err(GatewayError::RateLimited) => limited += 1,
            _ => served += 1,
        }
    }
    // A burst of 20 within far less than a second: the bucket of 5 (maybe one refilled).
    assert!((5..=6).contains(&served), "served {served}");
    assert_eq!(served + limited, 20);
    assert!(
        gateway
            .calls()
            .iter()
            .filter(|c| c.error == Some(GatewayError::RateLimited))
            .count()
            == limited
    );
    // After a pause the bucket has refilled.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(!matches!(
        gateway.list_cards(None, "cus_none").await,
        Err(GatewayError::RateLimited)
    ));
}

#[tokio::test]
async fn latency_delays_every_call() {
    let clock = Arc::new(FixedClock::default());
    let gateway = SandboxGateway::with_config(
        clock,
        SandboxConfig::default().with_latency(Duration::from_millis(40)),
    );
    let started = Instant::now();
    let customer = customer(&gateway, None, "c1").await;
    gateway.list_cards(None, &customer).await.expect("list");
    assert!(started.elapsed() >= Duration::from_millis(80));
}

#[tokio::test]
async fn decline_cards_by_id() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let cases = [
        (
            "pm_card_visa_chargeDeclinedExpiredCard",
            "expired_card",
            "expired_card",
        ),
        (
            "pm_card_chargeDeclinedIncorrectCvc",
            "incorrect_cvc",
            "incorrect_cvc",
        ),
        (
            "pm_card_chargeDeclinedProcessingError",
            "processing_error",
            "processing_error",
        ),
        (
            "pm_card_chargeDeclinedLostCard",
            "card_declined",
            "lost_card",
        ),
    ];
    for (n, (pm, code, decline)) in cases.into_iter().enumerate() {
        let answer = gateway
            .charge(&request(&format!("pay_{n}"), &customer, pm, usd(1_000)))
            .await
            .expect("answered");
        match answer.status {
            GatewayStatus::Failed(failure) => {
                assert_eq!(failure.code, code);
                assert_eq!(failure.decline_code.as_deref(), Some(decline));
                assert!(!failure.message.is_empty());
            }
            other => panic!("{pm}: expected a decline, got {other:?}"),
        }
    }
    // Decline cards cannot be saved, except Stripe's chargeCustomerFail card.
    assert!(matches!(
        gateway
            .attach_card(acct(), &customer, "pm_card_chargeDeclined")
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let saved = gateway
        .attach_card(acct(), &customer, "pm_card_chargeCustomerFail")
        .await
        .expect("saved");
    let answer = gateway
        .charge(&request(
            "pay_saved",
            &customer,
            &saved.payment_method,
            usd(1_000),
        ))
        .await
        .expect("answered");
    assert!(matches!(answer.status, GatewayStatus::Failed(_)));
    let amex = gateway
        .attach_card(acct(), &customer, "pm_card_amex")
        .await
        .expect("amex");
    assert_eq!((amex.brand.as_str(), amex.last4.as_str()), ("amex", "0005"));
}

#[tokio::test]
async fn card_numbers_from_the_card_form() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let visa = gateway
        .create_payment_method_from_card("4242 4242 4242 4242", 12, 2030, "123")
        .expect("valid card");
    let saved = gateway
        .attach_card(acct(), &customer, &visa)
        .await
        .expect("attached");
    assert_eq!(saved.payment_method, visa);
    assert_eq!(
        (
            saved.brand.as_str(),
            saved.last4.as_str(),
            saved.exp_month,
            saved.exp_year
        ),
        ("visa", "4242", 12, 2030)
    );
    let paid = gateway
        .charge(&request("pay_1", &customer, &visa, usd(1_000)))
        .await
        .expect("charged");
    assert_eq!(paid.status, GatewayStatus::Succeeded);

    let outcomes = [
        ("4000000000000002", Some("generic_decline")),
        ("4000000000009995", Some("insufficient_funds")),
    ];
    for (n, (number, decline)) in outcomes.into_iter().enumerate() {
        let pm = gateway
            .create_payment_method_from_card(number, 1, 30, "999")
            .expect("valid card");
        // Stripe refuses to save a card that declines...
        assert!(matches!(
            gateway.attach_card(acct(), &customer, &pm).await,
            Err(GatewayError::InvalidRequest { .. })
        ));
        // ...and declines it when charged.
        let answer = gateway
            .charge(&request(&format!("pay_d{n}"), &customer, &pm, usd(1_000)))
            .await
            .expect("answered");
        assert!(
            matches!(&answer.status, GatewayStatus::Failed(f) if f.decline_code.as_deref() == decline),
            "{number}: {answer:?}"
        );
    }
    let sca = gateway
        .create_payment_method_from_card("4000002500003155", 6, 2031, "123")
        .expect("valid");
    gateway
        .attach_card(acct(), &customer, &sca)
        .await
        .expect("authentication cards can be saved");
    let answer = gateway
        .charge(&request("pay_sca", &customer, &sca, usd(1_000)))
        .await
        .expect("answered");
    assert_eq!(answer.status, GatewayStatus::RequiresAction);

    // The form's checks.
    assert_eq!(
        gateway.create_payment_method_from_card("4242424242424241", 12, 2030, "123"),
        Err(CardError::InvalidNumber)
    );
    assert_eq!(
        gateway.create_payment_method_from_card("4242424242424242", 13, 2030, "123"),
        Err(CardError::InvalidExpiry)
    );
    assert_eq!(
        gateway.create_payment_method_from_card("4242424242424242", 12, 2025, "123"),
        Err(CardError::Expired),
        "the clock is in January 2026"
    );
    assert!(
        gateway
            .create_payment_method_from_card("4242424242424242", 1, 2026, "123")
            .is_ok(),
        "a card is good through its expiry month"
    );
    assert_eq!(
        gateway.create_payment_method_from_card("378282246310005", 12, 2030, "123"),
        Err(CardError::InvalidCvc),
        "American Express has four digits"
    );
    assert!(
        gateway
            .create_payment_method_from_card("378282246310005", 12, 2030, "1234")
            .is_ok()
    );
}

#[tokio::test]
async fn a_card_form_method_belongs_to_the_first_account_using_it() {
    let (gateway, _) = sandbox();
    let pm = gateway
        .create_payment_method_from_card("5555555555554444", 3, 2029, "123")
        .expect("valid");
    let a = customer(&gateway, acct(), "c1").await;
    let b = customer(&gateway, Some("acct_b".into()), "c1").await;
    gateway
        .attach_card(acct(), &a, &pm)
        .await
        .expect("attached in A");
    assert!(matches!(
        gateway.attach_card(Some("acct_b".into()), &b, &pm).await,
        Err(GatewayError::NotFound(_))
    ));
    assert!(matches!(
        gateway.list_cards(Some("acct_b".into()), &a).await,
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_card_setup_saves_the_card_when_confirmed() {
    let (gateway, _) = sandbox();
    let customer = customer(&gateway, acct(), "c1").await;
    let setup = gateway
        .start_card_setup(acct(), &customer, "pay_1:setup")
        .await
        .expect("started");
    assert!(
        setup
            .client_secret
            .starts_with(&format!("{}_secret_", setup.reference))
    );
    let replay = gateway
        .start_card_setup(acct(), &customer, "pay_1:setup")
        .await
        .expect("replayed");
    assert_eq!(replay, setup);
    let pm = gateway
        .create_payment_method_from_card("4242424242424242", 8, 2032, "321")
        .expect("valid");
    assert_eq!(
        gateway.card_setup_payment_method(ACCT, &setup.reference),
        None
    );
    let card = gateway
        .confirm_card_setup(ACCT, &setup.reference, &pm)
        .expect("confirmed");
    assert_eq!(
        gateway.card_setup_payment_method(ACCT, &setup.reference),
        Some(card.payment_method.clone())
    );
    let listed = gateway.list_cards(acct(), &customer).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last4, "4242");
    assert!(matches!(
        gateway.confirm_card_setup(ACCT, "seti_nope", "pm_card_visa"),
        Err(GatewayError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_customer_is_made_once_per_account_and_our_id() {
    let (gateway, _) = sandbox();
    let first = customer(&gateway, acct(), "c1").await;
    assert_eq!(customer(&gateway, acct(), "c1").await, first);
    assert_ne!(customer(&gateway, acct(), "c2").await, first);
    assert_ne!(customer(&gateway, None, "c1").await, first);
    let renamed = gateway
        .create_customer(&NewGatewayCustomer {
            business: "acme".parse().expect("business id"),
            account: acct(),
            customer: CustomerId::new("c1").expect("id"),
            name: "Another name".into(),
            email: None,
        })
        .await
        .expect("customer");
    assert_ne!(renamed, first, "other details, another request");
}

#[tokio::test]
async fn idempotency_keys_are_kept_24_hours() {
    let (gateway, clock) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    let charge = request("pay_1", &customer, &pm, usd(1_000));
    let first = gateway.charge(&charge).await.expect("charged");
    clock.advance(chrono::Duration::hours(23));
    assert_eq!(
        gateway.charge(&charge).await.map(|p| p.reference),
        Ok(first.reference.clone())
    );
    clock.advance(chrono::Duration::hours(1));
    let later = gateway.charge(&charge).await.expect("charged again");
    assert_ne!(
        later.reference, first.reference,
        "an expired key is a new key"
    );
    assert_eq!(gateway.payment_attempts(ACCT), 2);
}

#[tokio::test]
async fn the_call_log_is_bounded() {
    let clock = Arc::new(FixedClock::default());
    let gateway =
        SandboxGateway::with_config(clock, SandboxConfig::default().with_call_log_limit(3));
    for _ in 0..5 {
        let _ = gateway.list_cards(None, "cus_none").await;
    }
    let _ = gateway
        .find_payment(None, &PaymentId::new("pay_1").expect("id"))
        .await;
    let calls = gateway.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[2].operation, Operation::FindPayment);
    assert!(matches!(calls[0].error, Some(GatewayError::NotFound(_))));
}

#[tokio::test]
async fn detached_cards_cannot_be_charged() {
    let (gateway, _) = sandbox();
    let (customer, pm) = visa_customer(&gateway, "c1").await;
    gateway.detach_card(acct(), &pm).await.expect("detached");
    assert!(matches!(
        gateway
            .charge(&request("pay_1", &customer, &pm, usd(1_000)))
            .await,
        Err(GatewayError::InvalidRequest { .. })
    ));
    let other = customer_named(&gateway, "c2").await;
    let (_, pm2) = visa_customer(&gateway, "c3").await;
    assert!(
        matches!(
            gateway
                .charge(&request("pay_2", &other, &pm2, usd(1_000)))
                .await,
            Err(GatewayError::InvalidRequest { .. })
        ),
        "another customer's card"
    );
}

async fn customer_named(gateway: &SandboxGateway, name: &str) -> String {
    customer(gateway, acct(), name).await
}
