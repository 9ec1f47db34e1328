//! The comparison at the end of a run: the ledger, read through the API, against the fake
//! Stripe's own records (`/_fake/state`), matched by our payment id in each PaymentIntent's
//! metadata and our refund id in each Refund's.
//!
//! Every payment the campaigns make is for one booking, so that what the gateway moved can be
//! summed per booking: a payment on several bookings is reported as a campaign error.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Fallible;
use super::api::cents;

/// What the fake Stripe holds about one PaymentIntent.
#[derive(Debug, Clone, Default)]
struct Intent {
    id: String,
    status: String,
    received: i64,
    capturable: i64,
    refunded: i64,
    /// Succeeded refunds by our refund id (`None`: made in the dashboard), with their amount.
    refunds: Vec<(Option<String>, i64, String)>,
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
                    .map(|r| {
                        (
                            r["metadata"]["refund_id"].as_str().map(str::to_owned),
                            r["amount"].as_i64().unwrap_or(0),
                            r["status"].as_str().unwrap_or_default().to_owned(),
                        )
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
                },
            );
        }
    }
    found
}

/// What the ledger says moved for a charge or hold: captured and refunded.
fn ledger_moved(payment: &Payment, all: &BTreeMap<String, Payment>) -> (i64, i64) {
    let children = |kind: &str| -> i64 {
        all.values()
            .filter(|c| c.kind == kind && c.of.as_deref() == Some(payment.id.as_str()))
            .filter(|c| c.state == "succeeded")
            .map(|c| c.amount)
            .sum()
    };
    let captured = match payment.kind.as_str() {
        "charge" if payment.state == "succeeded" => payment.amount,
        "authorization" => children("capture"),
        _ => 0,
    };
    (captured, children("refund"))
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

/// Every discrepancy between the ledger (`bookings`, as `GET /v1/bookings/{id}` answers) and
/// the fake's records; empty when they agree.
pub fn compare(bookings: &[Value], fake_state: &Value) -> Fallible<Vec<String>> {
    let mut problems = Vec::new();
    let (intents, foreign) = intents(fake_state)?;
    for pi in foreign {
        problems.push(format!("{pi} at the gateway carries no payment id of ours"));
    }
    let all = payments(bookings, &mut problems);
    let mut per_booking: BTreeMap<&str, (i64, i64, i64, i64, bool)> = BTreeMap::new();
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
                let open_disputes = intent
                    .disputes
                    .iter()
                    .any(|(_, s)| !matches!(s.as_str(), "won" | "lost"));
                let sums = per_booking.entry(&payment.booking).or_default();
                sums.0 += intent.received;
                sums.1 += intent.refunded;
                sums.2 += intent.lost();
                sums.3 += if payment.kind == "authorization" {
                    intent.capturable
                } else {
                    0
                };
                sums.4 |= open_disputes || intent.lost() > 0;
                compare_disputes(payment, intent, &all, &mut problems);
            }
            "refund" => {
                let Some(intent) = payment.of.as_ref().and_then(|of| intents.get(of)) else {
                    if payment.state == "succeeded" {
                        problems.push(format!(
                            "refund {} succeeded of a payment the gateway does not have",
                            payment.id
                        ));
                    }
                    continue;
                };
                let at_gateway: Vec<_> = intent
                    .refunds
                    .iter()
                    .filter(|(id, _, status)| {
                        id.as_deref() == Some(payment.id.as_str()) && status == "succeeded"
                    })
                    .collect();
                let ours = payment.state == "succeeded";
                let agrees = match (ours, at_gateway.as_slice()) {
                    (true, [(_, amount, _)]) => *amount == payment.amount,
                    (false, []) => true,
                    _ => false,
                };
                if !agrees && !matches!(payment.state.as_str(), "pending") {
                    problems.push(format!(
                        "refund {} is {} for {} in the ledger; the gateway has {:?}",
                        payment.id, payment.state, payment.amount, at_gateway
                    ));
                }
            }
            _ => {}
        }
    }
    for (id, intent) in &intents {
        if !all.contains_key(id) && (intent.received > 0 || intent.capturable > 0) {
            problems.push(format!(
                "{} holds {} captured and {} capturable for payment {id}, which the ledger does not have",
                intent.id, intent.received, intent.capturable
            ));
        }
        for (refund, amount, status) in &intent.refunds {
            let known = refund.as_ref().is_none_or(|r| all.contains_key(r));
            if !known && status == "succeeded" {
                problems.push(format!(
                    "refund {refund:?} of {amount} at the gateway is not in the ledger"
                ));
            }
        }
    }
    for booking in bookings {
        compare_booking(booking, &per_booking, &mut problems);
    }
    Ok(problems)
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
fn compare_booking(
    booking: &Value,
    gateway: &BTreeMap<&str, (i64, i64, i64, i64, bool)>,
    problems: &mut Vec<String>,
) {
    let id = booking["id"].as_str().unwrap_or_default();
    let amount = |key: &str| cents(&booking[key]).unwrap_or(i64::MIN);
    let (received, refunded, lost, capturable, disputed) =
        gateway.get(id).copied().unwrap_or_default();
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
    if amount("refunded") != refunded {
        problems.push(format!(
            "booking {id}: the ledger says {} refunded, the gateway {refunded}",
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
pub fn outline(booking: &Value) -> String {
    let mut payments: Vec<String> = booking["payments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["kind"].as_str().unwrap_or_default(),
                p["state"].as_str().unwrap_or_default(),
                p["amount"]["amount"].as_str().unwrap_or_default(),
                p["origin"].as_str().unwrap_or_default()
            )
        })
        .collect();
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
}
