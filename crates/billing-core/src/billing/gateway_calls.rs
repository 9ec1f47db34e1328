//! What a payment record asks of the gateway — built in one place, from the record alone and the
//! payments it refers to, so that a resend is always exactly the first request (the gateway
//! refuses a key reused with other parameters) — and the moves the gateway's answers make.

use super::Billing;
use super::moves::Move;
use crate::customer::{Business, SavedCard};
use crate::error::BillingError;
use crate::ids::PaymentId;
use crate::payment::{Failure, Payment, PaymentEvent, PaymentKind, PaymentState, gateway_key};
use crate::ports::{
    CancelRequest, CaptureRequest, GatewayError, GatewayPayment, GatewayRefund, GatewayStatus,
    NextAction, PaymentRequest, Presence, RefundRequest, RefundStatus,
};

/// The gateway request of a payment record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GatewayCall {
    /// A charge on a card, captured at once.
    Charge(PaymentRequest),
    /// A hold on a card.
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

/// What a gateway's answer says about a payment: the moves it makes, and what only the answer
/// carries (never stored): the next action for the customer's page, the card charged.
#[derive(Debug, Clone, Default)]
pub(super) struct Answered {
    pub(super) moves: Vec<Move>,
    pub(super) next_action: Option<NextAction>,
    pub(super) card: Option<SavedCard>,
}

impl Answered {
    /// An answer that makes these moves and says nothing else.
    pub(super) fn moves(moves: Vec<Move>) -> Answered {
        Answered {
            moves,
            ..Answered::default()
        }
    }
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
    /// refund of one, a dispute). `related` holds the payments it refers to (a capture's hold,
    /// a refund's payment). Charges and holds are built off-session: a customer-present
    /// payment is sent once, by its page ([`GatewayCall::on_session`]), and never resent.
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
            presence: Presence::OffSession,
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
            PaymentKind::Collection { .. } | PaymentKind::Dispute { .. } => return Ok(None),
        }))
    }

    /// The same charge or hold made with the customer there to authenticate.
    pub(super) fn on_session(self, return_url: String, save_card: bool) -> GatewayCall {
        let presence = Presence::OnSession {
            return_url,
            save_card,
        };
        match self {
            GatewayCall::Charge(request) => GatewayCall::Charge(PaymentRequest {
                presence,
                ..request
            }),
            GatewayCall::Authorize(request) => GatewayCall::Authorize(PaymentRequest {
                presence,
                ..request
            }),
            other => other,
        }
    }

    /// The release of a hold, or the end of an attempt that waits for the customer.
    pub(super) fn cancel(
        business: &Business,
        payment: &PaymentId,
        reference: String,
    ) -> CancelRequest {
        CancelRequest {
            account: business.gateway_account.clone(),
            payment_reference: reference,
            idempotency_key: gateway_key(payment, "cancel"),
        }
    }
}

impl Billing {
    /// Sends a payment's request and reads the moves its answer makes.
    pub(super) async fn send(
        &self,
        payment: &Payment,
        call: &GatewayCall,
    ) -> Result<Answered, GatewayError> {
        match call {
            GatewayCall::Charge(request) => {
                let answer = self.gateway.charge(request).await?;
                self.payment_answer(payment, &answer)
            }
            GatewayCall::Authorize(request) => {
                let answer = self.gateway.authorize(request).await?;
                self.payment_answer(payment, &answer)
            }
            GatewayCall::Capture { request, hold } => {
                let answer = self.gateway.capture(request).await?;
                Ok(Answered::moves(capture_moves(
                    payment,
                    hold,
                    request.final_capture,
                    &answer,
                )))
            }
            GatewayCall::Refund(request) => {
                let answer = self.gateway.refund(request).await?;
                Ok(Answered::moves(refund_moves(payment, &answer)))
            }
        }
    }

    /// [`Billing::payment_moves`], with what only the answer carries.
    pub(super) fn payment_answer(
        &self,
        payment: &Payment,
        answer: &GatewayPayment,
    ) -> Result<Answered, GatewayError> {
        Ok(Answered {
            moves: self.payment_moves(payment, answer)?,
            next_action: answer.next_action.clone(),
            card: answer.card.clone(),
        })
    }

    /// The moves a gateway's answer about a charge or hold makes, checking that it answers
    /// about the amount asked. A card that asks for authentication while the customer is away
    /// is a failed attempt: nobody can authenticate, so waiting would block the booking.
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
        let placing = matches!(
            payment.state,
            PaymentState::Pending | PaymentState::RequiresAction
        );
        let event = match (&answer.status, hold) {
            (GatewayStatus::Succeeded, false) => Some(PaymentEvent::Succeeded),
            (GatewayStatus::RequiresCapture, true) => Some(PaymentEvent::HoldPlaced),
            // Captured at the gateway before the hold was recorded: it was placed first; what
            // was captured is brought in by the gateway's record (`sync_payment`).
            (GatewayStatus::Succeeded, true) if placing => Some(PaymentEvent::HoldPlaced),
            (GatewayStatus::RequiresAction, _) if !payment.customer_present() => {
                Some(PaymentEvent::Failed(Failure::authentication_required()))
            }
            (GatewayStatus::RequiresAction, _) if payment.state != PaymentState::RequiresAction => {
                Some(PaymentEvent::ActionRequired)
            }
            (GatewayStatus::Failed(failure), _) => Some(PaymentEvent::Failed(failure.clone())),
            (GatewayStatus::Canceled, _) => Some(PaymentEvent::Canceled),
            (GatewayStatus::Expired, true) => Some(PaymentEvent::Expired),
            _ => None,
        };
        let hold_expires_at = hold.then(|| {
            answer
                .hold_expires_at
                .unwrap_or_else(|| self.now() + self.policy.default_hold)
        });
        Ok(event
            .map(|event| Move {
                multicapture: (event == PaymentEvent::HoldPlaced).then_some(answer.multicapture),
                payment: payment.id.clone(),
                event,
                gateway_reference: Some(answer.reference.clone()),
                hold_expires_at,
            })
            .into_iter()
            .collect())
    }
}

/// The hold's move when a capture of it happened: closed, unless the gateway keeps the rest
/// capturable (a non-final capture of a multicapture hold).
pub(super) fn captured_hold_event(final_capture: bool, status: &GatewayStatus) -> PaymentEvent {
    if !final_capture && *status == GatewayStatus::RequiresCapture {
        PaymentEvent::PartlyCaptured
    } else {
        PaymentEvent::CaptureClosed
    }
}

/// The moves of a capture that happened: it succeeds, and its hold is captured in part or
/// closed, as the gateway's status of the hold says.
pub(super) fn captured(
    capture: &PaymentId,
    hold: &PaymentId,
    final_capture: bool,
    answer: &GatewayPayment,
) -> Vec<Move> {
    let reference = Some(answer.reference.clone());
    vec![
        Move {
            gateway_reference: reference.clone(),
            ..Move::plain(capture, PaymentEvent::Succeeded)
        },
        Move {
            gateway_reference: reference,
            ..Move::plain(hold, captured_hold_event(final_capture, &answer.status))
        },
    ]
}

/// The moves a capture's answer makes: the capture succeeds and its hold is captured in part
/// or closed.
pub(super) fn capture_moves(
    capture: &Payment,
    hold: &PaymentId,
    final_capture: bool,
    answer: &GatewayPayment,
) -> Vec<Move> {
    let failed = |failure: Failure| {
        vec![Move {
            gateway_reference: Some(answer.reference.clone()),
            ..Move::plain(&capture.id, PaymentEvent::Failed(failure))
        }]
    };
    match &answer.status {
        GatewayStatus::Succeeded | GatewayStatus::RequiresCapture => {
            captured(&capture.id, hold, final_capture, answer)
        }
        GatewayStatus::Failed(failure) => failed(failure.clone()),
        GatewayStatus::Canceled | GatewayStatus::Expired => failed(Failure::hold_canceled()),
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
        gateway_reference: Some(answer.reference.clone()),
        ..Move::plain(&refund.id, event)
    }]
}
