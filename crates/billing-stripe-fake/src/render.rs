//! Stored objects rendered as the real API renders them: every field, `object`,
//! `livemode: false`, and null where Stripe has null. The field sets follow Stripe's
//! own example objects (the OpenAPI fixtures) for the API version async-stripe targets.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::{
    AccountState, Address, BillingDetails, Charge, Customer, Dispute, PaymentIntent, PaymentMethod,
    Refund, SetupIntent,
};

/// Rejects `expand[]` entries this object does not support. Stripe answers the same
/// error for properties that cannot be expanded; the fake also uses it for the
/// (rarer) properties that Stripe could expand but the fake does not.
pub(crate) fn check_expand(expand: &[String], allowed: &[&str]) -> ApiResult<()> {
    match expand.iter().find(|e| !allowed.contains(&e.as_str())) {
        Some(bad) => Err(
            ApiError::invalid(format!("This property cannot be expanded ({bad}).")).param("expand"),
        ),
        None => Ok(()),
    }
}

/// For list and search endpoints, `expand[]=data.x` expands `x` in every item.
pub(crate) fn list_item_expand(
    expand: &[String],
    extra_allowed: &[&str],
) -> ApiResult<Vec<String>> {
    let mut items = Vec::new();
    for e in expand {
        if let Some(inner) = e.strip_prefix("data.") {
            items.push(inner.to_owned());
        } else if !extra_allowed.contains(&e.as_str()) {
            return Err(ApiError::invalid(format!(
                "This property cannot be expanded ({e}). You may want to try expanding 'data.{e}' instead."
            ))
            .param("expand"));
        }
    }
    Ok(items)
}

fn wants(expand: &[String], field: &str) -> bool {
    expand.iter().any(|e| e == field)
}

fn metadata(map: &BTreeMap<String, String>) -> Value {
    json!(map)
}

fn address(a: &Address) -> Value {
    json!({
        "city": a.city,
        "country": a.country,
        "line1": a.line1,
        "line2": a.line2,
        "postal_code": a.postal_code,
        "state": a.state,
    })
}

fn billing_details(b: &BillingDetails) -> Value {
    json!({
        "address": address(&b.address),
        "email": b.email,
        "name": b.name,
        "phone": b.phone,
        "tax_id": null,
    })
}

fn display_brand(brand: &str) -> &str {
    match brand {
        "amex" => "american_express",
        other => other,
    }
}

pub(crate) fn customer(c: &Customer, acct: &AccountState, expand: &[String]) -> ApiResult<Value> {
    check_expand(expand, &["invoice_settings.default_payment_method"])?;
    if c.deleted {
        return Ok(json!({"id": c.id, "object": "customer", "deleted": true}));
    }
    let default_pm = match &c.default_payment_method {
        Some(id) if wants(expand, "invoice_settings.default_payment_method") => acct
            .payment_methods
            .get(id)
            .map(payment_method)
            .unwrap_or_else(|| json!(id)),
        other => json!(other),
    };
    Ok(json!({
        "id": c.id,
        "object": "customer",
        "address": c.address.as_ref().map(address),
        "balance": 0,
        "created": c.created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": c.description,
        "discount": null,
        "email": c.email,
        "invoice_prefix": c.invoice_prefix,
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": default_pm,
            "footer": null,
            "rendering_options": null,
        },
        "livemode": false,
        "metadata": metadata(&c.metadata),
        "name": c.name,
        "next_invoice_sequence": 1,
        "phone": c.phone,
        "preferred_locales": c.preferred_locales,
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    }))
}

pub(crate) fn payment_method(pm: &PaymentMethod) -> Value {
    let card = &pm.card;
    json!({
        "id": pm.id,
        "object": "payment_method",
        "allow_redisplay": pm.allow_redisplay,
        "billing_details": billing_details(&pm.billing),
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": null,
                "address_postal_code_check": null,
                "cvc_check": if pm.customer.is_some() { "pass" } else { "unchecked" },
            },
            "country": card.country,
            "display_brand": display_brand(card.brand),
            "exp_month": pm.exp_month,
            "exp_year": pm.exp_year,
            "fingerprint": card.fingerprint(),
            "funding": card.funding,
            "generated_from": null,
            "last4": card.last4(),
            "networks": {"available": [card.brand], "preferred": null},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": true},
            "wallet": null,
        },
        "created": pm.created,
        "customer": pm.customer,
        "customer_account": null,
        "livemode": false,
        "metadata": metadata(&pm.metadata),
        "type": "card",
    })
}

fn automatic_payment_methods(allow_redirects: &Option<String>) -> Value {
    match allow_redirects {
        Some(allow) => json!({"allow_redirects": allow, "enabled": true}),
        None => Value::Null,
    }
}

fn payment_method_configuration_details(allow_redirects: &Option<String>) -> Value {
    match allow_redirects {
        // With automatic payment methods Stripe names the account's default configuration.
        Some(_) => json!({"id": "pmc_fakestripedefault0000000", "parent": null}),
        None => Value::Null,
    }
}

pub(crate) fn payment_intent(
    pi: &PaymentIntent,
    acct: &AccountState,
    expand: &[String],
) -> ApiResult<Value> {
    check_expand(expand, &["latest_charge", "payment_method", "customer"])?;
    let latest_charge = match &pi.latest_charge {
        Some(id) if wants(expand, "latest_charge") => match acct.charges.get(id) {
            Some(ch) => charge(ch, acct, &[])?,
            None => json!(id),
        },
        other => json!(other),
    };
    let payment_method_value = match &pi.payment_method {
        Some(id) if wants(expand, "payment_method") => acct
            .payment_methods
            .get(id)
            .map(payment_method)
            .unwrap_or_else(|| json!(id)),
        other => json!(other),
    };
    let customer_value = match &pi.customer {
        Some(id) if wants(expand, "customer") => match acct.customers.get(id) {
            Some(c) => customer(c, acct, &[])?,
            None => json!(id),
        },
        other => json!(other),
    };
    let mut out = json!({
        "id": pi.id,
        "object": "payment_intent",
        "amount": pi.amount,
        "amount_capturable": pi.amount_capturable,
        "amount_details": {"tip": {}},
        "amount_received": pi.amount_received,
        "application": null,
        "application_fee_amount": pi.application_fee_amount,
        "automatic_payment_methods": automatic_payment_methods(&pi.automatic_payment_methods),
        "canceled_at": pi.canceled_at,
        "cancellation_reason": pi.cancellation_reason,
        "capture_method": pi.capture_method,
        "client_secret": pi.client_secret,
        "confirmation_method": pi.confirmation_method,
        "created": pi.created,
        "currency": pi.currency,
        "customer": customer_value,
        "customer_account": null,
        "description": pi.description,
        "excluded_payment_method_types": null,
        "last_payment_error": pi.last_payment_error,
        "latest_charge": latest_charge,
        "livemode": false,
        "managed_payments": null,
        "metadata": metadata(&pi.metadata),
        "next_action": pi.next_action,
        "on_behalf_of": null,
        "payment_method": payment_method_value,
        "payment_method_configuration_details":
            payment_method_configuration_details(&pi.automatic_payment_methods),
        "payment_method_options": {
            "card": {
                "installments": null,
                "mandate_options": null,
                "network": null,
                "request_three_d_secure": "automatic",
            },
        },
        "payment_method_types": pi.payment_method_types,
        "processing": null,
        "receipt_email": pi.receipt_email,
        "review": null,
        "setup_future_usage": pi.setup_future_usage,
        "shipping": null,
        "source": null,
        "statement_descriptor": pi.statement_descriptor,
        "statement_descriptor_suffix": pi.statement_descriptor_suffix,
        "status": pi.status,
        "transfer_data": null,
        "transfer_group": pi.transfer_group,
    });
    // Newer parameters: only echoed when the client used them.
    if let Some(allowed) = &pi.allowed_payment_method_types {
        out["allowed_payment_method_types"] = json!(allowed);
    }
    if let Some(multicapture) = &pi.request_multicapture {
        out["payment_method_options"]["card"]["request_multicapture"] = json!(multicapture);
    }
    Ok(out)
}

fn charge_outcome(ch: &Charge) -> Value {
    match &ch.decline {
        None => json!({
            "advice_code": null,
            "network_advice_code": null,
            "network_decline_code": null,
            "network_status": "approved_by_network",
            "reason": null,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }),
        Some(decline) => {
            let reason = decline
                .decline_code
                .clone()
                .unwrap_or_else(|| decline.code.clone());
            let seller_message = match decline.decline_code.as_deref() {
                Some("generic_decline") | None => {
                    "The bank did not return any further details with this decline.".to_owned()
                }
                Some(code) => format!("The bank returned the decline code `{code}`."),
            };
            json!({
                "advice_code": if reason == "insufficient_funds" { json!("try_again_later") } else { json!("do_not_try_again") },
                "network_advice_code": null,
                "network_decline_code": null,
                "network_status": "declined_by_network",
                "reason": reason,
                "risk_level": "normal",
                    "seller_message": seller_message,
                "type": "issuer_declined",
            })
        }
    }
}

pub(crate) fn charge(ch: &Charge, acct: &AccountState, expand: &[String]) -> ApiResult<Value> {
    check_expand(expand, &["payment_intent"])?;
    let payment_intent_value = if wants(expand, "payment_intent") {
        match acct.payment_intents.get(&ch.payment_intent) {
            Some(pi) => payment_intent(pi, acct, &[])?,
            None => json!(ch.payment_intent),
        }
    } else {
        json!(ch.payment_intent)
    };
    let mut refunds: Vec<&Refund> = acct
        .refunds
        .values()
        .filter(|r| r.charge == ch.id)
        .collect();
    refunds.sort_by_key(|r| std::cmp::Reverse((r.created, r.seq)));
    let refund_values = refunds
        .into_iter()
        .map(|r| refund(r, acct, &[]))
        .collect::<ApiResult<Vec<_>>>()?;
    let card = &ch.card;
    let failed = ch.decline.is_some();
    let disputed = acct.disputes.values().any(|d| d.charge == ch.id);
    // Refunded in full: after the final capture (or release), nothing captured is left.
    let open_multicapture = ch.multicapture
        && acct
            .payment_intents
            .get(&ch.payment_intent)
            .is_some_and(|pi| pi.status == "requires_capture");
    Ok(json!({
        "id": ch.id,
        "object": "charge",
        "amount": ch.amount,
        "amount_captured": ch.amount_captured,
        "amount_refunded": ch.amount_refunded(),
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": ch.balance_transaction,
        "billing_details": billing_details(&ch.billing),
        "calculated_statement_descriptor": "FAKESTRIPE",
        "captured": ch.captured,
        "created": ch.created,
        "currency": ch.currency,
        "customer": ch.customer,
        "description": ch.description,
        "disputed": disputed,
        "failure_balance_transaction": null,
        "failure_code": ch.decline.as_ref().map(|d| d.code.clone()),
        "failure_message": ch.decline.as_ref().map(|d| d.message.clone()),
        "fraud_details": {},
        "livemode": false,
        "metadata": metadata(&ch.metadata),
        "on_behalf_of": null,
        "outcome": charge_outcome(ch),
        "paid": !failed,
        "payment_intent": payment_intent_value,
        "payment_method": ch.payment_method,
        "payment_method_details": {
            "card": {
                "amount_authorized": if failed { Value::Null } else { json!(ch.amount) },
                "authorization_code": ch.authorization_code,
                "brand": card.brand,
                "capture_before": ch.capture_before,
                "checks": {
                    "address_line1_check": null,
                    "address_postal_code_check": null,
                    "cvc_check": null,
                },
                "country": card.country,
                "exp_month": ch.exp_month,
                "exp_year": ch.exp_year,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": card.fingerprint(),
                "funding": card.funding,
                "incremental_authorization": {"status": "unavailable"},
                "installments": null,
                "last4": card.last4(),
                "mandate": null,
                "multicapture": {
                    "status": if ch.multicapture { "available" } else { "unavailable" },
                },
                "network": card.brand,
                "network_token": {"used": false},
                "network_transaction_id": ch.network_transaction_id,
                "overcapture": {"maximum_amount_capturable": ch.amount, "status": "unavailable"},
                "regulated_status": "unregulated",
                "three_d_secure": null,
                "transaction_link_id": null,
                "wallet": null,
            },
            "type": "card",
        },
        "receipt_email": ch.receipt_email,
        "receipt_number": ch.receipt_number,
        "receipt_url": format!("https://pay.stripe.com/receipts/payment/fake_{}", ch.id),
        "refunded": ch.amount_refunded() >= ch.amount && !failed && !open_multicapture,
        "refunds": {
            "object": "list",
            "data": refund_values,
            "has_more": false,
            "url": format!("/v1/charges/{}/refunds", ch.id),
        },
        "review": null,
        "shipping": null,
        "source": null,
        "source_transfer": null,
        "statement_descriptor": ch.statement_descriptor,
        "statement_descriptor_suffix": ch.statement_descriptor_suffix,
        "status": ch.status,
        "transfer_data": null,
        "transfer_group": null,
    }))
}

pub(crate) fn refund(r: &Refund, acct: &AccountState, expand: &[String]) -> ApiResult<Value> {
    check_expand(expand, &["charge", "payment_intent"])?;
    let charge_value = match acct.charges.get(&r.charge) {
        Some(ch) if wants(expand, "charge") => charge(ch, acct, &[])?,
        _ => json!(r.charge),
    };
    let pi_value = match acct.payment_intents.get(&r.payment_intent) {
        Some(pi) if wants(expand, "payment_intent") => payment_intent(pi, acct, &[])?,
        _ => json!(r.payment_intent),
    };
    Ok(json!({
        "id": r.id,
        "object": "refund",
        "amount": r.amount,
        "balance_transaction": r.balance_transaction,
        "charge": charge_value,
        "created": r.created,
        "currency": r.currency,
        "customer": null,
        "customer_account": null,
        "destination_details": {
            "card": {
                "reference": null,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": metadata(&r.metadata),
        "payment_intent": pi_value,
        "payment_method": null,
        "reason": r.reason,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": r.status,
        "transfer_reversal": null,
    }))
}

pub(crate) fn setup_intent(
    si: &SetupIntent,
    acct: &AccountState,
    expand: &[String],
) -> ApiResult<Value> {
    check_expand(expand, &["payment_method", "customer"])?;
    let payment_method_value = match &si.payment_method {
        Some(id) if wants(expand, "payment_method") => acct
            .payment_methods
            .get(id)
            .map(payment_method)
            .unwrap_or_else(|| json!(id)),
        other => json!(other),
    };
    let customer_value = match &si.customer {
        Some(id) if wants(expand, "customer") => match acct.customers.get(id) {
            Some(c) => customer(c, acct, &[])?,
            None => json!(id),
        },
        other => json!(other),
    };
    let mut out = json!({
        "id": si.id,
        "object": "setup_intent",
        "application": null,
        "automatic_payment_methods": automatic_payment_methods(&si.automatic_payment_methods),
        "cancellation_reason": si.cancellation_reason,
        "client_secret": si.client_secret,
        "created": si.created,
        "customer": customer_value,
        "description": si.description,
        "excluded_payment_method_types": null,
        "flow_directions": null,
        "last_setup_error": si.last_setup_error,
        "latest_attempt": si.latest_attempt,
        "livemode": false,
        "mandate": null,
        "metadata": metadata(&si.metadata),
        "next_action": si.next_action,
        "on_behalf_of": null,
        "payment_method": payment_method_value,
        "payment_method_configuration_details":
            payment_method_configuration_details(&si.automatic_payment_methods),
        "payment_method_options": {
            "card": {
                "mandate_options": null,
                "network": null,
                "request_three_d_secure": "automatic",
            },
        },
        "payment_method_types": si.payment_method_types,
        "single_use_mandate": null,
        "status": si.status,
        "usage": si.usage,
    });
    if let Some(allowed) = &si.allowed_payment_method_types {
        out["allowed_payment_method_types"] = json!(allowed);
    }
    Ok(out)
}

/// The string fields of a dispute's `evidence`, all null until given.
pub(crate) const EVIDENCE_FIELDS: &[&str] = &[
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
];

pub(crate) fn dispute(d: &Dispute, acct: &AccountState, expand: &[String]) -> ApiResult<Value> {
    check_expand(expand, &["charge", "payment_intent"])?;
    let charge_value = match acct.charges.get(&d.charge) {
        Some(ch) if wants(expand, "charge") => charge(ch, acct, &[])?,
        _ => json!(d.charge),
    };
    let pi_value = match d
        .payment_intent
        .as_ref()
        .map(|p| (p, acct.payment_intents.get(p)))
    {
        Some((_, Some(pi))) if wants(expand, "payment_intent") => payment_intent(pi, acct, &[])?,
        Some((id, _)) => json!(id),
        None => Value::Null,
    };
    let mut evidence = serde_json::Map::new();
    for field in EVIDENCE_FIELDS {
        evidence.insert((*field).to_owned(), json!(d.evidence.get(*field)));
    }
    evidence.insert("enhanced_evidence".into(), json!({}));
    // Visa's reason code for card-absent fraud, as in Stripe's example dispute.
    let reason_code = (d.reason == "fraudulent").then_some("10.4");
    Ok(json!({
        "id": d.id,
        "object": "dispute",
        "amount": d.amount,
        "balance_transactions": [],
        "charge": charge_value,
        "created": d.created,
        "currency": d.currency,
        "enhanced_eligibility_types": [],
        "evidence": evidence,
        "evidence_details": {
            "due_by": d.evidence_due_by,
            "enhanced_eligibility": {},
            "has_evidence": !d.evidence.is_empty(),
            "past_due": false,
            "submission_count": d.submission_count,
        },
        "is_charge_refundable": !d.blocks_refunds(),
        "livemode": false,
        "metadata": metadata(&d.metadata),
        "network_reason_code": reason_code,
        "payment_intent": pi_value,
        "payment_method_details": {
            "card": {
                "brand": d.card_brand,
                "case_type": "chargeback",
                "network": d.card_brand,
                "network_reason_code": reason_code,
            },
            "type": "card",
        },
        "reason": d.reason,
        "status": d.status,
    }))
}

/// Stripe's list envelope.
pub(crate) fn list(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}
