//! Refunds, bounded by what was captured, and finding one by our refund id.

use billing_core::ids::PaymentId;
use billing_core::ports::{GatewayError, GatewayRefund, RefundRequest, RefundStatus};

use crate::config::Operation;
use crate::state::{RefundRecord, Reply};

use super::{SandboxGateway, invalid};

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
            if let Some(Reply::Refund(answer)) =
                state.account(account).replay(key, &fingerprint, now)?
            {
                state.replayed = true;
                return Ok(answer);
            }
            let id = state.new_id("re");
            let acct = state.account(account);
            let intent = acct.intent_mut(&request.payment_reference, now)?;
            if request.amount.currency() != intent.amount.currency() {
                return Err(invalid(format!(
                    "The refund is in {}, the payment in {}.",
                    request.amount.currency(),
                    intent.amount.currency()
                )));
            }
            if !request.amount.is_positive() {
                return Err(invalid("This value must be greater than or equal to 1."));
            }
            let arithmetic = |e: billing_core::money::MoneyError| invalid(e.to_string());
            if !intent.received.is_positive() {
                return Err(invalid(format!(
                    "This PaymentIntent ({}) does not have a successful charge to refund.",
                    intent.id
                )));
            }
            let left = intent
                .received
                .checked_sub(&intent.refunded)
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
            intent.refunded = intent
                .refunded
                .checked_add(&request.amount)
                .map_err(arithmetic)?;
            let answer = GatewayRefund {
                reference: id,
                status: RefundStatus::Succeeded,
                amount: request.amount,
            };
            acct.refunds.push(RefundRecord {
                refund: request.refund.clone(),
                intent: request.payment_reference.clone(),
                answer: answer.clone(),
            });
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
            let acct = state.account(&account);
            acct.intent_mut(payment_reference, now)?;
            Ok(acct
                .refunds
                .iter()
                .rev()
                .find(|r| r.intent == payment_reference && &r.refund == refund)
                .map(|r| r.answer.clone()))
        })
        .await
}
