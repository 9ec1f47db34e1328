//! The sandbox behind the core's `Billing` service: a lost answer is settled by the
//! reconciler from the sandbox's own record, and the card is charged exactly once.

use std::sync::Arc;

use billing_core::ports::GatewayError;
use billing_core::prelude::*;
use billing_core::testkit::{FixedClock, MemoryStore, SequentialIds, SequentialSecrets};
use billing_sandbox::{Fault, Operation, SandboxGateway};

const ACCOUNT: &str = "acct_acme";

async fn service() -> (Billing, SandboxGateway, Business) {
    let clock = Arc::new(FixedClock::default());
    let sandbox = SandboxGateway::new(clock.clone());
    let billing = Billing::new(
        Arc::new(MemoryStore::new()),
        Arc::new(sandbox.clone()),
        clock,
        Arc::new(SequentialIds::default()),
        Arc::new(SequentialSecrets::default()),
    );
    let business = Business {
        id: BusinessId::new("acme").expect("id"),
        name: "Acme Cleaning".into(),
        gateway_account: Some(ACCOUNT.into()),
        email: None,
    };
    let customer = CustomerId::new("c-1").expect("id");
    billing
        .put_customer(
            &business,
            Customer {
                id: customer.clone(),
                name: "Ada".into(),
                email: Some("ada@example.com".into()),
                phone: None,
                gateway_customer: None,
            },
        )
        .await
        .expect("customer");
    billing
        .attach_card(&business, &customer, "pm_card_visa")
        .await
        .expect("card");
    for booking in ["b-1", "b-2"] {
        let account = BookingAccount::new(
            BookingId::new(booking).expect("id"),
            customer.clone(),
            Currency::USD,
            vec![
                LineItem::new(
                    LineItemKind::Service,
                    "Deep clean",
                    Money::parse("215.50", Currency::USD).expect("money"),
                )
                .expect("line"),
            ],
        )
        .expect("booking");
        billing
            .put_booking(&business, account)
            .await
            .expect("booking saved");
    }
    (billing, sandbox, business)
}

fn charge(booking: &str) -> ChargeBooking {
    ChargeBooking {
        booking: BookingId::new(booking).expect("id"),
        amount: None,
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: false,
    }
}

#[tokio::test]
async fn a_timeout_after_success_is_reconciled_to_one_charge() {
    let (billing, sandbox, business) = service().await;
    sandbox.inject_on(Operation::Charge, Fault::TimeoutAfterCharge, 1);
    let receipt = billing
        .charge(&business, charge("b-1"))
        .await
        .expect("receipt");
    assert_eq!(
        receipt.payment.state,
        PaymentState::Pending,
        "the outcome is unknown"
    );
    assert_eq!(sandbox.payment_attempts(Some(ACCOUNT)), 1);

    let settled = billing
        .reconcile(&business, &receipt.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert!(settled.payment.gateway_reference.is_some());
    assert_eq!(
        settled.bookings[0].status.status,
        PaymentStatus::ChargedInFull
    );
    assert_eq!(
        sandbox.payment_attempts(Some(ACCOUNT)),
        1,
        "exactly one charge"
    );
    assert!(
        sandbox
            .calls()
            .iter()
            .any(|c| c.operation == Operation::FindPayment && c.account.as_deref() == Some(ACCOUNT)),
        "the reconciler read the sandbox's record"
    );
}

#[tokio::test]
async fn a_server_error_before_anything_is_resent_under_the_same_key() {
    let (billing, sandbox, business) = service().await;
    sandbox.inject_on(Operation::Charge, Fault::ServerError, 1);
    let receipt = billing
        .charge(&business, charge("b-2"))
        .await
        .expect("receipt");
    assert_eq!(receipt.payment.state, PaymentState::Pending);
    assert_eq!(sandbox.payment_attempts(Some(ACCOUNT)), 0);

    let settled = billing
        .reconcile(&business, &receipt.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(sandbox.payment_attempts(Some(ACCOUNT)), 1);
    let keys: Vec<_> = sandbox
        .calls()
        .into_iter()
        .filter(|c| c.operation == Operation::Charge)
        .map(|c| c.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the resend carried the first key");
}

#[tokio::test]
async fn a_connection_error_fails_the_payment_and_frees_the_balance() {
    let (billing, sandbox, business) = service().await;
    sandbox.inject_on(Operation::Charge, Fault::ConnectionError, 1);
    let failed = billing.charge(&business, charge("b-1")).await;
    assert!(
        matches!(
            failed,
            Err(BillingError::Gateway {
                error: GatewayError::Unavailable(_),
                ..
            })
        ),
        "{failed:?}"
    );
    let paid = billing
        .charge(&business, charge("b-1"))
        .await
        .expect("retry");
    assert_eq!(paid.payment.state, PaymentState::Succeeded);
    assert_eq!(sandbox.payment_attempts(Some(ACCOUNT)), 1);
}

#[tokio::test]
async fn a_card_that_asks_for_authentication_with_the_customer_away_is_a_decline() {
    let (billing, sandbox, business) = service().await;
    let customer = CustomerId::new("c-1").expect("id");
    let strict = billing
        .attach_card(&business, &customer, "pm_card_authenticationRequired")
        .await
        .expect("card");
    billing
        .set_default_card(&business, &customer, &strict.payment_method)
        .await
        .expect("default");
    let declined = billing
        .charge(&business, charge("b-1"))
        .await
        .expect("receipt");
    let Outcome::Declined(failure) = declined.outcome() else {
        panic!("expected a decline, got {:?}", declined.payment.state);
    };
    assert!(failure.suggests_payment_link(), "{failure:?}");
    assert_eq!(sandbox.payment_attempts(Some(ACCOUNT)), 1);
    // Nothing is left in flight: the booking can be paid another way at once.
    let visa = billing
        .attach_card(&business, &customer, "pm_card_visa")
        .await
        .expect("card");
    billing
        .set_default_card(&business, &customer, &visa.payment_method)
        .await
        .expect("default");
    let paid = billing
        .charge(&business, charge("b-1"))
        .await
        .expect("receipt");
    assert_eq!(paid.payment.state, PaymentState::Succeeded);
}

#[tokio::test]
async fn an_amount_the_sandbox_cannot_charge_is_refused_before_anything_opens() {
    let (billing, sandbox, business) = service().await;
    let refused = billing
        .charge(
            &business,
            ChargeBooking {
                amount: Some(Amount::parse("0.49").expect("amount")),
                ..charge("b-1")
            },
        )
        .await;
    assert!(
        matches!(&refused, Err(BillingError::AmountNotChargeable(why)) if why.reason.contains("0.50")),
        "{refused:?}"
    );
    assert_eq!(sandbox.payment_attempts(Some(ACCOUNT)), 0);
}
