//! Refunds, bounded by what was captured and not yet refunded, and finding one by our refund
//! id.

use billing_core::ids::PaymentId;
use billing_core::ports::{GatewayError, GatewayRefund, RefundRequest, RefundStatus};

use crate::config::Operation;
use crate::state::{Reply, arithmetic};

use super::{SandboxGateway, amounts, invalid, key_reused};

pub(super) async fn refund(
    gateway: &SandboxGateway,
    request: &RefundRequest,
) -> Result<GatewayRefund, GatewayError> {
    let key = request.idempotency_key.as_str();
    let account = &request.account;
    let fingerprint = format!(
        "refund|{}|{}|{}|{}",
        request.payment_reference,
        request.refund,
        request.amount,
        request.reason.as_deref().unwrap_or_default()
    );
    gateway
        .serve(Operation::Refund, account, Some(key), |state, now| {
            match state.account(account).replay(key, &fingerprint, now)? {
                Some(Reply::Refund(answer)) => {
                    state.replayed = true;
                    return Ok(answer);
                }
                Some(_) => {
                    return Err(key_reused(
                        "This idempotency key was used for another kind of request.",
                    ));
                }
                None => {}
            }
            let intent = state
                .account(account)
                .intent(&request.payment_reference, now)?;
            if request.amount.currency() != intent.amount.currency() {
                return Err(invalid(format!(
                    "The refund is in {}, the payment in {}.",
                    request.amount.currency(),
                    intent.amount.currency()
                )));
            }
            amounts::check_part(&request.amount)?;
            if !intent.received.is_positive() {
                return Err(invalid(format!(
                    "This PaymentIntent ({}) does not have a successful charge to refund.",
                    intent.id
                )));
            }
            let left = intent
                .received
                .checked_sub(&intent.refunded().map_err(arithmetic)?)
                .map_err(arithmetic)?;
            if left.is_zero() {
                return Err(invalid(format!(
                    "Charge for {} has already been refunded.",
                    intent.id
                )));
            }
            if request
                .amount
                .checked_cmp(&left)
                .map_err(arithmetic)?
                .is_gt()
            {
                return Err(invalid(format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({left})",
                    request.amount
                )));
            }
            let answer = GatewayRefund {
                reference: state.new_id("re"),
                status: RefundStatus::Succeeded,
                amount: request.amount,
                refund: Some(request.refund.clone()),
            };
            let acct = state.account(account);
            acct.intent_mut(&request.payment_reference, now)?
                .refunds
                .push(answer.clone());
            acct.save(key, fingerprint.clone(), Reply::Refund(answer.clone()), now);
            Ok(answer)
        })
        .await
}

pub(super) async fn find_refund(
    gateway: &SandboxGateway,
    account: Option<String>,
    payment_reference: &str,
    refund: &PaymentId,
) -> Result<Option<GatewayRefund>, GatewayError> {
    gateway
        .serve(Operation::FindRefund, &account, None, |state, now| {
            let intent = state.account(&account).intent(payment_reference, now)?;
            Ok(intent
                .refunds
                .iter()
                .rev()
                .find(|r| r.refund.as_ref() == Some(refund))
                .cloned())
        })
        .await
}
