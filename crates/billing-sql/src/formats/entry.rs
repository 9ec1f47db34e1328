//! A ledger entry (`entries.body`), and the parts of a payment record that entries and first
//! answers share.

use billing_core::ids::{BookingId, CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::{
    Allocation, CardRef, Change, CollectionMethod, Entry, Failure, Opening, PaymentEvent,
    PaymentKind, PaymentState,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{from_text, to_text, unknown, version_of};
use crate::StoredRowError;

const WHAT: &str = "stored entry";

/// Money: a decimal string with the currency's digits, and the ISO 4217 code.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct MoneyV1 {
    amount: String,
    currency: String,
}

impl MoneyV1 {
    pub(super) fn of(money: &Money) -> Self {
        MoneyV1 {
            amount: money.amount().to_string(),
            currency: money.currency().code().to_owned(),
        }
    }

    pub(super) fn read(&self, what: &'static str) -> Result<Money, StoredRowError> {
        let currency = currency(what, &self.currency)?;
        Money::parse(&self.amount, currency).map_err(|e| StoredRowError::new(what, e))
    }
}

pub(super) fn currency(what: &'static str, code: &str) -> Result<Currency, StoredRowError> {
    Currency::from_code(code).map_err(|e| StoredRowError::new(what, e))
}

/// An id of any kind, checked as it is read back.
pub(super) fn id<T: TryFrom<String>>(what: &'static str, text: &str) -> Result<T, StoredRowError>
where
    T::Error: std::fmt::Display,
{
    T::try_from(text.to_owned()).map_err(|e| StoredRowError::new(what, e))
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CardV1 {
    gateway_customer: String,
    payment_method: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "label")]
pub(super) enum MethodV1 {
    Cash,
    Check,
    ETransfer,
    Other(String),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub(super) enum KindV1 {
    Charge {
        card: CardV1,
    },
    Collection {
        method: MethodV1,
        reference: Option<String>,
    },
    Authorization {
        card: CardV1,
    },
    Capture {
        authorization: String,
        final_capture: bool,
    },
    Refund {
        of: String,
        reason: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct FailureV1 {
    code: String,
    decline_code: Option<String>,
    message: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "failure")]
pub(super) enum StateV1 {
    Pending,
    RequiresAction,
    Succeeded,
    Authorized,
    PartiallyCaptured,
    Captured,
    Canceled,
    Expired,
    Failed(FailureV1),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event", content = "failure")]
enum EventV1 {
    Succeeded,
    ActionRequired,
    HoldPlaced,
    PartlyCaptured,
    CaptureClosed,
    Canceled,
    Expired,
    Failed(FailureV1),
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AllocationV1 {
    booking: String,
    amount: MoneyV1,
}

#[derive(Debug, Serialize, Deserialize)]
struct OpeningV1 {
    customer: String,
    kind: KindV1,
    amount: MoneyV1,
    allocations: Vec<AllocationV1>,
    state: StateV1,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
enum ChangeV1 {
    Opened(OpeningV1),
    Moved { event: EventV1, state: StateV1 },
}

/// Version 1 of an entry: the shape the first builds wrote (the core's own serialization then).
#[derive(Debug, Serialize, Deserialize)]
struct EntryV1 {
    payment: String,
    seq: u32,
    bookings: Vec<String>,
    at: DateTime<Utc>,
    gateway_reference: Option<String>,
    hold_expires_at: Option<DateTime<Utc>>,
    change: ChangeV1,
}

impl FailureV1 {
    fn of(failure: &Failure) -> Self {
        FailureV1 {
            code: failure.code.clone(),
            decline_code: failure.decline_code.clone(),
            message: failure.message.clone(),
        }
    }

    fn read(self) -> Failure {
        Failure {
            code: self.code,
            decline_code: self.decline_code,
            message: self.message,
        }
    }
}

impl StateV1 {
    pub(super) fn of(state: &PaymentState) -> Self {
        match state {
            PaymentState::Pending => StateV1::Pending,
            PaymentState::RequiresAction => StateV1::RequiresAction,
            PaymentState::Succeeded => StateV1::Succeeded,
            PaymentState::Authorized => StateV1::Authorized,
            PaymentState::PartiallyCaptured => StateV1::PartiallyCaptured,
            PaymentState::Captured => StateV1::Captured,
            PaymentState::Canceled => StateV1::Canceled,
            PaymentState::Expired => StateV1::Expired,
            PaymentState::Failed(failure) => StateV1::Failed(FailureV1::of(failure)),
        }
    }

    pub(super) fn read(self) -> PaymentState {
        match self {
            StateV1::Pending => PaymentState::Pending,
            StateV1::RequiresAction => PaymentState::RequiresAction,
            StateV1::Succeeded => PaymentState::Succeeded,
            StateV1::Authorized => PaymentState::Authorized,
            StateV1::PartiallyCaptured => PaymentState::PartiallyCaptured,
            StateV1::Captured => PaymentState::Captured,
            StateV1::Canceled => PaymentState::Canceled,
            StateV1::Expired => PaymentState::Expired,
            StateV1::Failed(failure) => PaymentState::Failed(failure.read()),
        }
    }
}

impl EventV1 {
    fn of(event: &PaymentEvent) -> Self {
        match event {
            PaymentEvent::Succeeded => EventV1::Succeeded,
            PaymentEvent::ActionRequired => EventV1::ActionRequired,
            PaymentEvent::HoldPlaced => EventV1::HoldPlaced,
            PaymentEvent::PartlyCaptured => EventV1::PartlyCaptured,
            PaymentEvent::CaptureClosed => EventV1::CaptureClosed,
            PaymentEvent::Canceled => EventV1::Canceled,
            PaymentEvent::Expired => EventV1::Expired,
            PaymentEvent::Failed(failure) => EventV1::Failed(FailureV1::of(failure)),
        }
    }

    fn read(self) -> PaymentEvent {
        match self {
            EventV1::Succeeded => PaymentEvent::Succeeded,
            EventV1::ActionRequired => PaymentEvent::ActionRequired,
            EventV1::HoldPlaced => PaymentEvent::HoldPlaced,
            EventV1::PartlyCaptured => PaymentEvent::PartlyCaptured,
            EventV1::CaptureClosed => PaymentEvent::CaptureClosed,
            EventV1::Canceled => PaymentEvent::Canceled,
            EventV1::Expired => PaymentEvent::Expired,
            EventV1::Failed(failure) => PaymentEvent::Failed(failure.read()),
        }
    }
}

impl CardV1 {
    fn of(card: &CardRef) -> Self {
        CardV1 {
            gateway_customer: card.gateway_customer.clone(),
            payment_method: card.payment_method.clone(),
        }
    }

    fn read(self) -> CardRef {
        CardRef {
            gateway_customer: self.gateway_customer,
            payment_method: self.payment_method,
        }
    }
}

impl KindV1 {
    pub(super) fn of(kind: &PaymentKind) -> Self {
        match kind {
            PaymentKind::Charge { card } => KindV1::Charge {
                card: CardV1::of(card),
            },
            PaymentKind::Collection { method, reference } => KindV1::Collection {
                method: match method {
                    CollectionMethod::Cash => MethodV1::Cash,
                    CollectionMethod::Check => MethodV1::Check,
                    CollectionMethod::ETransfer => MethodV1::ETransfer,
                    CollectionMethod::Other(label) => MethodV1::Other(label.clone()),
                },
                reference: reference.clone(),
            },
            PaymentKind::Authorization { card } => KindV1::Authorization {
                card: CardV1::of(card),
            },
            PaymentKind::Capture {
                authorization,
                final_capture,
            } => KindV1::Capture {
                authorization: authorization.to_string(),
                final_capture: *final_capture,
            },
            PaymentKind::Refund { of, reason } => KindV1::Refund {
                of: of.to_string(),
                reason: reason.clone(),
            },
        }
    }

    pub(super) fn read(self, what: &'static str) -> Result<PaymentKind, StoredRowError> {
        Ok(match self {
            KindV1::Charge { card } => PaymentKind::Charge { card: card.read() },
            KindV1::Collection { method, reference } => PaymentKind::Collection {
                method: match method {
                    MethodV1::Cash => CollectionMethod::Cash,
                    MethodV1::Check => CollectionMethod::Check,
                    MethodV1::ETransfer => CollectionMethod::ETransfer,
                    MethodV1::Other(label) => CollectionMethod::Other(label),
                },
                reference,
            },
            KindV1::Authorization { card } => PaymentKind::Authorization { card: card.read() },
            KindV1::Capture {
                authorization,
                final_capture,
            } => PaymentKind::Capture {
                authorization: id(what, &authorization)?,
                final_capture,
            },
            KindV1::Refund { of, reason } => PaymentKind::Refund {
                of: id(what, &of)?,
                reason,
            },
        })
    }
}

impl AllocationV1 {
    pub(super) fn of(allocation: &Allocation) -> Self {
        AllocationV1 {
            booking: allocation.booking.to_string(),
            amount: MoneyV1::of(&allocation.amount),
        }
    }

    pub(super) fn read(self, what: &'static str) -> Result<Allocation, StoredRowError> {
        Ok(Allocation {
            booking: id(what, &self.booking)?,
            amount: self.amount.read(what)?,
        })
    }
}

/// An entry as stored.
pub fn encode_entry(entry: &Entry) -> Result<String, StoredRowError> {
    let change = match &entry.change {
        Change::Opened(opening) => ChangeV1::Opened(OpeningV1 {
            customer: opening.customer.to_string(),
            kind: KindV1::of(&opening.kind),
            amount: MoneyV1::of(&opening.amount),
            allocations: opening.allocations.iter().map(AllocationV1::of).collect(),
            state: StateV1::of(&opening.state),
        }),
        Change::Moved { event, state } => ChangeV1::Moved {
            event: EventV1::of(event),
            state: StateV1::of(state),
        },
    };
    to_text(
        WHAT,
        &EntryV1 {
            payment: entry.payment.to_string(),
            seq: entry.seq,
            bookings: entry.bookings.iter().map(ToString::to_string).collect(),
            at: entry.at,
            gateway_reference: entry.gateway_reference.clone(),
            hold_expires_at: entry.hold_expires_at,
            change,
        },
    )
}

/// An entry read back, from any version.
pub fn decode_entry(text: &str) -> Result<Entry, StoredRowError> {
    let row: EntryV1 = match version_of(WHAT, text)? {
        1 => from_text(WHAT, text)?,
        other => return Err(unknown(WHAT, other)),
    };
    let change = match row.change {
        ChangeV1::Opened(opening) => Change::Opened(Box::new(Opening {
            customer: id::<CustomerId>(WHAT, &opening.customer)?,
            kind: opening.kind.read(WHAT)?,
            amount: opening.amount.read(WHAT)?,
            allocations: opening
                .allocations
                .into_iter()
                .map(|a| a.read(WHAT))
                .collect::<Result<_, _>>()?,
            state: opening.state.read(),
        })),
        ChangeV1::Moved { event, state } => Change::Moved {
            event: event.read(),
            state: state.read(),
        },
    };
    Ok(Entry {
        payment: id::<PaymentId>(WHAT, &row.payment)?,
        seq: row.seq,
        bookings: row
            .bookings
            .iter()
            .map(|b| id::<BookingId>(WHAT, b))
            .collect::<Result<_, _>>()?,
        at: row.at,
        gateway_reference: row.gateway_reference,
        hold_expires_at: row.hold_expires_at,
        change,
    })
}
