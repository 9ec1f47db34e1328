//! The comparison at the end of a run: the ledger, read through the API, against the fake
//! Stripe's own records (`/_fake/state`), matched by our payment id in each PaymentIntent's
//! metadata and our refund id in each Refund's.
//!
//! Every payment the campaigns make is for one booking, so that what the gateway moved can be
//! summed per booking: a payment on several bookings is reported as a campaign error.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Fallible;
use super::api::{cents, dollars};

/// A refund the fake Stripe holds.
#[derive(Debug, Clone, Default)]
struct StripeRefund {
    /// `re_...`
    id: String,
    /// Our refund id in its metadata; `None` for one made in the dashboard.
    ours: Option<String>,
    amount: i64,
    status: String,
}

/// What the fake Stripe holds about one PaymentIntent.
#[derive(Debug, Clone, Default)]
struct Intent {
    id: String,
    status: String,
    received: i64,
    capturable: i64,
    refunded: i64,
    refunds: Vec<StripeRefund>,
    /// Disputes: (amount, status).
    disputes: Vec<(i64, String)>,
}

impl Intent {
    fn lost(&self) -> i64 {
        self.disputes
            .iter()
            .filter(|(_, status)| status == "lost")
            .map(|(amount, _)| amount)
            .sum()
    }
}

/// The fake's intents by our payment id, and those without one.
fn intents(state: &Value) -> Fallible<(BTreeMap<String, Intent>, Vec<String>)> {
    let mut ours = BTreeMap::new();
    let mut foreign = Vec::new();
    let accounts = state["accounts"]
        .as_array()
        .ok_or("the fake's state has no accounts")?;
    for account in accounts {
        for pi in account["payment_intents"].as_array().into_iter().flatten() {
            let int = |key: &str| pi[key].as_i64().unwrap_or(0);
            let intent = Intent {
                id: pi["id"].as_str().unwrap_or_default().to_owned(),
                status: pi["status"].as_str().unwrap_or_default().to_owned(),
                received: int("amount_received"),
                capturable: int("amount_capturable"),
                refunded: int("amount_refunded"),
                refunds: pi["refunds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| StripeRefund {
                        id: r["id"].as_str().unwrap_or_default().to_owned(),
                        ours: r["metadata"]["refund_id"].as_str().map(str::to_owned),
                        amount: r["amount"].as_i64().unwrap_or(0),
                        status: r["status"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
                disputes: pi["disputes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        (
                            d["amount"].as_i64().unwrap_or(0),
                            d["status"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
            };
            match pi["metadata"]["payment_id"].as_str() {
                Some(payment) => {
                    ours.insert(payment.to_owned(), intent);
                }
                None => foreign.push(intent.id),
            }
        }
    }
    Ok((ours, foreign))
}

/// A payment as the ledger shows it.
#[derive(Debug, Clone)]
struct Payment {
    id: String,
    kind: String,
    state: String,
    amount: i64,
    of: Option<String>,
    booking: String,
    /// `command`, `payment_link` or `gateway`.
    origin: String,
    /// The gateway's id: the PaymentIntent of a charge or hold, the `re_...` of a refund made
    /// at the gateway.
    reference: Option<String>,
}

fn payments(bookings: &[Value], problems: &mut Vec<String>) -> BTreeMap<String, Payment> {
    let mut found = BTreeMap::new();
    for booking in bookings {
        let booking_id = booking["id"].as_str().unwrap_or_default();
        for p in booking["payments"].as_array().into_iter().flatten() {
            let id = p["id"].as_str().unwrap_or_default().to_owned();
            let on: BTreeSet<&str> = p["allocations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["booking"].as_str())
                .collect();
            if on.len() > 1 {
                problems.push(format!(
                    "campaign error: payment {id} is on several bookings {on:?}"
                ));
            }
            let amount = match cents(&p["amount"]) {
                Ok(amount) => amount,
                Err(error) => {
                    problems.push(format!("payment {id}: {error}"));
                    0
                }
            };
            found.insert(
                id.clone(),
                Payment {
                    id,
                    kind: p["kind"].as_str().unwrap_or_default().to_owned(),
                    state: p["state"].as_str().unwrap_or_default().to_owned(),
                    amount,
                    of: p["of"].as_str().map(str::to_owned),
                    booking: booking_id.to_owned(),
                    origin: p["origin"].as_str().unwrap_or_default().to_owned(),
                    reference: p["gateway_reference"].as_str().map(str::to_owned),
                },
            );
        }
    }
    found
}

/// The charge or hold a payment comes from (itself for those): the one with a PaymentIntent.
fn root<'a>(payment: &'a Payment, all: &'a BTreeMap<String, Payment>) -> Option<&'a Payment> {
    let mut at = payment;
    // A refund of a capture of a hold is two steps from it; nothing is deeper.
    for _ in 0..3 {
        if matches!(at.kind.as_str(), "charge" | "authorization") {
            return Some(at);
        }
        at = all.get(at.of.as_deref()?)?;
    }
    None
}

/// What the ledger says moved for a charge or hold: captured, and refunded (of the charge,
/// or of the hold's captures).
fn ledger_moved(payment: &Payment, all: &BTreeMap<String, Payment>) -> (i64, i64) {
    let captured = match payment.kind.as_str() {
        "charge" if payment.state == "succeeded" => payment.amount,
        "authorization" => all
            .values()
            .filter(|c| c.kind == "capture" && c.of.as_deref() == Some(payment.id.as_str()))
            .filter(|c| c.state == "succeeded")
            .map(|c| c.amount)
            .sum(),
        _ => 0,
    };
    let refunded = all
        .values()
        .filter(|r| r.kind == "refund" && r.state == "succeeded")
        .filter(|r| root(r, all).is_some_and(|p| p.id == payment.id))
        .map(|r| r.amount)
        .sum();
    (captured, refunded)
}

/// The ledger state a gateway status allows for a charge or hold.
fn states_agree(payment: &Payment, intent: &Intent) -> bool {
    match payment.state.as_str() {
        "succeeded" => intent.status == "succeeded",
        "authorized" | "partially_captured" => intent.status == "requires_capture",
        "captured" => intent.status == "succeeded",
        // A hold released after a part was captured ends `succeeded` at Stripe.
        "canceled" | "expired" => intent.status == "canceled" || intent.status == "succeeded",
        "failed" => intent.received == 0 && intent.capturable == 0,
        _ => false,
    }
}

/// Per booking, what the gateway did: captured, refunded, lost in disputes, still capturable,
/// and whether a dispute is open or lost.
#[derive(Debug, Clone, Copy, Default)]
struct Moved {
    received: i64,
    refunded: i64,
    lost: i64,
    capturable: i64,
    disputed: bool,
}

/// Every discrepancy between the ledger (`bookings`, as `GET /v1/bookings/{id}` answers) and
/// the fake's records; empty when they agree.
pub fn compare(bookings: &[Value], fake_state: &Value) -> Fallible<Vec<String>> {
    let mut problems = Vec::new();
    let (intents, foreign) = intents(fake_state)?;
    for pi in foreign {
        problems.push(format!("{pi} at the gateway carries no payment id of ours"));
    }
    let all = payments(bookings, &mut problems);
    let mut per_booking: BTreeMap<&str, Moved> = BTreeMap::new();
    for payment in all.values() {
        if matches!(payment.state.as_str(), "pending" | "requires_action")
            && payment.kind != "dispute"
        {
            problems.push(format!(
                "{} {} of booking {} is still {}",
                payment.kind, payment.id, payment.booking, payment.state
            ));
        }
        match payment.kind.as_str() {
            "charge" | "authorization" => {
                let (captured, refunded) = ledger_moved(payment, &all);
                let Some(intent) = intents.get(&payment.id) else {
                    if captured != 0 || refunded != 0 || payment.state != "failed" {
                        problems.push(format!(
                            "{} {} is {} with {captured} captured, but the gateway has no such payment",
                            payment.kind, payment.id, payment.state
                        ));
                    }
                    continue;
                };
                if intent.received != captured || intent.refunded != refunded {
                    problems.push(format!(
                        "{} {} ({}): the ledger has {captured} captured and {refunded} refunded, the gateway {} and {}",
                        payment.kind, payment.id, intent.id, intent.received, intent.refunded
                    ));
                }
                if !states_agree(payment, intent) {
                    problems.push(format!(
                        "{} {} is {} in the ledger, {} at the gateway ({} received)",
                        payment.kind, payment.id, payment.state, intent.status, intent.received
                    ));
                }
                let moved = per_booking.entry(&payment.booking).or_default();
                moved.received += intent.received;
                moved.refunded += intent.refunded;
                moved.lost += intent.lost();
                if payment.kind == "authorization" {
                    moved.capturable += intent.capturable;
                }
                moved.disputed |= intent.lost() > 0
                    || intent
                        .disputes
                        .iter()
                        .any(|(_, s)| !matches!(s.as_str(), "won" | "lost"));
                compare_disputes(payment, intent, &all, &mut problems);
            }
            "refund" if payment.origin != "gateway" => {
                compare_our_refund(payment, &all, &intents, &mut problems);
            }
            _ => {}
        }
    }
    compare_gateway_refunds(&all, &intents, &mut problems);
    for (id, intent) in &intents {
        if !all.contains_key(id) && (intent.received > 0 || intent.capturable > 0) {
            problems.push(format!(
                "{} holds {} captured and {} capturable for payment {id}, which the ledger does not have",
                intent.id, intent.received, intent.capturable
            ));
        }
    }
    for booking in bookings {
        compare_booking(booking, &per_booking, &mut problems);
    }
    Ok(problems)
}

/// A refund staff asked for: at the gateway once, under our id, for its amount, exactly when
/// the ledger says it succeeded.
fn compare_our_refund(
    payment: &Payment,
    all: &BTreeMap<String, Payment>,
    intents: &BTreeMap<String, Intent>,
    problems: &mut Vec<String>,
) {
    let Some(intent) = root(payment, all).and_then(|r| intents.get(&r.id)) else {
        if payment.state == "succeeded" {
            problems.push(format!(
                "refund {} succeeded of a payment the gateway does not have",
                payment.id
            ));
        }
        return;
    };
    let at_gateway: Vec<(&str, i64)> = intent
        .refunds
        .iter()
        .filter(|r| r.ours.as_deref() == Some(payment.id.as_str()) && r.status == "succeeded")
        .map(|r| (r.id.as_str(), r.amount))
        .collect();
    let agrees = match (payment.state == "succeeded", at_gateway.as_slice()) {
        (true, [(_, amount)]) => *amount == payment.amount,
        (false, []) => true,
        _ => false,
    };
    if !agrees {
        problems.push(format!(
            "refund {} is {} for {} in the ledger; the gateway has {at_gateway:?}",
            payment.id, payment.state, payment.amount
        ));
    }
}

/// Refunds at the gateway: each succeeded one in the ledger (ours under our id; one made in the
/// dashboard as the gateway's, under its `re_...`, for its whole amount, perhaps split across
/// a hold's captures), and every refund the ledger records from the gateway is one of them.
fn compare_gateway_refunds(
    all: &BTreeMap<String, Payment>,
    intents: &BTreeMap<String, Intent>,
    problems: &mut Vec<String>,
) {
    let mut recorded: BTreeMap<&str, i64> = BTreeMap::new();
    for refund in all
        .values()
        .filter(|p| p.kind == "refund" && p.origin == "gateway")
    {
        let Some(reference) = refund.reference.as_deref() else {
            problems.push(format!(
                "refund {} was recorded from the gateway without its id",
                refund.id
            ));
            continue;
        };
        if refund.state == "succeeded" {
            *recorded.entry(reference).or_default() += refund.amount;
        } else {
            problems.push(format!(
                "refund {} recorded from the gateway is {}",
                refund.id, refund.state
            ));
        }
    }
    let mut at_gateway: BTreeMap<&str, i64> = BTreeMap::new();
    for refund in intents.values().flat_map(|i| &i.refunds) {
        if refund.status != "succeeded" {
            continue;
        }
        match &refund.ours {
            Some(ours) if !all.contains_key(ours) => problems.push(format!(
                "refund {} ({ours}) of {} at the gateway is not in the ledger",
                refund.id, refund.amount
            )),
            Some(_) => {}
            None => {
                at_gateway.insert(&refund.id, refund.amount);
            }
        }
    }
    if recorded != at_gateway {
        problems.push(format!(
            "refunds made at the gateway: the ledger has {recorded:?}, the gateway {at_gateway:?}"
        ));
    }
}

/// A payment's disputes: open ones pending, lost ones succeeded, won ones canceled.
fn compare_disputes(
    payment: &Payment,
    intent: &Intent,
    all: &BTreeMap<String, Payment>,
    problems: &mut Vec<String>,
) {
    let mut ledger: Vec<(i64, &str)> = all
        .values()
        .filter(|d| d.kind == "dispute" && d.of.as_deref() == Some(payment.id.as_str()))
        .map(|d| (d.amount, d.state.as_str()))
        .collect();
    let mut gateway: Vec<(i64, &str)> = intent
        .disputes
        .iter()
        .map(|(amount, status)| {
            let state = match status.as_str() {
                "lost" => "succeeded",
                "won" => "canceled",
                _ => "pending",
            };
            (*amount, state)
        })
        .collect();
    ledger.sort_unstable();
    gateway.sort_unstable();
    if ledger != gateway {
        problems.push(format!(
            "disputes of {}: the ledger has {ledger:?}, the gateway {gateway:?}",
            payment.id
        ));
    }
}

/// One booking's totals against the gateway's: nothing charged twice (captured never over the
/// price), paid and refunded as the gateway moved them, nothing pending or in flight.
fn compare_booking(booking: &Value, gateway: &BTreeMap<&str, Moved>, problems: &mut Vec<String>) {
    let id = booking["id"].as_str().unwrap_or_default();
    let amount = |key: &str| cents(&booking[key]).unwrap_or(i64::MIN);
    let Moved {
        received,
        refunded,
        lost,
        capturable,
        disputed,
    } = gateway.get(id).copied().unwrap_or_default();
    let price = amount("price");
    if received > price {
        problems.push(format!(
            "booking {id}: the gateway captured {received} for a price of {price}: charged twice"
        ));
    }
    let collected: i64 = booking["payments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["kind"] == "collection" && p["state"] == "succeeded")
        .map(|p| cents(&p["amount"]).unwrap_or(0))
        .sum();
    let paid = amount("paid");
    if paid != received - refunded - lost + collected {
        problems.push(format!(
            "booking {id}: the ledger says {paid} paid; the gateway captured {received}, refunded {refunded}, lost {lost} in disputes"
        ));
    }
    // A booking's `refunded` counts what went back to the customer: refunds and lost disputes.
    if amount("refunded") != refunded + lost {
        problems.push(format!(
            "booking {id}: the ledger says {} refunded, the gateway refunded {refunded} and lost {lost} in disputes",
            amount("refunded")
        ));
    }
    if amount("held") != capturable {
        problems.push(format!(
            "booking {id}: the ledger holds {}, the gateway {capturable}",
            amount("held")
        ));
    }
    if amount("in_flight") != 0 || booking["pending"] != Value::Bool(false) {
        problems.push(format!("booking {id} still has something in flight"));
    }
    if booking["disputed"] != Value::Bool(disputed) {
        problems.push(format!(
            "booking {id}: disputed is {} in the ledger, {disputed} at the gateway",
            booking["disputed"]
        ));
    }
}

/// A booking's final state, without the ids the gateway and the engine make afresh on every
/// run: two runs of the same seed compare equal on this.
///
/// What the gateway did on its own is summed per kind and state: Stripe reports a hold's
/// captures as one running total, so two captures made in its dashboard are recorded as two
/// entries when their webhooks come one after the other and as one entry when the second
/// change is already there when the first event is read. The money is the same either way.
pub fn outline(booking: &Value) -> String {
    let mut payments: Vec<String> = Vec::new();
    let mut by_gateway: BTreeMap<(String, String), i64> = BTreeMap::new();
    for p in booking["payments"].as_array().into_iter().flatten() {
        let kind = p["kind"].as_str().unwrap_or_default().to_owned();
        let state = p["state"].as_str().unwrap_or_default().to_owned();
        let origin = p["origin"].as_str().unwrap_or_default();
        if origin == "gateway" && kind != "dispute" {
            *by_gateway.entry((kind, state)).or_default() += cents(&p["amount"]).unwrap_or(0);
        } else {
            payments.push(format!(
                "{kind} {state} {} {origin}",
                p["amount"]["amount"].as_str().unwrap_or_default()
            ));
        }
    }
    for ((kind, state), total) in by_gateway {
        payments.push(format!(
            "{kind} {state} {} gateway (in all)",
            dollars(total)
        ));
    }
    payments.sort_unstable();
    let field = |key: &str| {
        booking[key]["amount"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    format!(
        "{} price {} paid {} refunded {} held {} status {} disputed {} [{}]",
        booking["id"].as_str().unwrap_or_default(),
        field("price"),
        field("paid"),
        field("refunded"),
        field("held"),
        booking["status"].as_str().unwrap_or_default(),
        booking["disputed"],
        payments.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn money(amount: &str) -> Value {
        json!({"amount": amount, "currency": "USD"})
    }

    fn booking(paid: &str, state: &str) -> Value {
        json!({
            "id": "b1", "price": money("50.00"), "paid": money(paid), "refunded": money("0.00"),
            "held": money("0.00"), "in_flight": money("0.00"), "pending": false, "disputed": false,
            "status": "charged_in_full",
            "payments": [{
                "id": "pay_1", "kind": "charge", "state": state, "amount": money("50.00"),
                "allocations": [{"booking": "b1", "amount": money("50.00")}], "origin": "command",
            }],
        })
    }

    fn fake(received: i64) -> Value {
        json!({"accounts": [{"account": null, "payment_intents": [{
            "id": "pi_1", "status": if received > 0 { "succeeded" } else { "canceled" },
            "amount_received": received, "amount_capturable": 0, "amount_refunded": 0,
            "metadata": {"payment_id": "pay_1"}, "refunds": [], "disputes": [],
        }]}]})
    }

    #[test]
    fn agreeing_records_have_no_discrepancy() {
        let found = compare(&[booking("50.00", "succeeded")], &fake(5000)).expect("compared");
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_charge_the_ledger_missed_is_found() {
        let found = compare(&[booking("0.00", "failed")], &fake(5000)).expect("compared");
        assert!(!found.is_empty());
    }

    #[test]
    fn a_payment_left_pending_is_found() {
        let found = compare(&[booking("0.00", "pending")], &fake(0)).expect("compared");
        assert!(
            found.iter().any(|p| p.contains("still pending")),
            "{found:?}"
        );
    }

    #[test]
    fn money_charged_twice_is_found() {
        let mut state = fake(5000);
        let second = json!({
            "id": "pi_2", "status": "succeeded", "amount_received": 5000, "amount_capturable": 0,
            "amount_refunded": 0, "metadata": {"payment_id": "pay_2"}, "refunds": [], "disputes": [],
        });
        if let Some(intents) = state["accounts"][0]["payment_intents"].as_array_mut() {
            intents.push(second);
        }
        let found = compare(&[booking("50.00", "succeeded")], &state).expect("compared");
        assert!(found.iter().any(|p| p.contains("pay_2")), "{found:?}");
    }

    /// The booking of [`booking`] refunded 20.00 in the dashboard; the ledger's record of it
    /// when `recorded`.
    fn refunded_in_dashboard(recorded: bool) -> (Value, Value) {
        let mut ledger = booking(if recorded { "30.00" } else { "50.00" }, "succeeded");
        ledger["refunded"] = money(if recorded { "20.00" } else { "0.00" });
        if recorded && let Some(payments) = ledger["payments"].as_array_mut() {
            payments.push(json!({
                "id": "pay_r", "kind": "refund", "state": "succeeded", "amount": money("20.00"),
                "of": "pay_1", "origin": "gateway", "gateway_reference": "re_1",
                "allocations": [{"booking": "b1", "amount": money("20.00")}],
            }));
        }
        let mut state = fake(5000);
        state["accounts"][0]["payment_intents"][0]["amount_refunded"] = json!(2000);
        state["accounts"][0]["payment_intents"][0]["refunds"] = json!([
            {"id": "re_1", "amount": 2000, "status": "succeeded", "metadata": {}},
        ]);
        (ledger, state)
    }

    #[test]
    fn a_refund_made_in_the_dashboard_is_matched_by_its_gateway_id() {
        let (ledger, state) = refunded_in_dashboard(true);
        let found = compare(&[ledger], &state).expect("compared");
        assert!(found.is_empty(), "{found:?}");
        let (ledger, state) = refunded_in_dashboard(false);
        let found = compare(&[ledger], &state).expect("compared");
        assert!(found.iter().any(|p| p.contains("re_1")), "{found:?}");
    }

    #[test]
    fn a_lost_dispute_counts_as_refunded() {
        let mut ledger = booking("0.00", "succeeded");
        ledger["refunded"] = money("50.00");
        ledger["disputed"] = json!(true);
        if let Some(payments) = ledger["payments"].as_array_mut() {
            payments.push(json!({
                "id": "pay_d", "kind": "dispute", "state": "succeeded", "amount": money("50.00"),
                "of": "pay_1", "origin": "gateway", "gateway_reference": "dp_1",
                "allocations": [{"booking": "b1", "amount": money("50.00")}],
            }));
        }
        let mut state = fake(5000);
        state["accounts"][0]["payment_intents"][0]["disputes"] =
            json!([{"id": "dp_1", "amount": 5000, "status": "lost"}]);
        let found = compare(std::slice::from_ref(&ledger), &state).expect("compared");
        assert!(found.is_empty(), "{found:?}");
        ledger["refunded"] = money("0.00");
        let found = compare(&[ledger], &state).expect("compared");
        assert!(found.iter().any(|p| p.contains("refunded")), "{found:?}");
    }

    #[test]
    fn outlines_sum_what_the_gateway_did_and_keep_the_rest() {
        let capture = |id: &str, amount: &str| {
            json!({"id": id, "kind": "capture", "state": "succeeded", "amount": money(amount),
                   "origin": "gateway"})
        };
        let hold = json!({"id": "pay_h", "kind": "authorization", "state": "captured",
                          "amount": money("50.00"), "origin": "command"});
        let mut one = booking("30.00", "succeeded");
        one["payments"] = json!([hold, capture("pay_a", "30.00")]);
        let mut two = one.clone();
        two["payments"] = json!([hold, capture("pay_b", "10.00"), capture("pay_c", "20.00")]);
        assert_eq!(outline(&one), outline(&two));
        let mut other = one.clone();
        other["payments"] = json!([hold, capture("pay_b", "10.00")]);
        assert_ne!(outline(&one), outline(&other));
    }
}
