//! Tips: staff add one when they charge (`tip` on a charge), customers choose one on the pay
//! page; either way a line of the booking once the charge succeeded, and never before.

use crate::common::*;

fn tip_lines(booking: &Value) -> Vec<(String, String)> {
    booking["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "tip")
        .map(|l| {
            (
                l["label"].as_str().unwrap().to_owned(),
                l["amount"]["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_charge_with_a_tip_charges_both_and_the_booking_shows_the_tip_as_a_line() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    let charged = h
        .post_keyed("/v1/bookings/b1/charges", json!({"tip": "15.00"}), "tip-1")
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{}", charged.text);
    let payment = &charged.json["payment"];
    assert_eq!(money(&payment["amount"]), ("115.00", "USD"));
    assert_eq!(money(&payment["allocations"][0]["tip"]), ("15.00", "USD"));
    assert_eq!(charged.json["bookings"][0]["status"], "charged_in_full");
    assert_eq!(
        money(&charged.json["bookings"][0]["price"]),
        ("115.00", "USD")
    );

    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(
        tip_lines(&booking.json),
        vec![("Tip".to_owned(), "15.00".to_owned())]
    );
    assert_eq!(money(&booking.json["balance_due"]), ("0.00", "USD"));

    // The same request again replays it: one tip. Another tip under the key is refused.
    let again = h
        .post_keyed("/v1/bookings/b1/charges", json!({"tip": "15.00"}), "tip-1")
        .await;
    assert!(again.replayed());
    assert_eq!(again.text, charged.text);
    h.post_keyed("/v1/bookings/b1/charges", json!({"tip": "16.00"}), "tip-1")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(h.gateway.count("charge"), 1);
    assert_eq!(tip_lines(&h.get("/v1/bookings/b1").await.json).len(), 1);
}

#[tokio::test]
async fn a_declined_charge_with_a_tip_leaves_no_tip() {
    let h = Harness::new().await;
    h.seed(
        "c1",
        "pm_card_chargeDeclinedInsufficientFunds",
        "b1",
        "100.00",
    )
    .await;
    let declined = h
        .post("/v1/bookings/b1/charges", json!({"tip": "10.00"}))
        .await;
    declined.assert_problem(StatusCode::PAYMENT_REQUIRED, "card_declined");
    let booking = h.get("/v1/bookings/b1").await;
    assert!(tip_lines(&booking.json).is_empty());
    assert_eq!(money(&booking.json["price"]), ("100.00", "USD"));
    assert_eq!(money(&booking.json["balance_due"]), ("100.00", "USD"));
}

#[tokio::test]
async fn a_tip_that_cannot_be_taken_is_a_problem_and_charges_nothing() {
    let h = Harness::new().await;
    h.seed("c1", "pm_card_visa", "b1", "100.00").await;
    h.post("/v1/bookings/b1/charges", json!({"tip": "1.001"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "too_many_decimals");
    h.post("/v1/bookings/b1/charges", json!({"tip": "-1.00"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    h.post(
        "/v1/bookings/b1/charges",
        json!({"amount": "10.00", "tip": "10.01"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert_eq!(h.gateway.count("charge"), 0);
    // A platform cannot give a tip as a line of the booking.
    h.put(
        "/v1/bookings/b1",
        json!({"customer": "c1", "currency": "USD", "line_items": [
            {"kind": "service", "label": "Clean", "amount": "100.00"},
            {"kind": "tip", "label": "Tip", "amount": "5.00"}]}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_booking");
}

#[tokio::test]
async fn the_pay_page_offers_preset_tips_with_their_totals_and_no_script() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let page = h.page(&page_of(&link)).await;
    page.assert_page(StatusCode::OK, "tip");
    for id in [
        "tip-none",
        "tip-15",
        "tip-18",
        "tip-20",
        "tip-custom",
        "tip-amount",
    ] {
        assert!(page.has(id), "#{id}");
    }
    // 215.50: 15 % is 32.325, rounded half away from zero to 32.33.
    assert_eq!(page.text_of("total-15"), "247.83 USD");
    assert_eq!(page.text_of("total-20"), "258.60 USD");
    assert!(!page.text.contains("<script"));
}

#[tokio::test]
async fn paying_with_a_preset_tip_charges_it_on_the_first_booking_and_the_receipt_says_so() {
    let h = Harness::links().await;
    let link = h.link(&["b1", "b2"]).await;
    let path = page_of(&link);
    let paid = h
        .submit(
            &path,
            &[
                ("card_number", VISA),
                ("card_expiry", "12 / 34"),
                ("card_cvc", "123"),
                ("tip", "18"),
                ("tip_amount", ""),
            ],
        )
        .await;
    paid.assert_page(StatusCode::OK, "payment-success");
    // 18 % of 295.50 is 53.19.
    assert_eq!(paid.text_of("paid-amount"), "348.69 USD");
    assert_eq!(paid.text_of("paid-tip"), "53.19 USD");
    let b1 = h.get("/v1/bookings/b1").await;
    assert_eq!(
        tip_lines(&b1.json),
        vec![("Tip".to_owned(), "53.19".to_owned())]
    );
    assert_eq!(b1.json["status"], "charged_in_full");
    let b2 = h.get("/v1/bookings/b2").await;
    assert!(tip_lines(&b2.json).is_empty());
    assert_eq!(b2.json["status"], "charged_in_full");
}

#[tokio::test]
async fn a_declined_card_keeps_the_tip_chosen_and_adds_none() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    let declined = h
        .submit(
            &path,
            &[
                ("card_number", DECLINED),
                ("card_expiry", "12 / 34"),
                ("card_cvc", "123"),
                ("tip", "custom"),
                ("tip_amount", "12.00"),
            ],
        )
        .await;
    declined.assert_page(StatusCode::PAYMENT_REQUIRED, "card-error");
    assert!(
        declined
            .text
            .contains(r#"id="tip-custom" name="tip" type="radio" value="custom" checked"#),
        "{}",
        declined.text
    );
    assert!(declined.text.contains(r#"value="12.00""#));
    let booking = h.get("/v1/bookings/b1").await;
    assert!(tip_lines(&booking.json).is_empty());
    assert_eq!(money(&booking.json["balance_due"]), ("215.50", "USD"));
}

#[tokio::test]
async fn a_tip_the_page_cannot_take_is_said_and_nothing_is_charged() {
    let h = Harness::links().await;
    let link = h.link(&["b1"]).await;
    let path = page_of(&link);
    for (choice, amount, said) in [
        ("custom", "1.005", "at most 2 decimal places"),
        ("15", "3.00", "not both"),
        ("custom", "", "Type the tip"),
    ] {
        let refused = h
            .submit(
                &path,
                &[
                    ("card_number", VISA),
                    ("card_expiry", "12 / 34"),
                    ("card_cvc", "123"),
                    ("tip", choice),
                    ("tip_amount", amount),
                ],
            )
            .await;
        refused.assert_page(StatusCode::UNPROCESSABLE_ENTITY, "card-error");
        assert!(
            refused.text_of("card-error").contains(said),
            "{}",
            refused.text
        );
    }
    assert_eq!(h.gateway.count("charge"), 0);
}
