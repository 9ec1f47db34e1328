//! Charges and holds, whose answer the card's test behaviour decides, and finding a payment
//! by our id.

use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::ports::{GatewayError, GatewayPayment, GatewayStatus, PaymentRequest};

use crate::cards::{self, Behavior};
use crate::config::Operation;
use crate::state::{Intent, Reply, State};

use super::{SandboxGateway, invalid, no_such_method};

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
    let fingerprint = format!(
        "{operation}|{}|{}|{}|{}|{}",
        request.payment,
        request.card.gateway_customer,
        request.card.payment_method,
        request.amount,
        request.description.as_deref().unwrap_or_default()
    );
    let key = request.idempotency_key.as_str();
    let account = &request.account;
    let hold_duration = gateway.inner.config.hold_duration;
    gateway
        .serve(operation, account, Some(key), |state, now| {
            if let Some(Reply::Payment(answer)) =
                state.account(account).replay(key, &fingerprint, now)?
            {
                state.replayed = true;
                return Ok(answer);
            }
            if !request.amount.is_positive() {
                return Err(invalid("This value must be greater than or equal to 1."));
            }
            let customer = &request.card.gateway_customer;
            state.account(account).customer(customer)?;
            let behavior =
                method_for_payment(state, account, customer, &request.card.payment_method)?;
            let id = state.new_id("pi");
            let zero = Money::zero(request.amount.currency());
            let status = match (behavior, hold) {
                (Behavior::Decline { code, decline_code }, _) => {
                    GatewayStatus::Failed(cards::failure(code, Some(decline_code)))
                }
                // Off-session, Stripe declines with `authentication_required`: the customer has
                // to come back and confirm, which is what "requires action" means to the core.
                (Behavior::RequireAuthentication, _) => GatewayStatus::RequiresAction,
                (Behavior::Succeed, true) => GatewayStatus::RequiresCapture,
                (Behavior::Succeed, false) => GatewayStatus::Succeeded,
            };
            let holding = status == GatewayStatus::RequiresCapture;
            let intent = Intent {
                id: id.clone(),
                amount: request.amount,
                received: if status == GatewayStatus::Succeeded {
                    request.amount
                } else {
                    zero
                },
                capturable: if holding { request.amount } else { zero },
                refunded: zero,
                status,
                hold_expires_at: holding.then(|| now + hold_duration),
            };
            let answer = intent.view();
            let acct = state.account(account);
            acct.intents.insert(id.clone(), intent);
            acct.by_our_payment
                .entry(request.payment.clone())
                .or_default()
                .push(id);
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

pub(super) async fn find_payment(
    gateway: &SandboxGateway,
    account: Option<String>,
    payment: &PaymentId,
) -> Result<Option<GatewayPayment>, GatewayError> {
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
            Ok(Some(acct.intent_mut(&reference, now)?.view()))
        })
        .await
}

/// The behaviour of the card a payment uses, checking that the customer may use it. A card
/// made by the card form is kept by the account that uses it first.
fn method_for_payment(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
) -> Result<Behavior, GatewayError> {
    if let Some(card) = cards::by_test_payment_method(id) {
        return Ok(card.behavior);
    }
    if let Some(method) = state.loose_methods.remove(id) {
        state.account(account).methods.insert(id.to_owned(), method);
    }
    let method = state
        .account(account)
        .methods
        .get_mut(id)
        .ok_or_else(|| no_such_method(id))?;
    match method.customer.as_deref() {
        Some(owner) if owner == customer => Ok(method.behavior),
        Some(_) => Err(invalid(format!(
            "The provided PaymentMethod {id} belongs to another customer."
        ))),
        None if method.spent => Err(invalid(format!(
            "The provided PaymentMethod {id} was previously used without being attached to a Customer or was detached from a Customer, and may not be used again."
        ))),
        None => {
            // Used once without being saved: Stripe lets it be used only this once.
            method.spent = true;
            Ok(method.behavior)
        }
    }
}
