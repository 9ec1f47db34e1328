//! Payments: every record of money moving (or held) for bookings, and their lifecycle.
//!
//! A payment record is written once, when it opens, and then only moved from state to state by
//! appending [`Entry`]s; [`transition`] is the one function that says which moves are allowed.
//! The current [`Payment`] is a fold of its entries.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{BookingId, CustomerId, LinkId, PaymentId};
use crate::money::Money;

mod lifecycle;
mod totals;

pub use lifecycle::{InvalidTransition, PaymentEvent, PaymentState, transition};
pub use totals::{PaymentDayTotals, PaymentTotals};

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
    /// A dispute (chargeback) the customer's bank opened on a card payment: recorded from the
    /// gateway's record, pending while it is open; it succeeds when lost (the money went back
    /// to the customer) and is canceled when won (the money stays).
    Dispute {
        /// The payment disputed: a charge, or a hold whose captures are disputed.
        of: PaymentId,
        /// The card network's reason (`fraudulent`...).
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
            PaymentKind::Dispute { .. } => KindName::Dispute,
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
    /// See [`PaymentKind::Dispute`].
    Dispute,
}

impl KindName {
    /// Every kind.
    pub const ALL: [KindName; 6] = [
        KindName::Charge,
        KindName::Collection,
        KindName::Authorization,
        KindName::Capture,
        KindName::Refund,
        KindName::Dispute,
    ];
}

/// Who made a payment record, and so whether the customer was there to authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Origin {
    /// Staff or an API client, with the customer away (merchant-initiated).
    #[default]
    Command,
    /// The customer, on a payment link's page: on-session, able to authenticate there.
    PaymentLink(LinkId),
    /// The gateway: made in its dashboard or by its own rules, and recorded from its record.
    Gateway,
    /// Payment automation, by the business's payment policy (merchant-initiated, the
    /// customer away).
    Automation,
    /// A member of the business's staff, in the Ops Console (merchant-initiated, like
    /// [`Origin::Command`]): the history says who.
    Staff(crate::ids::StaffId),
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

/// The code (and decline code) of a card that asks the customer to authenticate while they are
/// away.
pub const AUTHENTICATION_REQUIRED: &str = "authentication_required";

impl Failure {
    /// A card asked for authentication (3-D Secure) while the customer was away: the attempt
    /// failed; a payment link lets the customer pay, authenticating on its page.
    pub fn authentication_required() -> Failure {
        Failure {
            code: AUTHENTICATION_REQUIRED.into(),
            decline_code: Some(AUTHENTICATION_REQUIRED.into()),
            message: "The card asks the customer to authenticate (3-D Secure). Send them a \
                      payment link: they can pay on its page."
                .into(),
        }
    }

    /// The gateway has no record of the attempt, and it can no longer be sent (its key has
    /// expired at the gateway, or the customer it needed is gone): it never happened.
    pub fn not_at_gateway() -> Failure {
        Failure {
            code: "not_at_gateway".into(),
            decline_code: None,
            message: "The gateway has no record of this payment: it never reached it.".into(),
        }
    }

    /// Staff ended a pending payment after the gateway confirmed it has no such payment.
    pub fn marked_failed() -> Failure {
        Failure {
            code: "marked_failed".into(),
            decline_code: None,
            message: "Marked failed by staff after the gateway confirmed it has no such payment."
                .into(),
        }
    }

    /// A capture whose hold was released (or ran out) before it could be captured.
    pub fn hold_canceled() -> Failure {
        Failure {
            code: "hold_canceled".into(),
            decline_code: None,
            message: "The hold was released before it could be captured.".into(),
        }
    }

    /// True when the customer can pay through a payment link where this failed: the card asked
    /// for authentication they could not give while away (whichever adapter reported it).
    pub fn suggests_payment_link(&self) -> bool {
        self.code == AUTHENTICATION_REQUIRED
            || self.decline_code.as_deref() == Some(AUTHENTICATION_REQUIRED)
    }
}

/// The part of a payment that belongs to one booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The booking.
    pub booking: BookingId,
    /// Its share of the payment.
    pub amount: Money,
    /// Of that share, what is a tip (a card charge's only; `None` for none). A tip is not part
    /// of the booking's price until the payment succeeds: then it adds to the price as a line
    /// of its own ([`crate::booking::LineItemKind::Tip`]), so that a declined, failed or
    /// abandoned charge never leaves a tip owed.
    pub tip: Option<Money>,
}

impl Allocation {
    /// A share with no tip.
    pub fn of(booking: BookingId, amount: Money) -> Allocation {
        Allocation {
            booking,
            amount,
            tip: None,
        }
    }
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
    /// The state it opens in (pending for gateway work, succeeded for a collection or for
    /// what the gateway already did).
    pub state: PaymentState,
    /// Who made it.
    pub origin: Origin,
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
    /// For a hold, said by the move that places it: whether the gateway lets it be captured in
    /// several parts.
    pub multicapture: Option<bool>,
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
    /// For a hold: whether it can be captured in several parts (false when the gateway never
    /// said, as for holds placed before it was asked).
    pub multicapture: bool,
    /// Who made it.
    pub origin: Origin,
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

    /// The tip within this payment's share for `booking` (zero when none).
    pub fn tip_of(&self, booking: &BookingId) -> Money {
        self.allocations
            .iter()
            .find(|a| &a.booking == booking)
            .and_then(|a| a.tip)
            .unwrap_or_else(|| Money::zero(self.amount.currency()))
    }

    /// The tips within this payment, all bookings together (zero when none).
    pub fn tips(&self) -> Result<Money, crate::money::MoneyError> {
        Money::sum(
            self.amount.currency(),
            self.allocations.iter().filter_map(|a| a.tip.as_ref()),
        )
    }

    /// True when the customer was there to authenticate (a payment link's page).
    pub fn customer_present(&self) -> bool {
        matches!(self.origin, Origin::PaymentLink(_))
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
            multicapture: None,
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
        if let Some(multicapture) = entry.multicapture {
            self.multicapture = multicapture;
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
            multicapture: first.multicapture.unwrap_or(false),
            origin: opening.origin.clone(),
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
mod tests;
