//! The seeds' scenarios and the money rules, on the in-memory store and scripted gateway.

use super::*;

// --- The seeds' scenarios -------------------------------------------------------------------

#[tokio::test]
async fn a_100_booking_charged_in_full() {
    let (w, _) = scripted(&[("b-100", "100.00")]).await;
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
    let (w, _) = scripted(&[("b-1", "215.50")]).await;
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
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    let extra =
        LineItem::new(LineItemKind::Extra, "Inside the fridge", usd("50.00")).expect("line");
    let view = w
        .billing
        .adjust_price(&w.business, &booking_id("b-1"), extra.into())
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
    let (w, _) = scripted(&[("b-1", "120.00")]).await;
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
    let (w, _) = scripted(&[("b-1", "200.00")]).await;
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
                amount: Some(usd("150.00").into()),
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
    let (w, gateway) = scripted(&[("b-1", "80.00")]).await;
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
    assert_eq!(gateway.calls().len(), 0, "no gateway call for cash");
}

// --- More of the money rules ----------------------------------------------------------------

#[tokio::test]
async fn refunds_follow_the_balance_and_stop_at_what_is_refundable() {
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    let paid = w
        .billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charge");
    let refund = |amount: Option<&str>| RefundPayment {
        payment: paid.payment.id.clone(),
        amount: amount.map(|a| usd(a).into()),
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
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    w.billing
        .charge(&w.business, charge("b-1", None))
        .await
        .expect("charge");
    let discount = LineItem::new(LineItemKind::Discount, "Apology", usd("20.00")).expect("line");
    let view = w
        .billing
        .adjust_price(&w.business, &booking_id("b-1"), discount.into())
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
    let (w, gateway) = scripted(&[("b-1", "100.00")]).await;
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
                amount: Some(eur.into()),
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
    assert!(gateway.calls().is_empty());
}

#[tokio::test]
async fn a_hold_cannot_be_captured_after_it_expires() {
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
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
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    let hold = w
        .billing
        .authorize(
            &w.business,
            AuthorizeBooking {
                booking: booking_id("b-1"),
                amount: Some(usd("60.00").into()),
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
                amount: Some(usd("60.01").into()),
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
                amount: Some(usd("25.00").into()),
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
async fn an_extra_added_from_a_form_sent_twice_is_added_once() {
    let (w, _) = scripted(&[("b-1", "100.00")]).await;
    let extra = LineItem::new(LineItemKind::Extra, "Inside the oven", usd("30.00")).expect("line");
    let first = w
        .billing
        .adjust_price_once(&w.business, &booking_id("b-1"), extra.clone().into(), 1)
        .await
        .expect("added");
    assert_eq!(first.summary.balance.price, usd("130.00"));
    let again = w
        .billing
        .adjust_price_once(&w.business, &booking_id("b-1"), extra.into(), 1)
        .await;
    assert!(
        matches!(again, Err(BillingError::BookingChanged(_))),
        "{again:?}"
    );
    assert_eq!(
        w.status("b-1").await,
        (PaymentStatus::NotCharged, usd("130.00"))
    );
}
