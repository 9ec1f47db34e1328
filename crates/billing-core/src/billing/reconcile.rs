//! Settling payments whose gateway outcome is not known yet, from the gateway's own record, so
//! that every payment ends.
//!
//! A payment in flight is always looked up before anything is sent again: a charge or hold by
//! our id, a capture from its hold's record (what the gateway received), a refund by our id.
//! What the gateway has settles it. What it does not have is sent again under the same key —
//! only while the gateway still remembers the key, and never for a payment the customer made
//! on a page (they are no longer there): past that, the attempt never reached the gateway, and
//! it fails. A resend the gateway refuses outright ends the payment too.

use chrono::Duration;

use super::Billing;
use super::gateway_calls::{Answered, GatewayCall, captured, refund_moves};
use super::moves::{KeyFate, Move, not_recorded};
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, PaymentId};
use crate::money::Money;
use crate::payment::{Failure, KindName, Payment, PaymentEvent, PaymentState};
use crate::ports::{BookingFilter, CaptureRequest, GatewayError, GatewayPayment, GatewayStatus};
use crate::receipt::Receipt;
use crate::status::captures_of;

/// How long before the gateway forgets an idempotency key a payment stops being resent: a
/// resend that close to the end could reach the gateway after it forgot the first attempt,
/// and be made twice.
const WINDOW_MARGIN_HOURS: i64 = 1;

/// What the gateway's record says about an attempt, looked up without sending anything.
#[derive(Debug)]
pub(super) enum Looked {
    /// A charge or hold the gateway made, as it stands there.
    Payment(GatewayPayment),
    /// A capture or refund, settled from the record.
    Settled(Answered),
    /// The gateway has no record of the attempt.
    Absent,
}

impl Billing {
    /// Settles a pending payment from the gateway's record (or by sending the same request
    /// again under the same idempotency key when the gateway has none and still remembers the
    /// key: it makes it at most once). A settled payment is answered as it is. A gateway that
    /// cannot say leaves the payment pending (an error): reconciling never fails a payment by
    /// guessing. A link's payment that succeeds completes its link.
    pub async fn reconcile(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        self.reconcile_with_key(business, payment, None).await
    }

    /// [`Billing::reconcile`], completing the command's key with the settled answer.
    pub(super) async fn reconcile_with_key(
        &self,
        business: &Business,
        id: &PaymentId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, BillingError> {
        Ok(self.reconcile_answer(business, id, key).await?.0)
    }

    /// [`Billing::reconcile_with_key`], with what the gateway's answer alone carries (the
    /// next action of a payment waiting for its customer, the card charged).
    pub(super) async fn reconcile_answer(
        &self,
        business: &Business,
        id: &PaymentId,
        key: Option<&IdempotencyKey>,
    ) -> Result<(Receipt, Answered), BillingError> {
        let (bookings, ledgers) = self.ledgers_of(business, id).await?;
        let payment = ledgers.payment(id)?.clone();
        let asked = payment.state.is_in_flight();
        let answered = if asked {
            self.settle(business, &payment, &ledgers.payments).await?
        } else {
            Answered::default()
        };
        let recorded = self
            .record(
                business,
                ledgers,
                &bookings,
                &answered.moves,
                KeyFate::complete(key, id),
            )
            .await;
        // The gateway may have acted on a resend or a cancel: say so when recording failed.
        let receipt = match recorded {
            Err(error) if asked => Err(not_recorded(id)(error)),
            other => other,
        }?
        .receipt(id)?;
        self.complete_link_payment(business, &receipt.payment, answered.card.clone())
            .await?;
        Ok((receipt, answered))
    }

    /// The moves that settle one payment in flight, from the gateway's record, or by sending it
    /// again when the rules allow.
    async fn settle(
        &self,
        business: &Business,
        payment: &Payment,
        related: &[Payment],
    ) -> Result<Answered, BillingError> {
        let Some(call) = GatewayCall::of(business, payment, related)? else {
            return Ok(Answered::default());
        };
        let gateway_error = |error| BillingError::Gateway {
            payment: Some(payment.id.clone()),
            error,
        };
        match self
            .look(payment, &call, related)
            .await
            .map_err(gateway_error)?
        {
            Looked::Payment(found) => self
                .settle_found(business, payment, &found)
                .await
                .map_err(gateway_error),
            Looked::Settled(answered) => Ok(answered),
            Looked::Absent => self
                .settle_absent(payment, &call)
                .await
                .map_err(gateway_error),
        }
    }

    /// A charge or hold the gateway has: its status moves it; a link's payment whose customer
    /// has not authenticated within the policy's time is given up, so that the link can be
    /// paid again.
    async fn settle_found(
        &self,
        business: &Business,
        payment: &Payment,
        found: &GatewayPayment,
    ) -> Result<Answered, GatewayError> {
        let waited = self.now() - payment.updated_at;
        if payment.customer_present()
            && found.status == GatewayStatus::RequiresAction
            && waited >= self.policy.authentication_timeout
        {
            let request = GatewayCall::cancel(business, &payment.id, found.reference.clone());
            let answer = self.gateway.cancel(&request).await?;
            return self.payment_answer(payment, &answer);
        }
        self.payment_answer(payment, found)
    }

    /// An attempt the gateway has no record of.
    async fn settle_absent(
        &self,
        payment: &Payment,
        call: &GatewayCall,
    ) -> Result<Answered, GatewayError> {
        let age = self.now() - payment.created_at;
        let failed = |failure| {
            Answered::moves(vec![Move::plain(
                &payment.id,
                PaymentEvent::Failed(failure),
            )])
        };
        if payment.customer_present() {
            // Never resent: the customer who could authenticate is gone. The gateway's search
            // may lag behind a payment just made; past that, it never reached the gateway.
            return Ok(if age >= self.gateway.search_lag() {
                failed(Failure::not_at_gateway())
            } else {
                Answered::default()
            });
        }
        let window = self.gateway.idempotency_window() - Duration::hours(WINDOW_MARGIN_HOURS);
        if age >= window {
            return Ok(failed(Failure::not_at_gateway()));
        }
        match self.send(payment, call).await {
            Ok(answered) => Ok(answered),
            Err(error) if refused_outright(&error) => Ok(failed(Failure {
                code: error.code().to_owned(),
                decline_code: None,
                message: error.to_string(),
            })),
            Err(error) => Err(error),
        }
    }

    /// What the gateway's record says about an attempt, sending nothing.
    pub(super) async fn look(
        &self,
        payment: &Payment,
        call: &GatewayCall,
        related: &[Payment],
    ) -> Result<Looked, GatewayError> {
        Ok(match call {
            GatewayCall::Charge(request) | GatewayCall::Authorize(request) => match self
                .gateway
                .find_payment(request.account.clone(), &payment.id)
                .await?
            {
                Some(found) => Looked::Payment(found),
                None => Looked::Absent,
            },
            GatewayCall::Refund(request) => match self
                .gateway
                .find_refund(
                    request.account.clone(),
                    &request.payment_reference,
                    &payment.id,
                )
                .await?
            {
                Some(found) => Looked::Settled(Answered::moves(refund_moves(payment, &found))),
                None => Looked::Absent,
            },
            GatewayCall::Capture { request, hold } => {
                self.look_up_capture(payment, request, hold, related)
                    .await?
            }
        })
    }

    /// A capture, from its hold's record: the gateway received the captures recorded so far
    /// and this one (it happened), or only those recorded (it did not: sent again while the
    /// hold can still be captured, failed when the hold is gone). Anything else cannot be read
    /// without guessing: the capture stays pending.
    async fn look_up_capture(
        &self,
        capture: &Payment,
        request: &CaptureRequest,
        hold: &PaymentId,
        related: &[Payment],
    ) -> Result<Looked, GatewayError> {
        let record = self
            .gateway
            .payment_record(request.account.clone(), &request.payment_reference)
            .await?;
        let found = &record.payment;
        let unreadable = |what: &str| {
            GatewayError::UnknownOutcome(format!(
                "the hold's record cannot say whether capture {} happened: {what}",
                capture.id
            ))
        };
        let arithmetic = |e: crate::money::MoneyError| unreadable(&e.to_string());
        let recorded = Money::sum(
            capture.amount.currency(),
            captures_of(hold, related)
                .filter(|c| c.id != capture.id && c.state == PaymentState::Succeeded)
                .map(|c| &c.amount),
        )
        .map_err(arithmetic)?;
        let with_this = recorded.checked_add(&capture.amount).map_err(arithmetic)?;
        let received = found.amount_received;
        if received
            .checked_cmp(&with_this)
            .map_err(arithmetic)?
            .is_ge()
        {
            return Ok(Looked::Settled(Answered::moves(captured(
                &capture.id,
                hold,
                request.final_capture,
                found,
            ))));
        }
        if received != recorded {
            return Err(unreadable(&format!(
                "it received {received}, {recorded} were recorded before it"
            )));
        }
        let released = match found.status {
            GatewayStatus::RequiresCapture => return Ok(Looked::Absent),
            GatewayStatus::Canceled => PaymentEvent::Canceled,
            GatewayStatus::Expired => PaymentEvent::Expired,
            _ => return Err(unreadable("the hold is neither capturable nor released")),
        };
        let reference = Some(found.reference.clone());
        Ok(Looked::Settled(Answered::moves(vec![
            Move {
                gateway_reference: reference.clone(),
                ..Move::plain(&capture.id, PaymentEvent::Failed(Failure::hold_canceled()))
            },
            Move {
                gateway_reference: reference,
                ..Move::plain(hold, released)
            },
        ])))
    }

    /// Reconciles every payment of the business pending for longer than `older_than`, each
    /// with its own result. Open disputes are the bank's to decide: they are not reconciled.
    pub async fn reconcile_pending(
        &self,
        business: &Business,
        older_than: Duration,
    ) -> Result<Vec<(PaymentId, Result<Receipt, BillingError>)>, BillingError> {
        let cutoff = self.now() - older_than;
        let mut results: Vec<(PaymentId, Result<Receipt, BillingError>)> = Vec::new();
        let mut after = None;
        loop {
            let filter = BookingFilter {
                pending: Some(true),
                after: after.clone(),
                limit: 200,
                ..BookingFilter::default()
            };
            let page = self.store.list_summaries(&business.id, &filter).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.booking.clone());
            let ids: Vec<BookingId> = page.iter().map(|s| s.booking.clone()).collect();
            let ledgers = self.ledgers(business, &ids).await?;
            for payment in ledgers.payments.iter().filter(|p| {
                p.state.is_in_flight()
                    && p.kind.name() != KindName::Dispute
                    && p.created_at <= cutoff
            }) {
                if results.iter().any(|(id, _)| id == &payment.id) {
                    continue;
                }
                let result = self.reconcile(business, &payment.id).await;
                results.push((payment.id.clone(), result));
            }
        }
        Ok(results)
    }
}

/// A refusal that says the gateway will never make the request: it was malformed for the
/// gateway (a card detached, a hold closed) or names what it does not have. Rate limits and an
/// unreachable gateway say nothing of the kind.
fn refused_outright(error: &GatewayError) -> bool {
    matches!(
        error,
        GatewayError::InvalidRequest { .. } | GatewayError::NotFound(_)
    )
}
