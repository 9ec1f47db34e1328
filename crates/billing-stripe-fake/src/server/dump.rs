//! The fake's own records of money, for a campaign to compare a ledger with: every
//! PaymentIntent of every account with its refunds and disputes.

use serde_json::{Value, json};

use crate::state::{AccountState, PaymentIntent, State};

/// `{"now", "accounts": [{"account", "multicapture", "payment_intents": [...]}]}`: the
/// platform first (`account: null`), then connected accounts by id; intents oldest first.
pub(super) fn dump(state: &State) -> Value {
    let mut accounts: Vec<(&Option<String>, &AccountState)> = state.accounts.iter().collect();
    accounts.sort_by(|a, b| a.0.cmp(b.0));
    let accounts: Vec<Value> = accounts
        .into_iter()
        .map(|(account, acct)| {
            let mut intents: Vec<&PaymentIntent> = acct.payment_intents.values().collect();
            intents.sort_by_key(|pi| (pi.created, pi.seq));
            json!({
                "account": account,
                "multicapture": !acct.multicapture_off,
                "payment_intents": intents
                    .into_iter()
                    .map(|pi| intent(pi, acct))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"now": state.now(), "accounts": accounts})
}

fn intent(pi: &PaymentIntent, acct: &AccountState) -> Value {
    let mut refunds: Vec<_> = acct
        .refunds
        .values()
        .filter(|r| r.payment_intent == pi.id)
        .collect();
    refunds.sort_by_key(|r| (r.created, r.seq));
    let mut disputes: Vec<_> = acct
        .disputes
        .values()
        .filter(|d| d.payment_intent.as_deref() == Some(pi.id.as_str()))
        .collect();
    disputes.sort_by_key(|d| (d.created, d.seq));
    let amount_refunded: i64 = refunds
        .iter()
        .filter(|r| r.status == "succeeded")
        .map(|r| r.amount)
        .sum();
    json!({
        "id": pi.id,
        "created": pi.created,
        "status": pi.status,
        "currency": pi.currency,
        "amount": pi.amount,
        "amount_received": pi.amount_received,
        "amount_capturable": pi.amount_capturable,
        "amount_refunded": amount_refunded,
        "capture_method": pi.capture_method,
        "customer": pi.customer,
        "latest_charge": pi.latest_charge,
        "cancellation_reason": pi.cancellation_reason,
        "metadata": pi.metadata,
        "refunds": refunds
            .into_iter()
            .map(|r| json!({
                "id": r.id,
                "created": r.created,
                "amount": r.amount,
                "status": r.status,
                "reason": r.reason,
                "metadata": r.metadata,
            }))
            .collect::<Vec<_>>(),
        "disputes": disputes
            .into_iter()
            .map(|d| json!({
                "id": d.id,
                "created": d.created,
                "amount": d.amount,
                "status": d.status,
                "reason": d.reason,
                "charge": d.charge,
            }))
            .collect::<Vec<_>>(),
    })
}
