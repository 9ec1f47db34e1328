//! Payment automation through the API: settings, a booking's automation and runs, the
//! needs-attention filter, cancellations, pausing a customer; and bad input refused.

use crate::common::*;

async fn set_policy(h: &Harness, settings: Value) -> Reply {
    h.put("/v1/settings/payments", settings).await
}

#[tokio::test]
async fn settings_round_trip_and_bad_settings_change_nothing() {
    let h = Harness::new().await;
    let manual = h.get("/v1/settings/payments").await;
    assert_eq!(manual.status, StatusCode::OK, "{}", manual.text);
    assert_eq!(manual.json["policy"], json!({"name": "manual"}));
    let settings = json!({
        "policy": {"name": "authorize_before_service", "minutes": 2880},
        "deposit": {"percent": "12.5"},
        "hold_renewal": "capture_if_done",
        "hold_margin_minutes": 360,
        "cancellation_fee": {"fee": {"amount": "30.00", "currency": "USD"}, "window_minutes": 1440},
        "upcoming_notice_minutes": 1440,
    });
    let put = set_policy(&h, settings.clone()).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.json, settings);
    assert_eq!(h.get("/v1/settings/payments").await.json, settings);
    let other = h.get_as(KEY_B, "/v1/settings/payments").await;
    assert_eq!(
        other.json["policy"],
        json!({"name": "manual"}),
        "per business"
    );

    for bad in [
        json!({"policy": {"name": "charge_before_service"}}),
        json!({"policy": {"name": "manual", "minutes": 5}}),
        json!({"policy": {"name": "authorize_before_service", "minutes": 20160}}),
        json!({"policy": {"name": "charge_at_booking"}, "deposit": {"percent": "0"}}),
        json!({"policy": {"name": "charge_at_booking"}, "deposit": {"percent": "101"}}),
        json!({"policy": {"name": "charge_at_booking"}, "deposit": {"percent": "10", "amount": "5.00", "currency": "USD"}}),
        json!({"policy": {"name": "charge_at_booking"}, "deposit": {"amount": "-5.00", "currency": "USD"}}),
        json!({"policy": {"name": "charge_at_booking"}, "hold_margin_minutes": 5000}),
    ] {
        let refused = set_policy(&h, bad.clone()).await;
        refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    }
    let refused = set_policy(&h, json!({"policy": {"name": "sometimes"}})).await;
    assert!(refused.status.is_client_error(), "{}", refused.text);
    assert_eq!(
        h.get("/v1/settings/payments").await.json,
        settings,
        "unchanged"
    );
}

#[tokio::test]
async fn a_booking_shows_its_next_action_and_runs_and_each_automatic_charge_is_marked() {
    let h = Harness::with(Setup {
        hosted_pages: true,
        ..Setup::default()
    })
    .await;
    let put = set_policy(&h, json!({"policy": {"name": "charge_at_booking"}})).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    h.seed("c1", "pm_card_visa", "b1", "120.00").await;
    let planned = h.get("/v1/bookings/b1/automation").await;
    assert_eq!(planned.status, StatusCode::OK, "{}", planned.text);
    assert_eq!(planned.json["policy"]["name"], "charge_at_booking");
    assert_eq!(planned.json["own_policy"], false);
    assert_eq!(planned.json["runs"], json!([]));

    h.past_checkout_grace();
    let report = h.billing.run_due(10).await.unwrap();
    assert_eq!(report.runs.len(), 1, "{report:?}");
    let done = h.get("/v1/bookings/b1/automation").await;
    let run = &done.json["runs"][0];
    assert_eq!(run["action"], "charge");
    assert_eq!(money(&run["amount"]), ("120.00", "USD"));
    assert_eq!(run["outcome"], "succeeded");
    assert_eq!(run["reason"], "policy");
    let payment = run["payment"].as_str().unwrap();
    let booking = h.get("/v1/bookings/b1").await;
    assert_eq!(booking.json["status"], "charged_in_full");
    assert_eq!(booking.json["payments"][0]["id"], payment);
    assert_eq!(booking.json["payments"][0]["origin"], "automation");

    let runs = h.get("/v1/automation/runs?outcome=succeeded").await;
    assert_eq!(runs.status, StatusCode::OK, "{}", runs.text);
    assert_eq!(runs.json["data"].as_array().map(Vec::len), Some(1));
    let none = h.get("/v1/automation/runs?outcome=declined").await;
    assert_eq!(none.json["data"], json!([]));
    h.get("/v1/automation/runs?outcome=maybe")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    h.get("/v1/automation/runs?before=yesterday")
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "invalid_query");
    let other = h.get_as(KEY_B, "/v1/automation/runs").await;
    assert_eq!(other.json["data"], json!([]), "another business sees none");
    h.get_as(KEY_B, "/v1/bookings/b1/automation")
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
}

#[tokio::test]
async fn a_declined_card_given_up_on_is_listed_as_needing_attention() {
    let h = Harness::with(Setup {
        hosted_pages: true,
        ..Setup::default()
    })
    .await;
    set_policy(&h, json!({"policy": {"name": "charge_at_booking"}})).await;
    h.post(
        "/v1/customers",
        json!({"id": "c1", "name": "Ada", "email": "ada@example.com"}),
    )
    .await;
    h.post(
        "/v1/customers/c1/payment-methods",
        json!({"payment_method": "pm_card_visa"}),
    )
    .await;
    h.gateway.script(Scripted::Decline("stolen_card".into()));
    h.put(
        "/v1/bookings/b1",
        json!({"customer": "c1", "currency": "USD",
               "line_items": [{"kind": "service", "label": "Clean", "amount": "60.00"}]}),
    )
    .await;
    h.past_checkout_grace();
    h.billing.run_due(10).await.unwrap();
    h.billing.run_due(10).await.unwrap();
    let flagged = h.get("/v1/bookings?needs_attention=true").await;
    assert_eq!(flagged.status, StatusCode::OK, "{}", flagged.text);
    assert_eq!(flagged.json["data"][0]["id"], "b1", "{}", flagged.text);
    let combined = h
        .get("/v1/bookings?needs_attention=true&status=not_charged&pending=false")
        .await;
    assert_eq!(combined.json["data"][0]["id"], "b1", "{}", combined.text);
    let waiting = h
        .get("/v1/bookings?needs_attention=true&pending=true")
        .await;
    assert_eq!(waiting.json["data"], json!([]), "{}", waiting.text);
    let automation = h.get("/v1/bookings/b1/automation").await;
    assert_eq!(automation.json["needs_attention"], true);
    assert_eq!(automation.json["runs"][0]["action"], "give_up");
    assert_eq!(automation.json["runs"][1]["decline_code"], "stolen_card");
    assert_eq!(automation.json["runs"][1]["decline_kind"], "hard");
    let log = h.get("/v1/customers/c1/notifications").await;
    let kinds: Vec<&str> = log.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"payment_failed"), "{kinds:?}");
    assert!(kinds.contains(&"business_automation_notice"), "{kinds:?}");

    // Staff resume: the flag clears.
    let resumed = h
        .put("/v1/bookings/b1/automation", json!({"paused": false}))
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.text);
    assert_eq!(resumed.json["needs_attention"], false);
    let none = h.get("/v1/bookings?needs_attention=true").await;
    assert_eq!(none.json["data"], json!([]));
}

#[tokio::test]
async fn a_canceled_booking_releases_its_hold_and_charges_the_fee_once() {
    let h = Harness::new().await;
    set_policy(
        &h,
        json!({"policy": {"name": "manual"},
               "cancellation_fee": {"fee": {"percent": "50"}, "window_minutes": 2880}}),
    )
    .await;
    h.seed("c1", "pm_card_visa", "b1", "90.00").await;
    let hold = h
        .post("/v1/bookings/b1/authorizations", json!({"amount": "90.00"}))
        .await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    let service_at = (h.billing.now() + chrono::Duration::hours(5)).to_rfc3339();
    let moved = h
        .put(
            "/v1/bookings/b1",
            json!({"customer": "c1", "currency": "USD", "service_at": service_at,
                   "line_items": [{"kind": "service", "label": "Deep clean", "amount": "90.00"}]}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let canceled = h.post("/v1/bookings/b1/cancel", json!({})).await;
    assert_eq!(canceled.status, StatusCode::OK, "{}", canceled.text);
    assert_eq!(canceled.json["already_canceled"], false);
    assert_eq!(canceled.json["released"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        money(&canceled.json["fee"]["payment"]["amount"]),
        ("45.00", "USD")
    );
    assert_eq!(canceled.json["fee"]["payment"]["origin"], "automation");
    assert!(canceled.json["automation"]["canceled_at"].is_string());
    let again = h.post("/v1/bookings/b1/cancel", json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["already_canceled"], true);
    assert_eq!(
        again.json["fee"]["payment"]["id"], canceled.json["fee"]["payment"]["id"],
        "the same fee, not a second one"
    );
    assert_eq!(
        h.get("/v1/bookings/b1").await.json["status"],
        "partially_charged"
    );
    h.put("/v1/bookings/b1/automation", json!({"paused": true}))
        .await
        .assert_problem(StatusCode::CONFLICT, "booking_canceled");
    h.post("/v1/bookings/b404/cancel", json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "booking_not_found");
}

#[tokio::test]
async fn a_paused_customer_is_left_until_resumed() {
    let h = Harness::new().await;
    set_policy(&h, json!({"policy": {"name": "charge_at_booking"}})).await;
    h.seed("c1", "pm_card_visa", "b1", "40.00").await;
    h.past_checkout_grace();
    let paused = h
        .put("/v1/customers/c1/automation", json!({"paused": true}))
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.text);
    assert!(h.billing.run_due(10).await.unwrap().runs.is_empty());
    assert_eq!(
        h.get("/v1/bookings/b1/automation").await.json["customer_paused"],
        true
    );
    h.put("/v1/customers/c1/automation", json!({"paused": false}))
        .await;
    assert_eq!(h.billing.run_due(10).await.unwrap().runs.len(), 1);
    assert_eq!(
        h.get("/v1/bookings/b1").await.json["status"],
        "charged_in_full"
    );
    h.put("/v1/customers/nobody/automation", json!({"paused": true}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "customer_not_found");
    // A booking's own policy overrides the business's.
    h.seed("c2", "pm_card_visa", "b2", "30.00").await;
    h.past_checkout_grace();
    let own = h
        .put(
            "/v1/bookings/b2/automation",
            json!({"policy": {"name": "manual"}}),
        )
        .await;
    assert_eq!(own.json["own_policy"], true, "{}", own.text);
    assert!(h.billing.run_due(10).await.unwrap().runs.is_empty());
    assert_eq!(h.get("/v1/bookings/b2").await.json["status"], "not_charged");
}
