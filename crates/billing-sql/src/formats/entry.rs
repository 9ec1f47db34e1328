//! A ledger entry (`entries.body`).
//!
//! Version 2 adds who made a record (`origin`, on the opening), what a hold's placement said
//! of multicapture (`multicapture`, on the entry), and disputes (a kind). Version 1 rows read
//! as version 2 rows made by a command that say nothing of multicapture: builds of then made
//! no record from the gateway's side and knew no disputes, charged a link's payment as
//! merchant-initiated (as a command's), and placed holds without asking for multicapture.
//!
//! Version 3 adds the tip within a charge's share for a booking (`tip` on an allocation,
//! written only when there is one). A version 2 row is a version 3 row without tips: builds of
//! then took none. Rows with a tip are written as version 3 so that an earlier build refuses
//! them rather than read a tip as part of the service's payment.

use billing_core::ids::{BookingId, CustomerId, PaymentId};
use billing_core::payment::{Change, Entry, Opening};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::parts::{AllocationV1, EventV1, KindV1, KindV2, MoneyV1, OriginV2, StateV1, id};
use super::{ENTRY_VERSION, from_text, to_text, unknown, version_of};
use crate::StoredRowError;

const WHAT: &str = "stored entry";

#[derive(Debug, Deserialize)]
struct OpeningV1 {
    customer: String,
    kind: KindV1,
    amount: MoneyV1,
    allocations: Vec<AllocationV1>,
    state: StateV1,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
enum ChangeV1 {
    Opened(OpeningV1),
    Moved { event: EventV1, state: StateV1 },
}

/// Version 1 of an entry: the shape the first builds wrote (the core's own serialization then).
#[derive(Debug, Deserialize)]
struct EntryV1 {
    payment: String,
    seq: u32,
    bookings: Vec<String>,
    at: DateTime<Utc>,
    gateway_reference: Option<String>,
    hold_expires_at: Option<DateTime<Utc>>,
    change: ChangeV1,
}

#[derive(Debug, Serialize, Deserialize)]
struct OpeningV2 {
    customer: String,
    kind: KindV2,
    amount: MoneyV1,
    allocations: Vec<AllocationV1>,
    state: StateV1,
    origin: OriginV2,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
enum ChangeV2 {
    Opened(OpeningV2),
    Moved { event: EventV1, state: StateV1 },
}

/// Version 2 of an entry.
#[derive(Debug, Serialize, Deserialize)]
struct EntryV2 {
    payment: String,
    seq: u32,
    bookings: Vec<String>,
    at: DateTime<Utc>,
    gateway_reference: Option<String>,
    hold_expires_at: Option<DateTime<Utc>>,
    multicapture: Option<bool>,
    change: ChangeV2,
}

impl From<EntryV1> for EntryV2 {
    fn from(row: EntryV1) -> Self {
        EntryV2 {
            payment: row.payment,
            seq: row.seq,
            bookings: row.bookings,
            at: row.at,
            gateway_reference: row.gateway_reference,
            hold_expires_at: row.hold_expires_at,
            multicapture: None,
            change: match row.change {
                ChangeV1::Opened(opening) => ChangeV2::Opened(OpeningV2 {
                    customer: opening.customer,
                    kind: opening.kind.into(),
                    amount: opening.amount,
                    allocations: opening.allocations,
                    state: opening.state,
                    origin: OriginV2::Command,
                }),
                ChangeV1::Moved { event, state } => ChangeV2::Moved { event, state },
            },
        }
    }
}

/// An entry as stored.
pub fn encode_entry(entry: &Entry) -> Result<String, StoredRowError> {
    let change = match &entry.change {
        Change::Opened(opening) => ChangeV2::Opened(OpeningV2 {
            customer: opening.customer.to_string(),
            kind: KindV2::of(&opening.kind),
            amount: MoneyV1::of(&opening.amount),
            allocations: opening.allocations.iter().map(AllocationV1::of).collect(),
            state: StateV1::of(&opening.state),
            origin: OriginV2::of(&opening.origin),
        }),
        Change::Moved { event, state } => ChangeV2::Moved {
            event: EventV1::of(event),
            state: StateV1::of(state),
        },
    };
    to_text(
        WHAT,
        ENTRY_VERSION,
        &EntryV2 {
            payment: entry.payment.to_string(),
            seq: entry.seq,
            bookings: entry.bookings.iter().map(ToString::to_string).collect(),
            at: entry.at,
            gateway_reference: entry.gateway_reference.clone(),
            hold_expires_at: entry.hold_expires_at,
            multicapture: entry.multicapture,
            change,
        },
    )
}

/// An entry read back, from any version.
pub fn decode_entry(text: &str) -> Result<Entry, StoredRowError> {
    let row: EntryV2 = match version_of(WHAT, text)? {
        1 => from_text::<EntryV1>(WHAT, text)?.into(),
        // Version 3 is version 2 with a tip on a charge's shares (absent in version 2).
        2 | 3 => from_text(WHAT, text)?,
        other => return Err(unknown(WHAT, other)),
    };
    let change = match row.change {
        ChangeV2::Opened(opening) => Change::Opened(Box::new(Opening {
            customer: id::<CustomerId>(WHAT, &opening.customer)?,
            kind: opening.kind.read(WHAT)?,
            amount: opening.amount.read(WHAT)?,
            allocations: opening
                .allocations
                .into_iter()
                .map(|a| a.read(WHAT))
                .collect::<Result<_, _>>()?,
            state: opening.state.read(),
            origin: opening.origin.read(WHAT)?,
        })),
        ChangeV2::Moved { event, state } => Change::Moved {
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
        multicapture: row.multicapture,
        change,
    })
}
