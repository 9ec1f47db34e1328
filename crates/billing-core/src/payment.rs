//! Payments: every record of money moving (or held) for bookings, and their lifecycle.
//!
//! A payment record is written once, when it opens, and then only moved from state to state by
//! appending [`Entry`]s; [`transition`] is the one function that says which moves are allowed.
//! The current [`Payment`] is a fold of its entries.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::money::Money;

/// How money was collected outside the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CollectionMethod {
    /// Cash in hand.
    Cash,
    /// A paper check.
    Check,
    /// An e-transfer (Interac and the like).
    ETransfer,
    /// Anything else, with the business's own label.
    Other(String),
}

impl fmt::Display for CollectionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CollectionMethod::Cash => f.write_str("cash"),
            CollectionMethod::Check => f.write_str("check"),
            CollectionMethod::ETransfer => f.write_str("e-transfer"),
            CollectionMethod::Other(label) => write!(f, "other: {label}"),
        }
    }
}

/// The saved card a gateway payment uses: the gateway's customer and payment method ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardRef {
    /// The gateway's customer id (`cus_...`).
    pub gateway_customer: String,
    /// The gateway's payment method id (`pm_...`).
    pub payment_method: String,
}

/// What a payment record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentKind {
    /// A card charge through the gateway, captured at once.
    Charge {
        /// The card charged.
        card: CardRef,
    },
    /// Money collected outside the gateway (cash, check, e-transfer...).
    Collection {
        /// How it was collected.
        method: CollectionMethod,
        /// A check number or transfer reference.
        reference: Option<String>,
    },
    /// A hold on a card, captured later in one or more parts.
    Authorization {
        /// The card held.
        card: CardRef,
    },
    /// A capture of part or all of a hold.
    Capture {
        /// The hold captured from.
        authorization: PaymentId,
        /// When true the rest of the hold is released.
        final_capture: bool,
    },
    /// A refund of a charge, collection or capture.
    Refund {
        /// The payment refunded.
        of: PaymentId,
        /// Why, for the records.
        reason: Option<String>,
    },
}

impl PaymentKind {
    /// The kind's name without its details.
    pub fn name(&self) -> KindName {
        match self {
            PaymentKind::Charge { .. } => KindName::Charge,
            PaymentKind::Collection { .. } => KindName::Collection,
            PaymentKind::Authorization { .. } => KindName::Authorization,
            PaymentKind::Capture { .. } => KindName::Capture,
            PaymentKind::Refund { .. } => KindName::Refund,
        }
    }
}

/// A payment kind without its details, for tables and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KindName {
    /// See [`PaymentKind::Charge`].
    Charge,
    /// See [`PaymentKind::Collection`].
    Collection,
    /// See [`PaymentKind::Authorization`].
    Authorization,
    /// See [`PaymentKind::Capture`].
    Capture,
    /// See [`PaymentKind::Refund`].
    Refund,
}

impl KindName {
    /// Every kind.
    pub const ALL: [KindName; 5] = [
        KindName::Charge,
        KindName::Collection,
        KindName::Authorization,
        KindName::Capture,
        KindName::Refund,
    ];
}

/// Why a payment failed, in words fit for the business.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Failure {
    /// A stable machine-readable code (`card_declined`, `expired_card`, `rate_limited`...).
    pub code: String,
    /// The issuer's decline code when the card was declined (`insufficient_funds`...).
    pub decline_code: Option<String>,
    /// A sentence for the business.
    pub message: String,
}

/// Where a payment record is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentState {
    /// Sent (or about to be sent) to the gateway; the outcome is not known yet.
    Pending,
    /// The customer must authenticate (3-D Secure) before the card can be charged or held.
    RequiresAction,
    /// The money moved.
    Succeeded,
    /// A hold is in place and nothing was captured yet.
    Authorized,
    /// Part of a hold was captured; the rest is still held.
    PartiallyCaptured,
    /// A hold was captured and closed; anything not captured was released.
    Captured,
    /// Canceled before any money moved (a hold released in full).
    Canceled,
    /// A hold ran out before it was captured.
    Expired,
    /// The gateway refused it or it could not be made.
    Failed(Failure),
}

impl PaymentState {
    /// The state's name, without the failure details.
    pub fn name(&self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::RequiresAction => "requires_action",
            PaymentState::Succeeded => "succeeded",
            PaymentState::Authorized => "authorized",
            PaymentState::PartiallyCaptured => "partially_captured",
            PaymentState::Captured => "captured",
            PaymentState::Canceled => "canceled",
            PaymentState::Expired => "expired",
            PaymentState::Failed(_) => "failed",
        }
    }

    /// True when no event can move the record any more.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            PaymentState::Succeeded
                | PaymentState::Captured
                | PaymentState::Canceled
                | PaymentState::Expired
                | PaymentState::Failed(_)
        )
    }

    /// True while the outcome at the gateway is still open.
    pub fn is_in_flight(&self) -> bool {
        matches!(self, PaymentState::Pending | PaymentState::RequiresAction)
    }
}

/// What happened to a payment record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentEvent {
    /// The money moved.
    Succeeded,
    /// The customer must authenticate first.
    ActionRequired,
    /// The gateway placed the hold.
    HoldPlaced,
    /// Part of the hold was captured and the rest stays held.
    PartlyCaptured,
    /// The hold was captured and closed.
    CaptureClosed,
    /// Canceled (a hold released, or an attempt abandoned).
    Canceled,
    /// The hold ran out.
    Expired,
    /// The gateway refused it.
    Failed(Failure),
}

impl PaymentEvent {
    /// Every event, with a sample failure, for exhaustive tests.
    pub fn all() -> Vec<PaymentEvent> {
        vec![
            PaymentEvent::Succeeded,
            PaymentEvent::ActionRequired,
            PaymentEvent::HoldPlaced,
            PaymentEvent::PartlyCaptured,
            PaymentEvent::CaptureClosed,
            PaymentEvent::Canceled,
            PaymentEvent::Expired,
            PaymentEvent::Failed(Failure {
                code: "card_declined".into(),
                decline_code: Some("generic_decline".into()),
                message: "The card was declined.".into(),
            }),
        ]
    }
}

/// A move that the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {kind:?} in state {from} cannot take {event:?}")]
pub struct InvalidTransition {
    /// The kind of record.
    pub kind: KindName,
    /// Its state's name.
    pub from: &'static str,
    /// The refused event.
    pub event: PaymentEvent,
}

/// The lifecycle of every payment record: the state a record of `kind` in state `from` moves to
/// on `event`, or why it cannot. Terminal states never move again.
pub fn transition(
    kind: KindName,
    from: &PaymentState,
    event: &PaymentEvent,
) -> Result<PaymentState, InvalidTransition> {
    use KindName as K;
    use PaymentEvent as E;
    use PaymentState as S;
    let next = match (kind, from, event) {
        // Charges: one gateway attempt, possibly through authentication.
        (K::Charge, S::Pending | S::RequiresAction, E::Succeeded) => Some(S::Succeeded),
        (K::Charge, S::Pending, E::ActionRequired) => Some(S::RequiresAction),
        (K::Charge, S::Pending | S::RequiresAction, E::Canceled) => Some(S::Canceled),
        // Collections are recorded when the money is in hand; a pending one is only confirmed.
        (K::Collection, S::Pending, E::Succeeded) => Some(S::Succeeded),
        (K::Collection, S::Pending, E::Canceled) => Some(S::Canceled),
        // Holds: placed, captured in parts, closed, canceled or expired.
        (K::Authorization, S::Pending | S::RequiresAction, E::HoldPlaced) => Some(S::Authorized),
        (K::Authorization, S::Pending, E::ActionRequired) => Some(S::RequiresAction),
        (K::Authorization, S::Pending | S::RequiresAction | S::Authorized, E::Canceled) => {
            Some(S::Canceled)
        }
        (K::Authorization, S::Authorized | S::PartiallyCaptured, E::PartlyCaptured) => {
            Some(S::PartiallyCaptured)
        }
        (K::Authorization, S::Authorized | S::PartiallyCaptured, E::CaptureClosed) => {
            Some(S::Captured)
        }
        // Releasing the rest of a partly captured hold closes it as captured.
        (K::Authorization, S::PartiallyCaptured, E::Canceled | E::Expired) => Some(S::Captured),
        (K::Authorization, S::Authorized, E::Expired) => Some(S::Expired),
        // Captures and refunds: one gateway attempt each.
        (K::Capture | K::Refund, S::Pending, E::Succeeded) => Some(S::Succeeded),
        // Any attempt still open can fail.
        (_, S::Pending | S::RequiresAction, E::Failed(failure)) => Some(S::Failed(failure.clone())),
        _ => None,
    };
    next.ok_or_else(|| InvalidTransition {
        kind,
        from: from.name(),
        event: event.clone(),
    })
}

/// The part of a payment that belongs to one booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The booking.
    pub booking: BookingId,
    /// Its share of the payment.
    pub amount: Money,
}

/// How a payment record opened: written once, never changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// The customer paying (or refunded).
    pub customer: CustomerId,
    /// What it is.
    pub kind: PaymentKind,
    /// How much.
    pub amount: Money,
    /// Its shares per booking; they add up to `amount` exactly.
    pub allocations: Vec<Allocation>,
    /// The state it opens in (pending for gateway work, succeeded for a collection).
    pub state: PaymentState,
}

/// A change to a payment record: the first opens it, the next ones move it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The record opened.
    Opened(Box<Opening>),
    /// The record moved.
    Moved {
        /// What happened.
        event: PaymentEvent,
        /// The state it moved to (what [`transition`] gives).
        state: PaymentState,
    },
}

/// One append-only ledger entry. Entries are never edited: a correction is a new entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The payment record it belongs to.
    pub payment: PaymentId,
    /// Its position in that record's history: 0 opens the record. Storage keeps
    /// (payment, seq) unique, so two writers cannot both move one record.
    pub seq: u32,
    /// The bookings the record touches (for storage indexing).
    pub bookings: Vec<BookingId>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The gateway's id for the attempt (`pi_...`, `re_...`) once known.
    pub gateway_reference: Option<String>,
    /// When a hold stops being capturable, once known.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// What changed.
    pub change: Change,
}

/// A payment record as it stands: the fold of its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Our id; the gateway's idempotency key derives from it.
    pub id: PaymentId,
    /// Who paid (or is refunded).
    pub customer: CustomerId,
    /// What it is.
    pub kind: PaymentKind,
    /// How much.
    pub amount: Money,
    /// Its shares per booking.
    pub allocations: Vec<Allocation>,
    /// Where it stands.
    pub state: PaymentState,
    /// The gateway's id, once known.
    pub gateway_reference: Option<String>,
    /// For a hold: when it stops being capturable.
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// When it opened.
    pub created_at: DateTime<Utc>,
    /// When it last moved.
    pub updated_at: DateTime<Utc>,
    /// How many entries it has (the next entry's `seq`).
    pub entries: u32,
}

impl Payment {
    /// This payment's share for `booking` (zero when it does not touch it).
    pub fn share_of(&self, booking: &BookingId) -> Money {
        self.allocations
            .iter()
            .find(|a| &a.booking == booking)
            .map_or_else(|| Money::zero(self.amount.currency()), |a| a.amount)
    }

    /// The bookings it touches.
    pub fn bookings(&self) -> Vec<BookingId> {
        self.allocations.iter().map(|a| a.booking.clone()).collect()
    }

    /// The key sent to the gateway for this record's attempt: derived from our own id, so a
    /// retry after a timeout can never make a second charge.
    pub fn gateway_idempotency_key(&self) -> String {
        gateway_key(&self.id, "attempt")
    }

    /// What the gateway's dashboard shows for this payment: the bookings it is for.
    pub fn gateway_description(&self) -> Option<String> {
        let bookings: Vec<&str> = self
            .allocations
            .iter()
            .map(|a| a.booking.as_str())
            .collect();
        match bookings.as_slice() {
            [] => None,
            [one] => Some(format!("Booking {one}")),
            many => Some(format!("Bookings {}", many.join(", "))),
        }
    }

    /// The entry that moves this payment on `event`, checked by [`transition`].
    pub fn move_entry(
        &self,
        event: PaymentEvent,
        at: DateTime<Utc>,
        gateway_reference: Option<String>,
        hold_expires_at: Option<DateTime<Utc>>,
    ) -> Result<Entry, InvalidTransition> {
        let state = transition(self.kind.name(), &self.state, &event)?;
        Ok(Entry {
            payment: self.id.clone(),
            seq: self.entries,
            bookings: self.bookings(),
            at,
            gateway_reference: gateway_reference.or_else(|| self.gateway_reference.clone()),
            hold_expires_at: hold_expires_at.or(self.hold_expires_at),
            change: Change::Moved { event, state },
        })
    }

    /// Applies an entry to the record, checking its order and the lifecycle.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), FoldError> {
        if entry.seq != self.entries || entry.payment != self.id {
            return Err(FoldError::OutOfOrder {
                payment: self.id.clone(),
                seq: entry.seq,
            });
        }
        match &entry.change {
            Change::Opened(_) => {
                return Err(FoldError::OutOfOrder {
                    payment: self.id.clone(),
                    seq: entry.seq,
                });
            }
            Change::Moved { event, state } => {
                let next = transition(self.kind.name(), &self.state, event)?;
                if &next != state {
                    return Err(FoldError::StateMismatch {
                        payment: self.id.clone(),
                    });
                }
                self.state = next;
            }
        }
        if entry.gateway_reference.is_some() {
            self.gateway_reference.clone_from(&entry.gateway_reference);
        }
        if entry.hold_expires_at.is_some() {
            self.hold_expires_at = entry.hold_expires_at;
        }
        self.updated_at = entry.at;
        self.entries += 1;
        Ok(())
    }
}

/// The gateway idempotency key for an operation on one of our payment records.
pub fn gateway_key(payment: &PaymentId, operation: &str) -> String {
    format!("{payment}:{operation}")
}

/// Entries that do not fold into a valid history (storage corrupted or tampered with).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    /// An entry's sequence number does not follow the previous one.
    #[error("entry {seq} of payment {payment} is out of order")]
    OutOfOrder {
        /// The payment.
        payment: PaymentId,
        /// The entry's sequence number.
        seq: u32,
    },
    /// The recorded state differs from what the lifecycle gives.
    #[error("payment {payment}: recorded state differs from its lifecycle")]
    StateMismatch {
        /// The payment.
        payment: PaymentId,
    },
    /// A move the lifecycle refuses.
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
}

/// Folds entries (in any order, duplicates allowed) into payments, ordered by creation.
pub fn fold(entries: &[Entry]) -> Result<Vec<Payment>, FoldError> {
    let mut by_payment: BTreeMap<&PaymentId, BTreeMap<u32, &Entry>> = BTreeMap::new();
    for entry in entries {
        by_payment
            .entry(&entry.payment)
            .or_default()
            .insert(entry.seq, entry);
    }
    let mut payments = Vec::with_capacity(by_payment.len());
    for (id, history) in by_payment {
        let mut history = history.into_values();
        let Some(first) = history.next() else {
            continue;
        };
        let Change::Opened(opening) = &first.change else {
            return Err(FoldError::OutOfOrder {
                payment: id.clone(),
                seq: first.seq,
            });
        };
        if first.seq != 0 {
            return Err(FoldError::OutOfOrder {
                payment: id.clone(),
                seq: first.seq,
            });
        }
        let mut payment = Payment {
            id: id.clone(),
            customer: opening.customer.clone(),
            kind: opening.kind.clone(),
            amount: opening.amount,
            allocations: opening.allocations.clone(),
            state: opening.state.clone(),
            gateway_reference: first.gateway_reference.clone(),
            hold_expires_at: first.hold_expires_at,
            created_at: first.at,
            updated_at: first.at,
            entries: 1,
        };
        for entry in history {
            payment.apply(entry)?;
        }
        payments.push(payment);
    }
    payments.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(payments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use KindName as K;
    use PaymentEvent as E;
    use PaymentState as S;

    fn failure() -> Failure {
        Failure {
            code: "card_declined".into(),
            decline_code: Some("generic_decline".into()),
            message: "The card was declined.".into(),
        }
    }

    fn states() -> Vec<PaymentState> {
        vec![
            S::Pending,
            S::RequiresAction,
            S::Succeeded,
            S::Authorized,
            S::PartiallyCaptured,
            S::Captured,
            S::Canceled,
            S::Expired,
            S::Failed(failure()),
        ]
    }

    /// The whole lifecycle, written out as a table: (kind, from, event) -> to. Every pair not
    /// listed must be refused.
    fn allowed() -> Vec<(KindName, PaymentState, PaymentEvent, PaymentState)> {
        let f = || E::Failed(failure());
        let failed = || S::Failed(failure());
        vec![
            (K::Charge, S::Pending, E::Succeeded, S::Succeeded),
            (K::Charge, S::Pending, E::ActionRequired, S::RequiresAction),
            (K::Charge, S::Pending, E::Canceled, S::Canceled),
            (K::Charge, S::Pending, f(), failed()),
            (K::Charge, S::RequiresAction, E::Succeeded, S::Succeeded),
            (K::Charge, S::RequiresAction, E::Canceled, S::Canceled),
            (K::Charge, S::RequiresAction, f(), failed()),
            (K::Collection, S::Pending, E::Succeeded, S::Succeeded),
            (K::Collection, S::Pending, E::Canceled, S::Canceled),
            (K::Collection, S::Pending, f(), failed()),
            (K::Collection, S::RequiresAction, f(), failed()),
            (K::Authorization, S::Pending, E::HoldPlaced, S::Authorized),
            (
                K::Authorization,
                S::Pending,
                E::ActionRequired,
                S::RequiresAction,
            ),
            (K::Authorization, S::Pending, E::Canceled, S::Canceled),
            (K::Authorization, S::Pending, f(), failed()),
            (
                K::Authorization,
                S::RequiresAction,
                E::HoldPlaced,
                S::Authorized,
            ),
            (
                K::Authorization,
                S::RequiresAction,
                E::Canceled,
                S::Canceled,
            ),
            (K::Authorization, S::RequiresAction, f(), failed()),
            (
                K::Authorization,
                S::Authorized,
                E::PartlyCaptured,
                S::PartiallyCaptured,
            ),
            (
                K::Authorization,
                S::Authorized,
                E::CaptureClosed,
                S::Captured,
            ),
            (K::Authorization, S::Authorized, E::Canceled, S::Canceled),
            (K::Authorization, S::Authorized, E::Expired, S::Expired),
            (
                K::Authorization,
                S::PartiallyCaptured,
                E::PartlyCaptured,
                S::PartiallyCaptured,
            ),
            (
                K::Authorization,
                S::PartiallyCaptured,
                E::CaptureClosed,
                S::Captured,
            ),
            (
                K::Authorization,
                S::PartiallyCaptured,
                E::Canceled,
                S::Captured,
            ),
            (
                K::Authorization,
                S::PartiallyCaptured,
                E::Expired,
                S::Captured,
            ),
            (K::Capture, S::Pending, E::Succeeded, S::Succeeded),
            (K::Capture, S::Pending, f(), failed()),
            (K::Capture, S::RequiresAction, f(), failed()),
            (K::Refund, S::Pending, E::Succeeded, S::Succeeded),
            (K::Refund, S::Pending, f(), failed()),
            (K::Refund, S::RequiresAction, f(), failed()),
        ]
    }

    #[test]
    fn every_state_and_event_pair_follows_the_table() {
        let table = allowed();
        let mut checked = 0;
        for kind in KindName::ALL {
            for from in states() {
                for event in PaymentEvent::all() {
                    let expected = table
                        .iter()
                        .find(|(k, s, e, _)| *k == kind && *s == from && *e == event)
                        .map(|(_, _, _, to)| to.clone());
                    let got = transition(kind, &from, &event).ok();
                    assert_eq!(got, expected, "{kind:?} {from:?} + {event:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 5 * 9 * 8);
    }

    #[test]
    fn terminal_states_never_move() {
        for kind in KindName::ALL {
            for from in states().into_iter().filter(PaymentState::is_terminal) {
                for event in PaymentEvent::all() {
                    assert!(
                        transition(kind, &from, &event).is_err(),
                        "{kind:?} {from:?} moved"
                    );
                }
            }
        }
    }
}
