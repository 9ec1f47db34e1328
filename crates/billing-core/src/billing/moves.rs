//! The machinery every money-moving command shares: open a payment under lock, record the
//! gateway's outcome, replay an idempotent command, reconcile a pending payment.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Billing;
use super::reads::Receipt;
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BookingId, PaymentId};
use crate::money::Money;
use crate::payment::{
    Allocation, Change, Entry, Failure, Opening, Payment, PaymentEvent, PaymentKind, PaymentState,
    fold, gateway_key,
};
use crate::ports::{
    CaptureRequest, CustomerDirectory, GatewayError, GatewayPayment, GatewayRefund, GatewayStatus,
    IdempotencyRecord, Ledger, LedgerError, LedgerTx, PaymentGateway, PaymentRequest,
    RefundRequest, RefundStatus,
};
use crate::status::{BookingSummary, summarize};

/// Bookings locked in a transaction, with their payments folded and their summaries.
pub(super) struct Locked {
    pub(super) accounts: BTreeMap<BookingId, crate::booking::BookingAccount>,
    pub(super) payments: Vec<Payment>,
    pub(super) summaries: BTreeMap<BookingId, BookingSummary>,
}

impl Locked {
    pub(super) fn from_ledgers(
        ledgers: Vec<crate::ports::BookingLedger>,
        now: DateTime<Utc>,
    ) -> Result<Self, BillingError> {
        let mut entries = Vec::new();
        let mut accounts = BTreeMap::new();
        for ledger in ledgers {
            entries.extend(ledger.entries);
            accounts.insert(ledger.account.id.clone(), ledger.account);
        }
        let payments = fold(&entries)?;
        let mut summaries = BTreeMap::new();
        for (id, account) in &accounts {
            summaries.insert(id.clone(), summarize(account, &payments, now)?);
        }
        Ok(Locked {
            accounts,
            payments,
            summaries,
        })
    }

    pub(super) fn summary(&self, booking: &BookingId) -> Result<&BookingSummary, BillingError> {
        self.summaries
            .get(booking)
            .ok_or_else(|| BillingError::BookingNotFound(booking.clone()))
    }

    pub(super) fn payment(&self, id: &PaymentId) -> Result<&Payment, BillingError> {
        self.payments
            .iter()
            .find(|p| &p.id == id)
            .ok_or_else(|| BillingError::PaymentNotFound(id.clone()))
    }

    /// The receipt of one payment, from what the transaction holds (no second read).
    pub(super) fn receipt(
        &self,
        id: &PaymentId,
        now: DateTime<Utc>,
    ) -> Result<Receipt, BillingError> {
        let payment = self.payment(id)?.clone();
        let bookings = self.resummarize(&payment.bookings(), now)?;
        Ok(Receipt {
            payment,
            bookings,
            replayed: false,
            first_response: None,
            related: self.payments.clone(),
        })
    }

    /// Summaries of the given bookings, recomputed over the current payments.
    fn resummarize(
        &self,
        bookings: &[BookingId],
        now: DateTime<Utc>,
    ) -> Result<Vec<BookingSummary>, BillingError> {
        bookings
            .iter()
            .filter_map(|b| self.accounts.get(b))
            .map(|account| summarize(account, &self.payments, now).map_err(BillingError::from))
            .collect()
    }
}

/// A move of one payment record, decided from a gateway's answer.
#[derive(Debug, Clone)]
pub(super) struct Move {
    pub(super) payment: PaymentId,
    pub(super) event: PaymentEvent,
    pub(super) gateway_reference: Option<String>,
    pub(super) hold_expires_at: Option<DateTime<Utc>>,
}

/// What happens to the command's idempotency key when the outcome is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyFate {
    Complete,
    Release,
}

/// What [`Billing::open`] found.
pub(super) enum Opened<T> {
    /// A new payment, opened and committed, with what the command's decision carried along.
    New(Payment, T),
    /// The key was already used: the earlier command's record.
    Replay(IdempotencyRecord),
}

impl<S, G> Billing<S, G>
where
    S: Ledger + CustomerDirectory,
    G: PaymentGateway,
{
    /// Step 1 of every money-moving command: under lock, claim the key, let `decide` check the
    /// rules and shape the payment, and open it. A refusal by `decide` writes nothing.
    pub(super) async fn open<T, F>(
        &self,
        business: &Business,
        bookings: &[BookingId],
        key: Option<&IdempotencyKey>,
        fingerprint: &Fingerprint,
        decide: F,
    ) -> Result<Opened<T>, BillingError>
    where
        F: FnOnce(&Locked, &PaymentId) -> Result<(Opening, T), BillingError> + Send,
        T: Send,
    {
        let now = self.now();
        let mut tx = self.store.begin(&business.id).await?;
        let locked = Locked::from_ledgers(tx.lock(bookings).await?, now)?;
        for booking in bookings {
            locked.summary(booking)?;
        }
        let id = self.ids.payment_id();
        if let Some(key) = key {
            let record = IdempotencyRecord {
                key: key.clone(),
                fingerprint: fingerprint.clone(),
                payment: id.clone(),
                completed: false,
                created_at: now,
                response: None,
            };
            if let Some(existing) = tx.claim(&record).await? {
                return Ok(Opened::Replay(existing));
            }
        }
        let (opening, carried) = decide(&locked, &id)?;
        let allocated = Money::sum(
            opening.amount.currency(),
            opening.allocations.iter().map(|a| &a.amount),
        )?;
        if allocated != opening.amount {
            return Err(BillingError::Inconsistent(format!(
                "allocations add up to {allocated}, not {}",
                opening.amount
            )));
        }
        let touched: Vec<BookingId> = opening
            .allocations
            .iter()
            .map(|a| a.booking.clone())
            .collect();
        let entry = Entry {
            payment: id.clone(),
            seq: 0,
            bookings: touched.clone(),
            at: now,
            gateway_reference: None,
            hold_expires_at: None,
            change: Change::Opened(Box::new(opening)),
        };
        let mut after = locked;
        let mut opened = fold(std::slice::from_ref(&entry))?;
        let payment = opened
            .pop()
            .ok_or_else(|| BillingError::Inconsistent("empty fold".into()))?;
        after.payments.push(payment.clone());
        let summaries = after.resummarize(&touched, now)?;
        tx.append(std::slice::from_ref(&entry), &summaries).await?;
        if let Some(key) = key
            && payment.state.is_terminal()
        {
            tx.complete(key).await?;
        }
        tx.commit().await?;
        Ok(Opened::New(payment, carried))
    }

    /// Records moves under lock. A move that its record can no longer take (a webhook or the
    /// reconciler settled it first) is skipped: settling is idempotent.
    pub(super) async fn apply_moves(
        &self,
        business: &Business,
        bookings: &[BookingId],
        moves: &[Move],
        key: Option<(&IdempotencyKey, KeyFate)>,
    ) -> Result<Locked, BillingError> {
        // A concurrent settle of the same record makes the (payment, seq) insert conflict:
        // reload and try again, once is enough for the other writer to have finished.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.try_apply_moves(business, bookings, moves, key).await {
                Err(BillingError::Ledger(LedgerError::Conflict(_))) if attempts < 3 => continue,
                other => return other,
            }
        }
    }

    async fn try_apply_moves(
        &self,
        business: &Business,
        bookings: &[BookingId],
        moves: &[Move],
        key: Option<(&IdempotencyKey, KeyFate)>,
    ) -> Result<Locked, BillingError> {
        let now = self.now();
        let mut tx = self.store.begin(&business.id).await?;
        let mut locked = Locked::from_ledgers(tx.lock(bookings).await?, now)?;
        let mut entries = Vec::new();
        for step in moves {
            let Some(payment) = locked.payments.iter_mut().find(|p| p.id == step.payment) else {
                return Err(BillingError::PaymentNotFound(step.payment.clone()));
            };
            let Ok(entry) = payment.move_entry(
                step.event.clone(),
                now,
                step.gateway_reference.clone(),
                step.hold_expires_at,
            ) else {
                continue;
            };
            payment.apply(&entry)?;
            entries.push(entry);
        }
        if !entries.is_empty() {
            let summaries = locked.resummarize(bookings, now)?;
            tx.append(&entries, &summaries).await?;
        }
        match key {
            Some((key, KeyFate::Complete)) => tx.complete(key).await?,
            Some((key, KeyFate::Release)) => tx.release(key).await?,
            None => {}
        }
        tx.commit().await?;
        Ok(locked)
    }

    /// Step 3: records what the gateway answered and turns it into the command's result.
    pub(super) async fn finish(
        &self,
        business: &Business,
        payment: &Payment,
        key: Option<&IdempotencyKey>,
        answer: Result<Vec<Move>, GatewayError>,
    ) -> Result<Receipt, BillingError> {
        let bookings = payment.bookings();
        match answer {
            Ok(moves) => {
                let receipt = self
                    .apply_moves(
                        business,
                        &bookings,
                        &moves,
                        key.map(|k| (k, KeyFate::Complete)),
                    )
                    .await?
                    .receipt(&payment.id, self.now())?;
                self.outcome(receipt)
            }
            Err(error) if error.nothing_done() => {
                let failed = Move {
                    payment: payment.id.clone(),
                    event: PaymentEvent::Failed(Failure {
                        code: error.code().to_owned(),
                        decline_code: None,
                        message: error.to_string(),
                    }),
                    gateway_reference: None,
                    hold_expires_at: None,
                };
                self.apply_moves(
                    business,
                    &bookings,
                    &[failed],
                    key.map(|k| (k, KeyFate::Release)),
                )
                .await?;
                Err(BillingError::Gateway {
                    payment: Some(payment.id.clone()),
                    error,
                })
            }
            Err(_unknown) => {
                // The gateway may have acted: the payment stays pending, counted as in flight,
                // until the reconciler reads the gateway's record.
                self.apply_moves(
                    business,
                    &bookings,
                    &[],
                    key.map(|k| (k, KeyFate::Complete)),
                )
                .await?
                .receipt(&payment.id, self.now())
            }
        }
    }

    /// A payment that failed is the command's error; anything else is its receipt.
    pub(super) fn outcome(&self, receipt: Receipt) -> Result<Receipt, BillingError> {
        match &receipt.payment.state {
            PaymentState::Failed(failure) => Err(BillingError::Declined {
                payment: receipt.payment.id.clone(),
                failure: failure.clone(),
            }),
            _ => Ok(receipt),
        }
    }

    /// Answers a command whose key was used before: the same request gets the first result
    /// (settled from the gateway if it was left pending); another request is refused.
    ///
    /// When the adapter saved its first answer (the record is completed and has a response),
    /// the receipt carries it in [`Receipt::first_response`] and is returned as it is, whatever
    /// the payment's state: a stored decline is handed back too, not turned into
    /// [`BillingError::Declined`], so that the adapter can answer the stored problem. Nothing
    /// is reconciled then: only a settled outcome's answer is stored.
    pub(super) async fn replay(
        &self,
        business: &Business,
        record: IdempotencyRecord,
        fingerprint: &Fingerprint,
    ) -> Result<Receipt, BillingError> {
        if &record.fingerprint != fingerprint {
            return Err(BillingError::IdempotencyKeyReused(record.key));
        }
        if !record.completed && self.now() - record.created_at < self.policy.in_progress_timeout {
            return Err(BillingError::RequestInProgress(record.key));
        }
        if record.completed
            && let Some(response) = record.response
        {
            let mut receipt = self.receipt(business, &record.payment).await?;
            receipt.replayed = true;
            receipt.first_response = Some(response);
            return Ok(receipt);
        }
        let mut receipt = self.receipt(business, &record.payment).await?;
        if receipt.payment.state.is_in_flight() {
            receipt = self
                .reconcile_with_key(business, &record.payment, Some(&record.key))
                .await?;
        } else if !record.completed {
            self.apply_moves(
                business,
                &receipt.payment.bookings(),
                &[],
                Some((&record.key, KeyFate::Complete)),
            )
            .await?;
        }
        receipt.replayed = true;
        self.outcome(receipt)
    }

    /// Settles a pending payment from the gateway's record of it. When the gateway has no
    /// record, the request is sent again under the same idempotency key: the gateway makes it
    /// at most once, whatever happened to the first attempt.
    pub(super) async fn reconcile_with_key(
        &self,
        business: &Business,
        payment_id: &PaymentId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, BillingError> {
        let receipt = self.receipt(business, payment_id).await?;
        let payment = &receipt.payment;
        if !payment.state.is_in_flight() {
            return Ok(receipt);
        }
        let account = business.gateway_account.clone();
        let moves = match &payment.kind {
            PaymentKind::Charge { card } | PaymentKind::Authorization { card } => {
                let found = self
                    .gateway
                    .find_payment(account.clone(), &payment.id)
                    .await;
                let answer = match found {
                    Ok(Some(found)) => Ok(found),
                    Ok(None) => {
                        let request = PaymentRequest {
                            account: business.gateway_account.clone(),
                            payment: payment.id.clone(),
                            idempotency_key: payment.gateway_idempotency_key(),
                            card: card.clone(),
                            amount: payment.amount,
                            // The very same request: the gateway refuses a key reused with
                            // other parameters.
                            description: payment.gateway_description(),
                        };
                        if matches!(payment.kind, PaymentKind::Charge { .. }) {
                            self.gateway.charge(&request).await
                        } else {
                            self.gateway.authorize(&request).await
                        }
                    }
                    Err(error) => Err(error),
                };
                answer.and_then(|found| self.payment_moves(payment, &found))
            }
            PaymentKind::Capture {
                authorization,
                final_capture,
            } => {
                let hold = receipt.related.iter().find(|p| &p.id == authorization);
                let reference =
                    hold.and_then(|h| h.gateway_reference.clone())
                        .ok_or_else(|| {
                            BillingError::Inconsistent(format!(
                                "hold {authorization} has no gateway reference"
                            ))
                        })?;
                let request = CaptureRequest {
                    account: business.gateway_account.clone(),
                    payment_reference: reference,
                    capture: payment.id.clone(),
                    idempotency_key: payment.gateway_idempotency_key(),
                    amount: payment.amount,
                    final_capture: *final_capture,
                };
                self.gateway
                    .capture(&request)
                    .await
                    .map(|answer| capture_moves(payment, authorization, *final_capture, &answer))
            }
            PaymentKind::Refund { of, reason } => {
                let target = receipt.related.iter().find(|p| &p.id == of);
                let reference = target
                    .and_then(|t| t.gateway_reference.clone())
                    .ok_or_else(|| {
                        BillingError::Inconsistent(format!("payment {of} has no gateway reference"))
                    })?;
                let answer = match self
                    .gateway
                    .find_refund(account, &reference, &payment.id)
                    .await
                {
                    Ok(Some(found)) => Ok(found),
                    Ok(None) => {
                        let request = RefundRequest {
                            account: business.gateway_account.clone(),
                            payment_reference: reference,
                            refund: payment.id.clone(),
                            idempotency_key: payment.gateway_idempotency_key(),
                            amount: payment.amount,
                            reason: reason.clone(),
                        };
                        self.gateway.refund(&request).await
                    }
                    Err(error) => Err(error),
                };
                answer.map(|found| refund_moves(payment, &found))
            }
            PaymentKind::Collection { .. } => Ok(Vec::new()),
        };
        match moves {
            Ok(moves) => self
                .apply_moves(
                    business,
                    &payment.bookings(),
                    &moves,
                    key.map(|k| (k, KeyFate::Complete)),
                )
                .await?
                .receipt(payment_id, self.now()),
            // Reconciling never fails a payment on a gateway error: it stays pending.
            Err(error) => Err(BillingError::Gateway {
                payment: Some(payment.id.clone()),
                error,
            }),
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
        let hold_expires_at = if hold {
            answer
                .hold_expires_at
                .or_else(|| Some(self.now() + self.policy.default_hold))
        } else {
            None
        };
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

    /// The payment's allocation for a new payment over one booking.
    pub(super) fn single(booking: &BookingId, amount: Money) -> Vec<Allocation> {
        vec![Allocation {
            booking: booking.clone(),
            amount,
        }]
    }

    /// The gateway key for canceling a hold.
    pub(super) fn cancel_key(hold: &PaymentId) -> String {
        gateway_key(hold, "cancel")
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
    match &answer.status {
        GatewayStatus::Succeeded | GatewayStatus::RequiresCapture => vec![
            Move {
                payment: capture.id.clone(),
                event: PaymentEvent::Succeeded,
                gateway_reference: reference.clone(),
                hold_expires_at: None,
            },
            Move {
                payment: hold.clone(),
                event: if final_capture {
                    PaymentEvent::CaptureClosed
                } else {
                    PaymentEvent::PartlyCaptured
                },
                gateway_reference: reference,
                hold_expires_at: None,
            },
        ],
        GatewayStatus::Failed(failure) => vec![Move {
            payment: capture.id.clone(),
            event: PaymentEvent::Failed(failure.clone()),
            gateway_reference: reference,
            hold_expires_at: None,
        }],
        GatewayStatus::Canceled => vec![Move {
            payment: capture.id.clone(),
            event: PaymentEvent::Failed(Failure {
                code: "hold_canceled".into(),
                decline_code: None,
                message: "The hold was released before it could be captured.".into(),
            }),
            gateway_reference: reference,
            hold_expires_at: None,
        }],
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
