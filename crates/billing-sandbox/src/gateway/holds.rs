//! Capturing and canceling holds (and giving up payments that wait for the customer).

use billing_core::money::Money;
use billing_core::ports::{
    CancelRequest, CaptureRequest, GatewayError, GatewayPayment, GatewayStatus,
};

use crate::config::Operation;
use crate::state::{Reply, arithmetic, status_name};

use super::payments::payment_reply;
use super::{SandboxGateway, amounts, invalid};

pub(super) async fn capture(
    gateway: &SandboxGateway,
    request: &CaptureRequest,
) -> Result<GatewayPayment, GatewayError> {
    let key = request.idempotency_key.as_str();
    let account = &request.account;
    let base = gateway.challenge_base();
    let fingerprint = format!(
        "capture|{}|{}|{}|{}",
        request.payment_reference, request.capture, request.amount, request.final_capture
    );
    gateway.serve(Operation::Capture, account, Some(key), |state, now| {
        let acct = state.account(account);
        if let Some(reply) = acct.replay(key, &fingerprint, now)? {
            state.replayed = true;
            return payment_reply(reply);
        }
        let intent = acct.intent(&request.payment_reference, now)?;
        if intent.status != GatewayStatus::RequiresCapture {
            let why = match (&intent.status, intent.hold_expires_at) {
                (GatewayStatus::Expired, Some(at)) => format!(
                    " The hold expired at {} and was released.",
                    at.to_rfc3339()
                ),
                _ => String::new(),
            };
            return Err(invalid(format!(
                "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.{why}",
                status_name(&intent.status)
            )));
        }
        if request.amount.currency() != intent.amount.currency() {
            return Err(invalid(format!(
                "The capture is in {}, the hold in {}.",
                request.amount.currency(),
                intent.amount.currency()
            )));
        }
        amounts::check_part(&request.amount)?;
        if !request.final_capture && !intent.multicapture {
            return Err(invalid(
                "You cannot set `final_capture` to false because multicapture is not available for this PaymentIntent. Create it with `payment_method_options[card][request_multicapture]=if_available` and check that the charge's `payment_method_details.card.multicapture.status` is `available`.",
            ));
        }
        if request.amount.checked_cmp(&intent.capturable).map_err(arithmetic)?.is_gt() {
            return Err(invalid(format!(
                "The amount to capture ({}) cannot be greater than the amount capturable ({}) on this PaymentIntent.",
                request.amount, intent.capturable
            )));
        }
        let intent = acct.intent_mut(&request.payment_reference, now)?;
        intent.received = intent.received.checked_add(&request.amount).map_err(arithmetic)?;
        let left = intent.capturable.checked_sub(&request.amount).map_err(arithmetic)?;
        if request.final_capture || left.is_zero() {
            // A final capture releases whatever it did not take.
            intent.capturable = Money::zero(left.currency());
            intent.status = GatewayStatus::Succeeded;
        } else {
            intent.capturable = left;
        }
        let answer = intent.view(base);
        acct.save(key, fingerprint.clone(), Reply::Payment(answer.clone()), now);
        Ok(answer)
    })
    .await
}

pub(super) async fn cancel(
    gateway: &SandboxGateway,
    request: &CancelRequest,
) -> Result<GatewayPayment, GatewayError> {
    let key = request.idempotency_key.as_str();
    let account = &request.account;
    let base = gateway.challenge_base();
    let fingerprint = format!("cancel|{}", request.payment_reference);
    gateway.serve(Operation::Cancel, account, Some(key), |state, now| {
        let acct = state.account(account);
        if let Some(reply) = acct.replay(key, &fingerprint, now)? {
            state.replayed = true;
            return payment_reply(reply);
        }
        let intent = acct.intent(&request.payment_reference, now)?;
        let cancelable = matches!(
            intent.status,
            GatewayStatus::RequiresCapture
                | GatewayStatus::RequiresAction
                | GatewayStatus::Processing
                | GatewayStatus::Failed(_)
        );
        if !cancelable {
            return Err(invalid(format!(
                "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
                status_name(&intent.status)
            )));
        }
        let intent = acct.intent_mut(&request.payment_reference, now)?;
        // A hold captured in part keeps what was captured: Stripe closes it as succeeded.
        intent.status = if intent.received.is_positive() {
            GatewayStatus::Succeeded
        } else {
            GatewayStatus::Canceled
        };
        intent.capturable = Money::zero(intent.amount.currency());
        let answer = intent.view(base);
        acct.save(key, fingerprint.clone(), Reply::Payment(answer.clone()), now);
        Ok(answer)
    })
    .await
}
