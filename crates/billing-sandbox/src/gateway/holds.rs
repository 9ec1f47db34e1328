//! Capturing and canceling holds.

use billing_core::money::Money;
use billing_core::ports::{
    CancelRequest, CaptureRequest, GatewayError, GatewayPayment, GatewayStatus,
};

use crate::config::Operation;
use crate::state::{Reply, status_name};

use super::{SandboxGateway, invalid};

pub(super) async fn capture(
    gateway: &SandboxGateway,
    request: &CaptureRequest,
) -> Result<GatewayPayment, GatewayError> {
    let key = request.idempotency_key.as_str();
    let account = &request.account;
    let fingerprint = format!(
        "capture|{}|{}|{}|{}",
        request.payment_reference, request.capture, request.amount, request.final_capture
    );
    gateway.serve(Operation::Capture, account, Some(key), |state, now| {
        if let Some(Reply::Payment(answer)) = state.account(account).replay(key, &fingerprint, now)? {
            state.replayed = true;
            return Ok(answer);
        }
        let acct = state.account(account);
        let intent = acct.intent_mut(&request.payment_reference, now)?;
        if intent.status != GatewayStatus::RequiresCapture {
            let why = if intent.expired(now) {
                format!(
                    " The hold expired at {} and was released.",
                    intent.hold_expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                )
            } else {
                String::new()
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
        if !request.amount.is_positive() {
            return Err(invalid("This value must be greater than or equal to 1."));
        }
        if request.amount.checked_cmp(&intent.capturable).map_err(|e| invalid(e.to_string()))?.is_gt() {
            return Err(invalid(format!(
                "The amount to capture ({}) cannot be greater than the amount capturable ({}) on this PaymentIntent.",
                request.amount, intent.capturable
            )));
        }
        let arithmetic = |e: billing_core::money::MoneyError| invalid(e.to_string());
        intent.received = intent.received.checked_add(&request.amount).map_err(arithmetic)?;
        let left = intent.capturable.checked_sub(&request.amount).map_err(arithmetic)?;
        if request.final_capture || left.is_zero() {
            // A final capture releases whatever it did not take.
            intent.capturable = Money::zero(left.currency());
            intent.status = GatewayStatus::Succeeded;
        } else {
            intent.capturable = left;
        }
        let answer = intent.view();
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
    let fingerprint = format!("cancel|{}", request.payment_reference);
    gateway.serve(Operation::Cancel, account, Some(key), |state, now| {
        if let Some(Reply::Payment(answer)) = state.account(account).replay(key, &fingerprint, now)? {
            state.replayed = true;
            return Ok(answer);
        }
        let acct = state.account(account);
        let intent = acct.intent_mut(&request.payment_reference, now)?;
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
        intent.status = GatewayStatus::Canceled;
        intent.capturable = Money::zero(intent.amount.currency());
        let answer = intent.view();
        acct.save(key, fingerprint.clone(), Reply::Payment(answer.clone()), now);
        Ok(answer)
    })
    .await
}
