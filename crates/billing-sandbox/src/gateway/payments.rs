//! Charges and holds, whose answer the card's test behaviour and the customer's presence
//! decide; finding a payment by our id; a payment's whole record.

use chrono::{DateTime, Utc};

use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::ports::{
    GatewayError, GatewayPayment, GatewayRecord, GatewayStatus, PaymentRequest, Presence,
};

use crate::cards::{self, Behavior, MULTICAPTURE_BRANDS};
use crate::config::Operation;
use crate::state::{Intent, Reply, State};

use super::customers::{Usable, attach_set_up, owned_elsewhere, usable_method};
use super::{SandboxGateway, amounts, key_reused, random_secret};

/// The answer kept under a key used for a charge or hold.
pub(super) fn payment_reply(reply: Reply) -> Result<GatewayPayment, GatewayError> {
    match reply {
        Reply::Payment(answer) => Ok(answer),
        Reply::Refund(_) | Reply::Setup(_) => Err(key_reused(
            "This idempotency key was used for another kind of request.",
        )),
    }
}

pub(super) async fn pay(
    gateway: &SandboxGateway,
    request: &PaymentRequest,
    hold: bool,
) -> Result<GatewayPayment, GatewayError> {
    let operation = if hold {
        Operation::Authorize
    } else {
        Operation::Charge
    };
    let (on_session, return_url, save_card) = match &request.presence {
        Presence::OffSession => (false, None, false),
        Presence::OnSession {
            return_url,
            save_card,
        } => (true, Some(return_url.clone()), *save_card),
    };
    let fingerprint = format!(
        "{operation}|{}|{}|{}|{}|{}|{:?}",
        request.payment,
        request.card.gateway_customer,
        request.card.payment_method,
        request.amount,
        request.description.as_deref().unwrap_or_default(),
        request.presence,
    );
    let key = request.idempotency_key.as_str();
    let account = &request.account;
    let config = &gateway.inner.config;
    let multicapture_allowed = hold && config.multicapture.allows(account.as_deref());
    gateway
        .serve(operation, account, Some(key), |state, now| {
            if let Some(reply) = state.account(account).replay(key, &fingerprint, now)? {
                state.replayed = true;
                return payment_reply(reply);
            }
            amounts::check_charge(&request.amount)?;
            let customer = &request.card.gateway_customer;
            let payment_method = &request.card.payment_method;
            let method = usable_method(state, account, customer, payment_method)?;
            let behavior = method.behavior();
            let asks = match behavior {
                Behavior::AlwaysAuthenticate => true,
                Behavior::AuthenticateUntilSetUp => on_session || !method.set_up(),
                Behavior::Succeed | Behavior::Decline { .. } => false,
            };
            let status = match (behavior, asks, on_session) {
                (Behavior::Decline { code, decline_code }, ..) => {
                    GatewayStatus::Failed(cards::failure(code, Some(decline_code)))
                }
                // Nobody is there to authenticate: Stripe declines, and the customer must
                // come back to pay (a payment link).
                (_, true, false) => GatewayStatus::Failed(cards::authentication_required()),
                (_, true, true) => GatewayStatus::RequiresAction,
                (_, false, _) if hold => GatewayStatus::RequiresCapture,
                (_, false, _) => GatewayStatus::Succeeded,
            };
            // A card used once without being saved cannot be used again (unless it is saved
            // below, once the payment goes through).
            if let Usable::Kept(kept) = &method
                && kept.customer.is_none()
                && let Some(used) = state.account(account).method_mut(payment_method)
            {
                used.spent = true;
            }
            let card = method.card(payment_method, now);
            let id = state.new_id("pi");
            let seq = state.seq();
            let zero = Money::zero(request.amount.currency());
            let mut intent = Intent {
                client_secret: format!("{id}_secret_{}", random_secret()),
                challenge: random_secret(),
                id,
                payment: request.payment.clone(),
                customer: customer.clone(),
                payment_method: payment_method.clone(),
                multicapture: multicapture_allowed
                    && !matches!(status, GatewayStatus::Failed(_))
                    && MULTICAPTURE_BRANDS.contains(&card.brand.as_str()),
                card: Some(card),
                hold,
                amount: request.amount,
                received: zero,
                capturable: zero,
                status: GatewayStatus::RequiresAction,
                hold_expires_at: None,
                created: now,
                seq,
                save_card,
                return_url,
                refunds: Vec::new(),
            };
            go_through(
                state,
                account,
                &mut intent,
                status,
                now,
                config.hold_duration,
            )?;
            let answer = intent.view(&config.challenge_base);
            let acct = state.account(account);
            acct.insert_intent(intent);
            acct.save(
                key,
                fingerprint.clone(),
                Reply::Payment(answer.clone()),
                now,
            );
            Ok(answer)
        })
        .await
}

/// Brings an intent to `status`: a charge that succeeds receives its amount, a hold that is
/// placed can capture it until the hold runs out; either keeps the card for the customer when
/// they asked (set up for payments without them, since they just paid with it).
pub(super) fn go_through(
    state: &mut State,
    account: &Option<String>,
    intent: &mut Intent,
    status: GatewayStatus,
    now: DateTime<Utc>,
    hold_duration: chrono::Duration,
) -> Result<(), GatewayError> {
    match status {
        GatewayStatus::Succeeded => intent.received = intent.amount,
        GatewayStatus::RequiresCapture => {
            intent.capturable = intent.amount;
            intent.hold_expires_at = Some(now + hold_duration);
        }
        _ => {}
    }
    if matches!(status, GatewayStatus::Failed(_)) {
        intent.multicapture = false;
    }
    let through = matches!(
        status,
        GatewayStatus::Succeeded | GatewayStatus::RequiresCapture
    );
    intent.status = status;
    // Saved only if still the customer's to keep; the payment is made either way.
    let keep = through
        && intent.save_card
        && !owned_elsewhere(state, account, &intent.customer, &intent.payment_method);
    if keep {
        let saved: SavedCard = attach_set_up(
            state,
            account,
            &intent.customer,
            &intent.payment_method,
            now,
        )?;
        intent.card = Some(saved);
    }
    Ok(())
}

pub(super) async fn find_payment(
    gateway: &SandboxGateway,
    account: Option<String>,
    payment: &PaymentId,
) -> Result<Option<GatewayPayment>, GatewayError> {
    let base = gateway.challenge_base();
    gateway
        .serve(Operation::FindPayment, &account, None, |state, now| {
            let acct = state.account(&account);
            // The latest attempt for our id, as a search sorted by date would give.
            let Some(reference) = acct
                .by_our_payment
                .get(payment)
                .and_then(|ids| ids.last())
                .cloned()
            else {
                return Ok(None);
            };
            Ok(Some(acct.intent(&reference, now)?.view(base)))
        })
        .await
}

pub(super) async fn payment_record(
    gateway: &SandboxGateway,
    account: Option<String>,
    reference: &str,
) -> Result<GatewayRecord, GatewayError> {
    let base = gateway.challenge_base();
    gateway
        .serve(Operation::PaymentRecord, &account, None, |state, now| {
            let intent = state.account(&account).intent(reference, now)?;
            Ok(GatewayRecord {
                payment: intent.view(base),
                refunds: intent.refunds.clone(),
                // The sandbox has no card networks to dispute a payment.
                disputes: Vec::new(),
            })
        })
        .await
}
