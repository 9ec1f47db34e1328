//! Use-case tests: the seeds' scenarios on the in-memory store and scripted gateway, and the
//! gateway's awkward answers through a mocked `PaymentGateway`.

use std::sync::{Arc, Mutex};

use chrono::Duration;

use super::*;
use crate::booking::{BookingAccount, LineItem, LineItemKind};
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, CustomerId};
use crate::money::{Currency, Money};
use crate::payment::{CollectionMethod, Failure, PaymentKind, PaymentState};
use crate::ports::{
    GatewayError, GatewayPayment, GatewayStatus, MockPaymentGateway, PaymentGateway,
};
use crate::status::PaymentStatus;
use crate::testkit::{
    FixedClock, MemoryStore, Scripted, ScriptedGateway, SequentialIds, seed_customer_with_card,
};

fn usd(text: &str) -> Money {
    Money::parse(text, Currency::USD).expect("test amount")
}

fn booking_id(id: &str) -> BookingId {
    BookingId::new(id).expect("test id")
}

fn acme() -> Business {
    Business {
        id: "acme".parse().expect("id"),
        name: "Acme Cleaning".into(),
        gateway_account: None,
        email: None,
    }
}

struct World<G> {
    billing: Billing<MemoryStore, G>,
    clock: Arc<FixedClock>,
    business: Business,
}

/// A business with one customer whose card is on file, and the given bookings.
async fn world<G: PaymentGateway>(gateway: G, bookings: &[(&str, &str)]) -> World<G> {
    let store = MemoryStore::new();
    let business = acme();
    let customer = CustomerId::new("cust-1").expect("id");
    seed_customer_with_card(&store, &business.id, &customer)
        .await
        .expect("customer");
    let clock = Arc::new(FixedClock::default());
    let billing = Billing::new(
        store,
        gateway,
        clock.clone(),
        Arc::new(SequentialIds::default()),
    );
    for (id, price) in bookings {
        let account = BookingAccount::new(
            booking_id(id),
            customer.clone(),
            Currency::USD,
            vec![LineItem::new(LineItemKind::Service, "Home cleaning", usd(price)).expect("line")],
        )
        .expect("booking");
        billing
            .put_booking(&business, account)
            .await
            .expect("put booking");
    }
    World {
        billing,
        clock,
        business,
    }
}

fn charge(booking: &str, amount: Option<&str>) -> ChargeBooking {
    ChargeBooking {
        booking: booking_id(booking),
        amount: amount.map(usd),
        source: PaymentSource::CardOnFile,
        idempotency_key: None,
        allow_duplicate: true,
    }
}

fn keyed(booking: &str, amount: Option<&str>, key: &str) -> ChargeBooking {
    ChargeBooking {
        idempotency_key: Some(IdempotencyKey::new(key).expect("key")),
        ..charge(booking, amount)
    }
}

impl<G: PaymentGateway> World<G> {
    async fn status(&self, booking: &str) -> (PaymentStatus, Money) {
        let view = self
            .billing
            .booking(&self.business, &booking_id(booking))
            .await
            .expect("booking");
        (view.summary.status.status, view.summary.balance.balance_due)
    }
}

// --- The seeds' scenarios -------------------------------------------------------------------

#[tokio::test]
async fn a_100_booking_charged_in_full() {
    let w = world(ScriptedGateway::new(), &[("b-100", "100.00")]).await;
    let receipt = w
        .billing
        .charge(&w.business, charge("b-100", None))
        .await
        .expect("charge");
    assert_eq!(receipt.payment.amount, usd("100.00"));
    assert_eq!(receipt.payment.state, PaymentState::Succeeded);
    assert_eq!(
        w.status("b-100").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
}

#[tokio::test]
async fn an_advance_of_30_on_215_50_then_the_remaining_185_50() {
    let w = world(ScriptedGateway::new(), &[("b-1", "215.50")]).await;
    w.billing
        .charge(&w.business, charge("b-1", Some("30.00")))
        .await
        .expect("advance");
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PartiallyCharged, usd("185.50"))
    );
    let rest = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("rest");
    assert_eq!(rest.payment.amount, usd("185.50"));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
}

#[tokio::test]
async fn a_100_booking_raised_to_150_by_extras_then_charged_150() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    let extra =
        LineItem::new(LineItemKind::Extra, "Inside the fridge", usd("50.00")).expect("line");
    let view = w
        .billing
        .adjust_price(&w.business, &booking_id("b-1"), extra)
        .await
        .expect("adjust");
    assert_eq!(view.summary.balance.price, usd("150.00"));
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", Some("150.00")))
        .await
        .expect("charge");
    assert_eq!(
        receipt.bookings[0].status.status,
        PaymentStatus::ChargedInFull
    );
}

#[tokio::test]
async fn a_hold_captured_in_full() {
    let w = world(ScriptedGateway::new(), &[("b-1", "120.00")]).await;
    let hold = w
        .billing
        .authorize(
            &w.business,
            AuthorizeBooking {
                booking: booking_id("b-1"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    assert_eq!(hold.payment.state, PaymentState::Authorized);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PreAuthorized, usd("120.00"))
    );
    let capture = w
        .billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: None,
                final_capture: true,
                idempotency_key: None,
            },
        )
        .await
        .expect("capture");
    assert_eq!(capture.payment.amount, usd("120.00"));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    let hold_now = w
        .billing
        .payment(&w.business, &hold.payment.id)
        .await
        .expect("hold");
    assert_eq!(hold_now.payment.state, PaymentState::Captured);
    assert_eq!(hold_now.children.len(), 1);
}

#[tokio::test]
async fn a_hold_captured_in_part_with_the_rest_released() {
    let w = world(ScriptedGateway::new(), &[("b-1", "200.00")]).await;
    let hold = w
        .billing
        .authorize(
            &w.business,
            AuthorizeBooking {
                booking: booking_id("b-1"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    w.billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: Some(usd("150.00")),
                final_capture: true,
                idempotency_key: None,
            },
        )
        .await
        .expect("capture");
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert_eq!(view.summary.status.status, PaymentStatus::PartiallyCharged);
    assert_eq!(
        view.summary.balance.held,
        usd("0"),
        "the rest of the hold is released"
    );
    assert_eq!(view.summary.balance.balance_due, usd("50.00"));
    let again = w
        .billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id,
                amount: None,
                final_capture: true,
                idempotency_key: None,
            },
        )
        .await;
    assert!(
        matches!(again, Err(BillingError::HoldNotOpen { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_cash_collection() {
    let w = world(ScriptedGateway::new(), &[("b-1", "80.00")]).await;
    let receipt = w
        .billing
        .record_collection(
            &w.business,
            RecordCollection {
                booking: booking_id("b-1"),
                amount: None,
                method: CollectionMethod::Cash,
                reference: None,
                idempotency_key: None,
                allow_duplicate: false,
            },
        )
        .await
        .expect("collection");
    assert!(matches!(
        receipt.payment.kind,
        PaymentKind::Collection {
            method: CollectionMethod::Cash,
            ..
        }
    ));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    assert_eq!(
        w.billing.gateway().calls().len(),
        0,
        "no gateway call for cash"
    );
}

// --- More of the money rules ----------------------------------------------------------------

#[tokio::test]
async fn refunds_follow_the_balance_and_stop_at_what_is_refundable() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    let paid = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charge");
    let refund = |amount: Option<&str>| RefundPayment {
        payment: paid.payment.id.clone(),
        amount: amount.map(usd),
        reason: None,
        idempotency_key: None,
    };
    w.billing
        .refund(&w.business, refund(Some("40.00")))
        .await
        .expect("partial refund");
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PartiallyCharged, usd("40.00"))
    );
    let too_much = w.billing.refund(&w.business, refund(Some("60.01"))).await;
    assert_eq!(
        too_much,
        Err(BillingError::RefundExceedsRefundable {
            requested: usd("60.01"),
            refundable: usd("60.00")
        })
    );
    w.billing
        .refund(&w.business, refund(None))
        .await
        .expect("the rest");
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::Refunded, usd("100.00"))
    );
    let none_left = w.billing.refund(&w.business, refund(None)).await;
    assert!(matches!(none_left, Err(BillingError::NotRefundable { .. })));
}

#[tokio::test]
async fn a_price_cut_after_payment_shows_overpaid() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    w.billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charge");
    let discount = LineItem::new(LineItemKind::Discount, "Apology", usd("20.00")).expect("line");
    let view = w
        .billing
        .adjust_price(&w.business, &booking_id("b-1"), discount)
        .await
        .expect("adjust");
    assert_eq!(view.summary.status.status, PaymentStatus::Overpaid);
    assert_eq!(view.summary.balance.balance_due, usd("-20.00"));
    let more = w
        .billing
        .charge(&w.business, charge("b-1", Some("1.00")))
        .await;
    assert!(matches!(
        more,
        Err(BillingError::AmountExceedsBalance { .. })
    ));
}

#[tokio::test]
async fn every_rule_breach_is_a_typed_error_and_changes_nothing() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    let before = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    let eur = Money::parse("10.00", Currency::EUR).expect("eur");
    let cases: Vec<(ChargeBooking, &str)> = vec![
        (charge("b-1", Some("100.01")), "amount_exceeds_balance"),
        (charge("b-1", Some("0")), "non_positive_amount"),
        (charge("b-1", Some("-5.00")), "non_positive_amount"),
        (
            ChargeBooking {
                amount: Some(eur),
                ..charge("b-1", None)
            },
            "wrong_currency",
        ),
        (charge("nope", None), "booking_not_found"),
        (
            ChargeBooking {
                source: PaymentSource::Card("pm_other".into()),
                ..charge("b-1", None)
            },
            "card_not_found",
        ),
    ];
    for (command, code) in cases {
        let result = w.billing.charge(&w.business, command).await;
        assert_eq!(result.map(|_| ()).map_err(|e| e.code()), Err(code));
    }
    assert_eq!(
        Money::parse("1.001", Currency::USD).map_err(|e| BillingError::from(e).code()),
        Err("too_many_decimals")
    );
    let after = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert_eq!(after, before);
    assert!(w.billing.gateway().calls().is_empty());
}

#[tokio::test]
async fn a_hold_cannot_be_captured_after_it_expires() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    let hold = w
        .billing
        .authorize(
            &w.business,
            AuthorizeBooking {
                booking: booking_id("b-1"),
                amount: None,
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    assert!(hold.payment.hold_expires_at.is_some());
    w.clock.advance(Duration::days(7) + Duration::seconds(1));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::NotCharged, usd("100.00")),
        "an expired hold holds nothing"
    );
    let late = w
        .billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: None,
                final_capture: true,
                idempotency_key: None,
            },
        )
        .await;
    assert_eq!(
        late.map(|_| ()),
        Err(BillingError::HoldExpired(hold.payment.id))
    );
}

#[tokio::test]
async fn capture_is_bounded_by_the_hold() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    let hold = w
        .billing
        .authorize(
            &w.business,
            AuthorizeBooking {
                booking: booking_id("b-1"),
                amount: Some(usd("60.00")),
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await
        .expect("hold");
    let over = w
        .billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: Some(usd("60.01")),
                final_capture: true,
                idempotency_key: None,
            },
        )
        .await;
    assert_eq!(
        over.map(|_| ()),
        Err(BillingError::CaptureExceedsHold {
            requested: usd("60.01"),
            capturable: usd("60.00")
        })
    );
    // While the hold covers 60, only 40 more can be charged.
    let charge_over = w
        .billing
        .charge(&w.business, charge("b-1", Some("40.01")))
        .await;
    assert!(matches!(
        charge_over,
        Err(BillingError::AmountExceedsBalance { .. })
    ));
    // Several captures, the last one final.
    w.billing
        .capture(
            &w.business,
            CaptureHold {
                authorization: hold.payment.id.clone(),
                amount: Some(usd("25.00")),
                final_capture: false,
                idempotency_key: None,
            },
        )
        .await
        .expect("first part");
    let view = w
        .billing
        .payment(&w.business, &hold.payment.id)
        .await
        .expect("hold");
    assert_eq!(
        (view.payment.state, view.capturable),
        (PaymentState::PartiallyCaptured, usd("35.00"))
    );
    w.billing
        .cancel_hold(&w.business, &hold.payment.id)
        .await
        .expect("release the rest");
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::PartiallyCharged, usd("75.00"))
    );
}

#[tokio::test]
async fn bulk_charge_gives_one_result_per_booking() {
    let w = world(
        ScriptedGateway::new(),
        &[("b-1", "100.00"), ("b-2", "50.00"), ("b-3", "75.00")],
    )
    .await;
    w.billing.gateway().script(Scripted::Success);
    w.billing
        .gateway()
        .script(Scripted::Decline("insufficient_funds".into()));
    let results = w
        .billing
        .charge_many(
            &w.business,
            BulkCharge {
                bookings: vec![
                    booking_id("b-1"),
                    booking_id("b-2"),
                    booking_id("b-3"),
                    booking_id("b-404"),
                ],
                source: PaymentSource::CardOnFile,
                idempotency_key: None,
            },
        )
        .await;
    let codes: Vec<Result<PaymentStatus, &str>> = results
        .iter()
        .map(|r| {
            r.result
                .as_ref()
                .map(|receipt| receipt.bookings[0].status.status)
                .map_err(BillingError::code)
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            Ok(PaymentStatus::ChargedInFull),
            Err("card_declined"),
            Ok(PaymentStatus::ChargedInFull),
            Err("booking_not_found")
        ]
    );
    let (status, due) = w.status("b-2").await;
    assert_eq!((status, due), (PaymentStatus::NotCharged, usd("50.00")));
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-2"))
        .await
        .expect("booking");
    assert!(view.summary.status.last_failed);
}

#[tokio::test]
async fn without_a_key_the_same_charge_twice_is_a_probable_duplicate() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    let careful = |amount| ChargeBooking {
        allow_duplicate: false,
        ..charge("b-1", Some(amount))
    };
    w.billing
        .charge(&w.business, careful("10.00"))
        .await
        .expect("first");
    let twice = w.billing.charge(&w.business, careful("10.00")).await;
    assert_eq!(
        twice.map(|_| ()).map_err(|e| e.code()),
        Err("probable_duplicate")
    );
    w.billing
        .charge(&w.business, charge("b-1", Some("10.00")))
        .await
        .expect("intended");
    w.clock.advance(Duration::minutes(6));
    w.billing
        .charge(&w.business, careful("10.00"))
        .await
        .expect("outside the window");
}

#[tokio::test]
async fn replays_return_the_first_result_and_other_requests_are_refused() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    let first = w
        .billing
        .charge(&w.business, keyed("b-1", Some("30.00"), "k-1"))
        .await
        .expect("charge");
    let replay = w
        .billing
        .charge(&w.business, keyed("b-1", Some("30.00"), "k-1"))
        .await
        .expect("replay");
    assert_eq!(
        (replay.payment.id.clone(), replay.replayed),
        (first.payment.id, true)
    );
    let other = w
        .billing
        .charge(&w.business, keyed("b-1", Some("31.00"), "k-1"))
        .await;
    assert!(matches!(other, Err(BillingError::IdempotencyKeyReused(_))));
    assert_eq!(w.billing.gateway().count("charge"), 1);
    assert_eq!(w.status("b-1").await.1, usd("70.00"));
}

#[tokio::test]
async fn a_declined_charge_replays_as_the_same_decline() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    w.billing
        .gateway()
        .script(Scripted::Decline("generic_decline".into()));
    let first = w.billing.charge(&w.business, keyed("b-1", None, "k")).await;
    let again = w.billing.charge(&w.business, keyed("b-1", None, "k")).await;
    assert!(
        matches!(&first, Err(BillingError::Declined { .. })),
        "{first:?}"
    );
    assert_eq!(first, again);
    assert_eq!(w.billing.gateway().count("charge"), 1);
}

#[tokio::test]
async fn a_lost_answer_stays_pending_until_reconciled_with_one_charge_at_the_gateway() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    w.billing.gateway().script(Scripted::LostAnswer);
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending, not an error");
    assert_eq!(receipt.payment.state, PaymentState::Pending);
    assert!(receipt.bookings[0].status.pending);
    // Nothing more can be charged while the outcome is unknown.
    let more = w
        .billing
        .charge(&w.business, charge("b-1", Some("0.01")))
        .await;
    assert!(matches!(
        more,
        Err(BillingError::AmountExceedsBalance { .. })
    ));
    let settled = w
        .billing
        .reconcile_pending(&w.business, Duration::zero())
        .await
        .expect("reconcile");
    assert_eq!(settled.len(), 1);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    assert_eq!(w.billing.gateway().payments_made(), 1);
}

#[tokio::test]
async fn a_rate_limited_charge_frees_its_key_for_a_retry() {
    let w = world(ScriptedGateway::new(), &[("b-1", "100.00")]).await;
    w.billing
        .gateway()
        .script(Scripted::Fail(GatewayError::RateLimited));
    let first = w.billing.charge(&w.business, keyed("b-1", None, "k")).await;
    assert_eq!(first.map(|_| ()).map_err(|e| e.code()), Err("rate_limited"));
    let retry = w
        .billing
        .charge(&w.business, keyed("b-1", None, "k"))
        .await
        .expect("retry");
    assert!(!retry.replayed);
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert_eq!(
        view.payments.len(),
        2,
        "the refused attempt stays in the history"
    );
}

// --- A mocked gateway -------------------------------------------------------------------------

fn answer(reference: &str, status: GatewayStatus, amount: Money) -> GatewayPayment {
    let zero = Money::zero(amount.currency());
    GatewayPayment {
        reference: reference.into(),
        amount_received: if status == GatewayStatus::Succeeded {
            amount
        } else {
            zero
        },
        amount_capturable: zero,
        status,
        amount,
        hold_expires_at: None,
    }
}

#[tokio::test]
async fn mocked_decline_is_recorded_and_returned_with_its_code() {
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_charge().times(1).returning(|request| {
        Ok(answer(
            "pi_1",
            GatewayStatus::Failed(Failure {
                code: "card_declined".into(),
                decline_code: Some("insufficient_funds".into()),
                message: "Your card has insufficient funds.".into(),
            }),
            request.amount,
        ))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let result = w.billing.charge(&w.business, charge("b-1", None)).await;
    let Err(BillingError::Declined { failure, .. }) = result else {
        panic!("expected a decline, got {result:?}")
    };
    assert_eq!(failure.decline_code.as_deref(), Some("insufficient_funds"));
    let view = w
        .billing
        .booking(&w.business, &booking_id("b-1"))
        .await
        .expect("booking");
    assert_eq!(
        (view.summary.status.status, view.summary.status.last_failed),
        (PaymentStatus::NotCharged, true)
    );
    assert_eq!(view.summary.balance.in_flight, usd("0"));
}

#[tokio::test]
async fn mocked_requires_action_leaves_the_charge_open() {
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_charge().times(1).returning(|request| {
        Ok(answer(
            "pi_1",
            GatewayStatus::RequiresAction,
            request.amount,
        ))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("open");
    assert_eq!(receipt.payment.state, PaymentState::RequiresAction);
    assert!(receipt.bookings[0].status.pending);
    assert_eq!(receipt.bookings[0].balance.in_flight, usd("100.00"));
}

#[tokio::test]
async fn mocked_timeout_stays_pending_then_reconciles_to_succeeded() {
    let mut gateway = MockPaymentGateway::new();
    gateway
        .expect_charge()
        .times(1)
        .returning(|_| Err(GatewayError::UnknownOutcome("timed out".into())));
    gateway.expect_find_payment().times(1).returning(|_, _| {
        Ok(Some(answer(
            "pi_1",
            GatewayStatus::Succeeded,
            Money::from_minor(10000, Currency::USD),
        )))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    assert_eq!(pending.payment.state, PaymentState::Pending);
    let settled = w
        .billing
        .reconcile(&w.business, &pending.payment.id)
        .await
        .expect("reconciled");
    assert_eq!(settled.payment.state, PaymentState::Succeeded);
    assert_eq!(settled.payment.gateway_reference.as_deref(), Some("pi_1"));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::ChargedInFull, usd("0"))
    );
}

#[tokio::test]
async fn mocked_timeout_then_reconciled_to_failed() {
    let mut gateway = MockPaymentGateway::new();
    gateway
        .expect_charge()
        .times(1)
        .returning(|_| Err(GatewayError::UnknownOutcome("connection reset".into())));
    gateway.expect_find_payment().times(1).returning(|_, _| {
        Ok(Some(answer(
            "pi_1",
            GatewayStatus::Failed(Failure {
                code: "card_declined".into(),
                decline_code: Some("generic_decline".into()),
                message: "Declined.".into(),
            }),
            Money::from_minor(10000, Currency::USD),
        )))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    let settled = w
        .billing
        .reconcile(&w.business, &pending.payment.id)
        .await
        .expect("reconciled");
    assert!(matches!(settled.payment.state, PaymentState::Failed(_)));
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::NotCharged, usd("100.00"))
    );
}

#[tokio::test]
async fn mocked_retry_after_a_timeout_sends_the_same_idempotency_key() {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let mut gateway = MockPaymentGateway::new();
    let seen = keys.clone();
    let mut calls = 0;
    gateway.expect_charge().times(2).returning(move |request| {
        seen.lock()
            .expect("lock")
            .push(request.idempotency_key.clone());
        calls += 1;
        if calls == 1 {
            Err(GatewayError::UnknownOutcome("timed out".into()))
        } else {
            Ok(answer("pi_1", GatewayStatus::Succeeded, request.amount))
        }
    });
    // The gateway has no record of the first attempt: the reconciler sends it again.
    gateway
        .expect_find_payment()
        .times(1)
        .returning(|_, _| Ok(None));
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let pending = w
        .billing
        .charge(&w.business, keyed("b-1", None, "client-key"))
        .await
        .expect("pending");
    // The client retries under its key after the in-progress window: the core reconciles.
    w.clock.advance(Duration::minutes(2));
    let replay = w
        .billing
        .charge(&w.business, keyed("b-1", None, "client-key"))
        .await
        .expect("replay");
    assert_eq!(replay.payment.id, pending.payment.id);
    assert_eq!(replay.payment.state, PaymentState::Succeeded);
    let keys = keys.lock().expect("lock").clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the same idempotency key on the retry");
    assert_eq!(keys[0], pending.payment.gateway_idempotency_key());
}

#[tokio::test]
async fn mocked_gateway_echoing_another_amount_is_not_trusted() {
    let mut gateway = MockPaymentGateway::new();
    gateway.expect_charge().times(1).returning(|_| {
        Ok(answer(
            "pi_1",
            GatewayStatus::Succeeded,
            Money::from_minor(1, Currency::USD),
        ))
    });
    let w = world(gateway, &[("b-1", "100.00")]).await;
    let receipt = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("pending");
    assert_eq!(
        receipt.payment.state,
        PaymentState::Pending,
        "left for the reconciler, never guessed"
    );
}
