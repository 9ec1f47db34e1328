//! What a payment record asks of the gateway — built in one place, from the record alone and the
//! payments it refers to, so that a resend is always exactly the first request (the gateway
//! refuses a key reused with other parameters) — and the moves the gateway's answers make.

use super::Billing;
use super::moves::Move;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::PaymentId;
use crate::payment::{Failure, Payment, PaymentEvent, PaymentKind, PaymentState, gateway_key};
use crate::ports::{
    CancelRequest, CaptureRequest, GatewayError, GatewayPayment, GatewayRefund, GatewayStatus,
    PaymentRequest, RefundRequest, RefundStatus,
};

/// The gateway request of a payment record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GatewayCall {
    /// A charge on a saved card, captured at once.
    Charge(PaymentRequest),
    /// A hold on a saved card.
    Authorize(PaymentRequest),
    /// A capture of part or all of a hold.
    Capture {
        /// The request.
        request: CaptureRequest,
        /// Our hold.
        hold: PaymentId,
    },
    /// A refund of a payment.
    Refund(RefundRequest),
}

/// The gateway reference of a payment the record refers to, or why there is none.
fn reference_of(related: &[Payment], id: &PaymentId) -> Result<String, BillingError> {
    related
        .iter()
        .find(|p| &p.id == id)
        .and_then(|p| p.gateway_reference.clone())
        .ok_or_else(|| BillingError::Inconsistent(format!("payment {id} has no gateway reference")))
}

impl GatewayCall {
    /// What `payment` asks of the gateway, `None` for what never goes there (a collection, a
    /// refund of one). `related` holds the payments it refers to (a capture's hold, a
    /// refund's payment).
    pub(super) fn of(
        business: &Business,
        payment: &Payment,
        related: &[Payment],
    ) -> Result<Option<GatewayCall>, BillingError> {
        let account = business.gateway_account.clone();
        let card_request = |card: &crate::payment::CardRef| PaymentRequest {
            account: account.clone(),
            payment: payment.id.clone(),
            idempotency_key: payment.gateway_idempotency_key(),
            card: card.clone(),
            amount: payment.amount,
            description: payment.gateway_description(),
        };
        Ok(Some(match &payment.kind {
            PaymentKind::Charge { card } => GatewayCall::Charge(card_request(card)),
            PaymentKind::Authorization { card } => GatewayCall::Authorize(card_request(card)),
            PaymentKind::Capture {
                authorization,
                final_capture,
            } => GatewayCall::Capture {
                request: CaptureRequest {
                    account,
                    payment_reference: reference_of(related, authorization)?,
                    capture: payment.id.clone(),
                    idempotency_key: payment.gateway_idempotency_key(),
                    amount: payment.amount,
                    final_capture: *final_capture,
                },
                hold: authorization.clone(),
            },
            PaymentKind::Refund { of, reason } => {
                let refunded = related.iter().find(|p| &p.id == of);
                if refunded.is_some_and(|p| matches!(p.kind, PaymentKind::Collection { .. })) {
                    return Ok(None);
                }
                GatewayCall::Refund(RefundRequest {
                    account,
                    payment_reference: reference_of(related, of)?,
                    refund: payment.id.clone(),
                    idempotency_key: payment.gateway_idempotency_key(),
                    amount: payment.amount,
                    reason: reason.clone(),
                })
            }
            PaymentKind::Collection { .. } => return Ok(None),
        }))
    }

    /// The release of a hold.
    pub(super) fn cancel(
        business: &Business,
        hold: &PaymentId,
        reference: String,
    ) -> CancelRequest {
        CancelRequest {
            account: business.gateway_account.clone(),
            payment_reference: reference,
            idempotency_key: gateway_key(hold, "cancel"),
        }
    }
}

impl Billing {
    /// Sends a payment's request and reads the moves its answer makes.
    pub(super) async fn send(
        &self,
        payment: &Payment,
        call: &GatewayCall,
    ) -> Result<Vec<Move>, GatewayError> {
        match call {
            GatewayCall::Charge(request) => {
                let answer = self.gateway.charge(request).await?;
                self.payment_moves(payment, &answer)
            }
            GatewayCall::Authorize(request) => {
                let answer = self.gateway.authorize(request).await?;
                self.payment_moves(payment, &answer)
            }
            GatewayCall::Capture { request, hold } => {
                let answer = self.gateway.capture(request).await?;
                Ok(capture_moves(payment, hold, request.final_capture, &answer))
            }
            GatewayCall::Refund(request) => {
                let answer = self.gateway.refund(request).await?;
                Ok(refund_moves(payment, &answer))
            }
        }
    }

    /// What the gateway's own record of a payment's attempt says, when it keeps one that can
    /// be looked up: `Ok(None)` when it has none (or it cannot be looked up), so the request
    /// may be sent again under the same key.
    pub(super) async fn look_up(
        &self,
        payment: &Payment,
        call: &GatewayCall,
    ) -> Result<Option<Vec<Move>>, GatewayError> {
        match call {
            GatewayCall::Charge(request) | GatewayCall::Authorize(request) => {
                match self
                    .gateway
                    .find_payment(request.account.clone(), &payment.id)
                    .await?
                {
                    Some(found) => self.payment_moves(payment, &found).map(Some),
                    None => Ok(None),
                }
            }
            GatewayCall::Refund(request) => Ok(self
                .gateway
                .find_refund(
                    request.account.clone(),
                    &request.payment_reference,
                    &payment.id,
                )
                .await?
                .map(|found| refund_moves(payment, &found))),
            GatewayCall::Capture { .. } => Ok(None),
        }
    }

    /// The moves a gateway's answer about a charge or hold makes, checking that it answers
    /// about the amount asked.
    pub(super) fn payment_moves(
        &self,
        payment: &Payment,
        answer: &GatewayPayment,
    ) -> Result<Vec<Move>, GatewayError> {
        if answer.amount != payment.amount {
            return Err(GatewayError::UnknownOutcome(format!(
                "gateway answered for {}, {} was asked",
                answer.amount, payment.amount
            )));
        }
        let hold = matches!(payment.kind, PaymentKind::Authorization { .. });
        let event = match (&answer.status, hold) {
            (GatewayStatus::Succeeded, false) => Some(PaymentEvent::Succeeded),
            (GatewayStatus::RequiresCapture, true) => Some(PaymentEvent::HoldPlaced),
            (GatewayStatus::RequiresAction, _) if payment.state != PaymentState::RequiresAction => {
                Some(PaymentEvent::ActionRequired)
            }
            (GatewayStatus::Failed(failure), _) => Some(PaymentEvent::Failed(failure.clone())),
            (GatewayStatus::Canceled, _) => Some(PaymentEvent::Canceled),
            _ => None,
        };
        let hold_expires_at = hold.then(|| {
            answer
                .hold_expires_at
                .unwrap_or_else(|| self.now() + self.policy.default_hold)
        });
        Ok(event
            .map(|event| Move {
                payment: payment.id.clone(),
                event,
                gateway_reference: Some(answer.reference.clone()),
                hold_expires_at,
            })
            .into_iter()
            .collect())
    }
}

/// The moves a capture's answer makes: the capture succeeds and its hold is captured in part
/// or closed.
pub(super) fn capture_moves(
    capture: &Payment,
    hold: &PaymentId,
    final_capture: bool,
    answer: &GatewayPayment,
) -> Vec<Move> {
    let reference = Some(answer.reference.clone());
    let on_capture = |event| Move {
        payment: capture.id.clone(),
        event,
        gateway_reference: reference.clone(),
        hold_expires_at: None,
    };
    match &answer.status {
        GatewayStatus::Succeeded | GatewayStatus::RequiresCapture => vec![
            on_capture(PaymentEvent::Succeeded),
            Move {
                payment: hold.clone(),
                event: if final_capture {
                    PaymentEvent::CaptureClosed
                } else {
                    PaymentEvent::PartlyCaptured
                },
                gateway_reference: reference.clone(),
                hold_expires_at: None,
            },
        ],
        GatewayStatus::Failed(failure) => vec![on_capture(PaymentEvent::Failed(failure.clone()))],
        GatewayStatus::Canceled => vec![on_capture(PaymentEvent::Failed(Failure {
            code: "hold_canceled".into(),
            decline_code: None,
            message: "The hold was released before it could be captured.".into(),
        }))],
        GatewayStatus::RequiresAction | GatewayStatus::Processing => Vec::new(),
    }
}

/// The moves a refund's answer makes.
pub(super) fn refund_moves(refund: &Payment, answer: &GatewayRefund) -> Vec<Move> {
    let event = match &answer.status {
        RefundStatus::Succeeded => PaymentEvent::Succeeded,
        RefundStatus::Failed(failure) => PaymentEvent::Failed(failure.clone()),
        RefundStatus::Pending => return Vec::new(),
    };
    vec![Move {
        payment: refund.id.clone(),
        event,
        gateway_reference: Some(answer.reference.clone()),
        hold_expires_at: None,
    }]
}
