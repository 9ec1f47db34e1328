//! The machinery every money move shares: open a payment (read, decide, commit if nothing
//! moved meanwhile), record what happened to it, and replay a command made before under the
//! same key.

use chrono::{DateTime, Utc};

use super::Billing;
use super::ledgers::Ledgers;
use crate::customer::{Business, Customer, SavedCard};
use crate::error::BillingError;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BookingId, PaymentId};
use crate::money::Money;
use crate::payment::{Change, Entry, Failure, Opening, Payment, PaymentEvent};
use crate::ports::{
    Committed, GatewayError, IdempotencyRecord, KeyUpdate, LedgerError, LedgerRead, LedgerWrite,
};
use crate::receipt::Receipt;

/// How many times a use case reads and decides again when its commit finds that what it read
/// moved meanwhile. Each retry is because another command on the same bookings landed first,
/// so this bounds the wait of a booking charged from many places at once, not the work.
const MAX_ATTEMPTS: u32 = 256;

/// A move of one payment record, decided from a gateway's answer.
#[derive(Debug, Clone)]
pub(super) struct Move {
    pub(super) payment: PaymentId,
    pub(super) event: PaymentEvent,
    pub(super) gateway_reference: Option<String>,
    pub(super) hold_expires_at: Option<DateTime<Utc>>,
    /// For the move that places a hold: whether it can be captured in several parts.
    pub(super) multicapture: Option<bool>,
}

impl Move {
    /// A move with no gateway details.
    pub(super) fn plain(payment: &PaymentId, event: PaymentEvent) -> Move {
        Move {
            payment: payment.clone(),
            event,
            gateway_reference: None,
            hold_expires_at: None,
            multicapture: None,
        }
    }

    /// The entry that makes this move on `payment`, or `None` when its state can no longer
    /// take it (settled meanwhile: settling is idempotent).
    pub(super) fn entry(&self, payment: &Payment, at: DateTime<Utc>) -> Option<Entry> {
        let mut entry = payment
            .move_entry(
                self.event.clone(),
                at,
                self.gateway_reference.clone(),
                self.hold_expires_at,
            )
            .ok()?;
        entry.multicapture = self.multicapture;
        Some(entry)
    }
}

/// Maps a storage failure met after the gateway was called about `payment` to
/// [`BillingError::OutcomeNotRecorded`]: the gateway acted, and the reconciler settles the
/// payment from its record.
pub(super) fn not_recorded(payment: &PaymentId) -> impl Fn(BillingError) -> BillingError + '_ {
    move |error| match error {
        BillingError::Ledger(error) => BillingError::OutcomeNotRecorded {
            payment: payment.clone(),
            error,
        },
        other => other,
    }
}

/// What happens to the command's idempotency key when a move is recorded.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyFate<'a> {
    /// Nothing (no key, or not this step's business).
    Untouched,
    /// The command is done: the key's record is completed, with the receipt of `payment` as
    /// its first answer when that is final.
    Complete(&'a IdempotencyKey, &'a PaymentId),
    /// The command certainly did nothing at the gateway: the key is forgotten.
    Release(&'a IdempotencyKey),
}

impl<'a> KeyFate<'a> {
    /// Completes `key`, when there is one.
    pub(super) fn complete(key: Option<&'a IdempotencyKey>, payment: &'a PaymentId) -> Self {
        key.map_or(KeyFate::Untouched, |k| KeyFate::Complete(k, payment))
    }
}

/// The paying customer and their cards, as a command's read found them.
pub(super) type Payer = (Customer, Vec<SavedCard>);

/// A payment just opened, with the bookings as they stand after it.
#[derive(Debug)]
pub(super) struct OpenPayment {
    pub(super) payment: Payment,
    pub(super) ledgers: Ledgers,
}

/// What [`Billing::open`] found.
#[derive(Debug)]
pub(super) enum Opened {
    /// A new payment, committed.
    New(Box<OpenPayment>),
    /// The key was used before: its record, and this command's fingerprint to check it with.
    Replay(IdempotencyRecord, Fingerprint),
}

impl Billing {
    /// Reads bookings (without key or payer) as a use case decides from them.
    pub(super) async fn ledgers(
        &self,
        business: &Business,
        bookings: &[BookingId],
    ) -> Result<Ledgers, BillingError> {
        let snapshot = self
            .store
            .read(&business.id, &LedgerRead::bookings(bookings))
            .await?;
        Ledgers::new(snapshot.ledgers, self.now())
    }

    /// The bookings a payment touches, or [`BillingError::PaymentNotFound`].
    pub(super) async fn bookings_of(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<Vec<BookingId>, BillingError> {
        self.store
            .payment_bookings(&business.id, payment)
            .await?
            .ok_or_else(|| BillingError::PaymentNotFound(payment.clone()))
    }

    /// The bookings a payment touches, read with every payment touching them.
    pub(super) async fn ledgers_of(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<(Vec<BookingId>, Ledgers), BillingError> {
        let bookings = self.bookings_of(business, payment).await?;
        let ledgers = self.ledgers(business, &bookings).await?;
        Ok((bookings, ledgers))
    }

    /// What follows [`Billing::open`]: a replay answers as the key's first command did; a new
    /// payment goes to the gateway (when it goes there) and its outcome is recorded.
    pub(super) async fn proceed(
        &self,
        business: &Business,
        opened: Opened,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, BillingError> {
        match opened {
            Opened::Replay(record, fingerprint) => {
                self.replay(business, record, &fingerprint).await
            }
            Opened::New(open) => self.send_opened(business, *open, key).await,
        }
    }

    /// Step 1 of every money-moving command: read, then — unless the key was used before —
    /// let `decide` check the rules and shape the payment, and commit it with the key's claim.
    /// A refusal by `decide` writes nothing. When the bookings moved between the read and the
    /// commit, everything is read and decided again.
    ///
    /// `fingerprint` says what the command asks, in the terms its key's record keeps; it may
    /// read the bookings (an amount's currency is theirs).
    pub(super) async fn open<P, D>(
        &self,
        business: &Business,
        read: LedgerRead<'_>,
        fingerprint: P,
        decide: D,
    ) -> Result<Opened, BillingError>
    where
        P: Fn(&Ledgers) -> Result<Fingerprint, BillingError> + Send + Sync,
        D: Fn(&Ledgers, Option<&Payer>) -> Result<Opening, BillingError> + Send + Sync,
    {
        let id = self.ids.payment_id();
        for _ in 0..MAX_ATTEMPTS {
            let _turn = self.lanes.turn(&business.id, read.bookings).await;
            let snapshot = self.store.read(&business.id, &read).await?;
            let mut ledgers = Ledgers::new(snapshot.ledgers, self.now())?;
            let fingerprint = match read.key {
                Some(_) => Some(fingerprint(&ledgers)?),
                None => None,
            };
            if let (Some(record), Some(fingerprint)) = (snapshot.key, &fingerprint) {
                return Ok(Opened::Replay(record, fingerprint.clone()));
            }
            for booking in read.bookings {
                ledgers.summary(booking)?;
            }
            let opening = decide(&ledgers, snapshot.payer.as_ref())?;
            let entry = Self::opening_entry(&id, opening, ledgers.now)?;
            let versions = ledgers.read_versions(&entry.bookings);
            let entries = std::slice::from_ref(&entry);
            let before = ledgers.moved_by(entries);
            ledgers.apply(entries)?;
            let payment_days = ledgers.payment_days(&before, entries)?;
            let receipt = ledgers.receipt(&id)?;
            let claim = match (read.key, &fingerprint) {
                (Some(key), Some(fingerprint)) => Some(IdempotencyRecord {
                    key: key.clone(),
                    fingerprint: fingerprint.clone(),
                    payment: id.clone(),
                    completed: receipt.is_final(),
                    created_at: ledgers.now,
                    first_answer: receipt.is_final().then(|| Box::new(receipt.clone())),
                }),
                _ => None,
            };
            let write = LedgerWrite {
                summaries: ledgers.resummarize(&entry.bookings)?,
                read: versions.clone(),
                claim,
                bookings: Vec::new(),
                entries: vec![entry],
                key: None,
                payment_days,
            };
            match self.store.commit(&business.id, &write).await {
                Ok(Committed::Written) => {
                    ledgers.committed(&versions);
                    return Ok(Opened::New(Box::new(OpenPayment {
                        payment: receipt.payment,
                        ledgers,
                    })));
                }
                Ok(Committed::KeyTaken(record)) => {
                    let fingerprint = fingerprint.unwrap_or_else(|| Fingerprint(String::new()));
                    return Ok(Opened::Replay(*record, fingerprint));
                }
                Err(LedgerError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(busy())
    }

    /// The entry that opens a payment, checking that its allocations add up to it.
    pub(super) fn opening_entry(
        id: &PaymentId,
        opening: Opening,
        now: DateTime<Utc>,
    ) -> Result<Entry, BillingError> {
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
        check_tips(&opening)?;
        Ok(Entry {
            payment: id.clone(),
            seq: 0,
            bookings: opening
                .allocations
                .iter()
                .map(|a| a.booking.clone())
                .collect(),
            at: now,
            gateway_reference: None,
            hold_expires_at: None,
            multicapture: None,
            change: Change::Opened(Box::new(opening)),
        })
    }

    /// Records moves of payment records on `bookings` (a move its record can no longer take
    /// is skipped: a webhook or the reconciler settled it first, and settling is idempotent),
    /// and what happens to the command's key. Starts from `ledgers` as read; when they moved
    /// meanwhile, reads them again.
    pub(super) async fn record(
        &self,
        business: &Business,
        mut ledgers: Ledgers,
        bookings: &[BookingId],
        moves: &[Move],
        key: KeyFate<'_>,
    ) -> Result<Ledgers, BillingError> {
        let _turn = self.lanes.turn(&business.id, bookings).await;
        for _ in 0..MAX_ATTEMPTS {
            let mut entries = Vec::new();
            let mut after = ledgers.clone();
            for step in moves {
                let payment = after.payment(&step.payment)?;
                let Some(entry) = step.entry(payment, after.now) else {
                    continue;
                };
                after.apply(std::slice::from_ref(&entry))?;
                entries.push(entry);
            }
            let key = match key {
                KeyFate::Untouched => None,
                KeyFate::Complete(key, payment) => {
                    let receipt = after.receipt(payment)?;
                    Some(KeyUpdate::Complete {
                        key: key.clone(),
                        first_answer: receipt.is_final().then(|| Box::new(receipt)),
                    })
                }
                KeyFate::Release(key) => Some(KeyUpdate::Release(key.clone())),
            };
            let write = if entries.is_empty() {
                // Only the key: nothing was decided from the bookings.
                LedgerWrite {
                    key,
                    ..LedgerWrite::default()
                }
            } else {
                LedgerWrite {
                    read: ledgers.read_versions(bookings),
                    summaries: after.resummarize(bookings)?,
                    payment_days: after.payment_days(&ledgers.moved_by(&entries), &entries)?,
                    entries,
                    key,
                    ..LedgerWrite::default()
                }
            };
            if write.is_empty() {
                return Ok(after);
            }
            match self.store.commit(&business.id, &write).await {
                Ok(_) => {
                    after.committed(&write.read);
                    return Ok(after);
                }
                Err(LedgerError::Conflict(_)) => {
                    ledgers = self.ledgers(business, bookings).await?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(busy())
    }

    /// Writes entries decided from the bookings as they stand: read, `decide` (which may open
    /// payments and move them), commit if nothing moved meanwhile, else read and decide again.
    /// Answers the bookings as they stand after (as read, when there was nothing to write).
    pub(super) async fn commit_decided<D>(
        &self,
        business: &Business,
        bookings: &[BookingId],
        decide: D,
    ) -> Result<Ledgers, BillingError>
    where
        D: Fn(&Ledgers) -> Result<Vec<Entry>, BillingError> + Send + Sync,
    {
        for _ in 0..MAX_ATTEMPTS {
            let _turn = self.lanes.turn(&business.id, bookings).await;
            let ledgers = self.ledgers(business, bookings).await?;
            let entries = decide(&ledgers)?;
            if entries.is_empty() {
                return Ok(ledgers);
            }
            let versions = ledgers.read_versions(bookings);
            let before = ledgers.moved_by(&entries);
            let mut after = ledgers;
            after.apply(&entries)?;
            let write = LedgerWrite {
                read: versions.clone(),
                summaries: after.resummarize(bookings)?,
                payment_days: after.payment_days(&before, &entries)?,
                entries,
                ..LedgerWrite::default()
            };
            match self.store.commit(&business.id, &write).await {
                Ok(_) => {
                    after.committed(&versions);
                    return Ok(after);
                }
                Err(LedgerError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(busy())
    }

    /// Step 3: records what the gateway answered about a payment just opened, and answers
    /// the command. A refusal that certainly did nothing fails the payment and frees the key
    /// ([`BillingError::Gateway`]); an unknown outcome leaves the payment pending. The gateway
    /// was called: a storage failure now is [`BillingError::OutcomeNotRecorded`].
    pub(super) async fn finish(
        &self,
        business: &Business,
        open: OpenPayment,
        key: Option<&IdempotencyKey>,
        answer: Result<Vec<Move>, GatewayError>,
    ) -> Result<Receipt, BillingError> {
        let id = open.payment.id.clone();
        self.finish_answer(business, open, key, answer)
            .await
            .map_err(not_recorded(&id))
    }

    async fn finish_answer(
        &self,
        business: &Business,
        open: OpenPayment,
        key: Option<&IdempotencyKey>,
        answer: Result<Vec<Move>, GatewayError>,
    ) -> Result<Receipt, BillingError> {
        let payment = &open.payment;
        let bookings = payment.bookings();
        match answer {
            Ok(moves) => self
                .record(
                    business,
                    open.ledgers,
                    &bookings,
                    &moves,
                    KeyFate::complete(key, &payment.id),
                )
                .await?
                .receipt(&payment.id),
            Err(error) if error.nothing_done() => {
                let failed = Move::plain(
                    &payment.id,
                    PaymentEvent::Failed(Failure {
                        code: error.code().to_owned(),
                        decline_code: None,
                        message: error.to_string(),
                    }),
                );
                let fate = key.map_or(KeyFate::Untouched, KeyFate::Release);
                self.record(business, open.ledgers, &bookings, &[failed], fate)
                    .await?;
                Err(BillingError::Gateway {
                    payment: Some(payment.id.clone()),
                    error,
                })
            }
            // The gateway may have acted: the payment stays pending, counted as in flight,
            // until the reconciler reads the gateway's record.
            Err(_unknown) => self
                .record(
                    business,
                    open.ledgers,
                    &bookings,
                    &[],
                    KeyFate::complete(key, &payment.id),
                )
                .await?
                .receipt(&payment.id),
        }
    }

    /// Answers a command whose key was used before: the same request gets the first command's
    /// settled answer, exactly as it was given (or the payment as it stands, settled from the
    /// gateway first when it was left pending); another request is refused.
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
        if let Some(first) = record.first_answer {
            return Ok(Receipt {
                replayed: true,
                ..*first
            });
        }
        let mut receipt = match self
            .reconcile_with_key(business, &record.payment, Some(&record.key))
            .await
        {
            Ok(receipt) => receipt,
            // The gateway could not say yet: the first command's payment as it stands, pending.
            Err(BillingError::Gateway { .. }) => {
                let (_, ledgers) = self.ledgers_of(business, &record.payment).await?;
                ledgers.receipt(&record.payment)?
            }
            Err(error) => return Err(error),
        };
        receipt.replayed = true;
        Ok(receipt)
    }
}

/// Refuses tips anywhere but on a card charge, and tips that are not positive, in another
/// currency, or more than their booking's share of the payment.
fn check_tips(opening: &Opening) -> Result<(), BillingError> {
    let is_charge = matches!(opening.kind, crate::payment::PaymentKind::Charge { .. });
    for allocation in &opening.allocations {
        let Some(tip) = &allocation.tip else {
            continue;
        };
        let fits = is_charge
            && tip.is_positive()
            && tip.currency() == allocation.amount.currency()
            && tip.checked_cmp(&allocation.amount)?.is_le();
        if !fits {
            return Err(BillingError::Inconsistent(format!(
                "a tip of {tip} on a share of {} for booking {}",
                allocation.amount, allocation.booking
            )));
        }
    }
    Ok(())
}

/// Too many commands on the same bookings at once: the store never refused, but every read was
/// overtaken.
fn busy() -> BillingError {
    BillingError::Ledger(LedgerError::Conflict(
        "the bookings kept changing while this command was decided; try again".into(),
    ))
}
