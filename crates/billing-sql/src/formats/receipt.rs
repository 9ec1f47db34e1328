//! A command's first settled answer (`idempotency_keys.first_answer`): the payment and its
//! bookings' summaries as they stood then.
//!
//! Version 2 adds the payment's `origin` and `multicapture`, disputes (a kind), and the
//! summaries' `disputed` flag. Version 1 answers read as version 2 answers of a command, with
//! no multicapture and nothing disputed, for the reasons given in the entry format. Version 3
//! adds the tip within a charge's share (as the entry format's version 3).

use billing_core::ids::{BookingId, CustomerId, PaymentId};
use billing_core::payment::Payment;
use billing_core::receipt::Receipt;
use billing_core::status::{Balance, BookingStatus, BookingSummary, PaymentStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::parts::{AllocationV1, KindV1, KindV2, MoneyV1, OriginV2, StateV1, currency, id};
use super::{FIRST_ANSWER_VERSION, from_text, to_text, unknown, version_of};
use crate::StoredRowError;

const WHAT: &str = "stored first answer";

#[derive(Debug, Deserialize)]
struct PaymentV1 {
    id: String,
    customer: String,
    kind: KindV1,
    amount: MoneyV1,
    allocations: Vec<AllocationV1>,
    state: StateV1,
    gateway_reference: Option<String>,
    hold_expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    entries: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct BalanceV1 {
    price: MoneyV1,
    paid: MoneyV1,
    refunded: MoneyV1,
    in_flight: MoneyV1,
    held: MoneyV1,
    refunds_in_flight: MoneyV1,
    balance_due: MoneyV1,
}

#[derive(Debug, Deserialize)]
struct StatusV1 {
    status: String,
    pending: bool,
    last_failed: bool,
}

#[derive(Debug, Deserialize)]
struct SummaryV1 {
    booking: String,
    customer: String,
    currency: String,
    balance: BalanceV1,
    status: StatusV1,
    service_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    as_of: DateTime<Utc>,
}

/// Version 1 of a first answer.
#[derive(Debug, Deserialize)]
struct ReceiptV1 {
    payment: PaymentV1,
    bookings: Vec<SummaryV1>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PaymentV2 {
    id: String,
    customer: String,
    kind: KindV2,
    amount: MoneyV1,
    allocations: Vec<AllocationV1>,
    state: StateV1,
    gateway_reference: Option<String>,
    hold_expires_at: Option<DateTime<Utc>>,
    multicapture: bool,
    origin: OriginV2,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    entries: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct StatusV2 {
    status: String,
    pending: bool,
    last_failed: bool,
    disputed: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct SummaryV2 {
    booking: String,
    customer: String,
    currency: String,
    balance: BalanceV1,
    status: StatusV2,
    service_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    as_of: DateTime<Utc>,
}

/// Version 2 of a first answer.
#[derive(Debug, Serialize, Deserialize)]
struct ReceiptV2 {
    payment: PaymentV2,
    bookings: Vec<SummaryV2>,
}

impl From<ReceiptV1> for ReceiptV2 {
    fn from(row: ReceiptV1) -> Self {
        let p = row.payment;
        ReceiptV2 {
            payment: PaymentV2 {
                id: p.id,
                customer: p.customer,
                kind: p.kind.into(),
                amount: p.amount,
                allocations: p.allocations,
                state: p.state,
                gateway_reference: p.gateway_reference,
                hold_expires_at: p.hold_expires_at,
                multicapture: false,
                origin: OriginV2::Command,
                created_at: p.created_at,
                updated_at: p.updated_at,
                entries: p.entries,
            },
            bookings: row
                .bookings
                .into_iter()
                .map(|s| SummaryV2 {
                    booking: s.booking,
                    customer: s.customer,
                    currency: s.currency,
                    balance: s.balance,
                    status: StatusV2 {
                        status: s.status.status,
                        pending: s.status.pending,
                        last_failed: s.status.last_failed,
                        disputed: false,
                    },
                    service_at: s.service_at,
                    completed_at: s.completed_at,
                    as_of: s.as_of,
                })
                .collect(),
        }
    }
}

/// A first answer as stored (a replay's flag is not: a stored answer is always the first).
pub fn encode_receipt(receipt: &Receipt) -> Result<String, StoredRowError> {
    let p = &receipt.payment;
    let payment = PaymentV2 {
        id: p.id.to_string(),
        customer: p.customer.to_string(),
        kind: KindV2::of(&p.kind),
        amount: MoneyV1::of(&p.amount),
        allocations: p.allocations.iter().map(AllocationV1::of).collect(),
        state: StateV1::of(&p.state),
        gateway_reference: p.gateway_reference.clone(),
        hold_expires_at: p.hold_expires_at,
        multicapture: p.multicapture,
        origin: OriginV2::of(&p.origin),
        created_at: p.created_at,
        updated_at: p.updated_at,
        entries: p.entries,
    };
    let bookings = receipt
        .bookings
        .iter()
        .map(|s| {
            let b = &s.balance;
            SummaryV2 {
                booking: s.booking.to_string(),
                customer: s.customer.to_string(),
                currency: s.currency.code().to_owned(),
                balance: BalanceV1 {
                    price: MoneyV1::of(&b.price),
                    paid: MoneyV1::of(&b.paid),
                    refunded: MoneyV1::of(&b.refunded),
                    in_flight: MoneyV1::of(&b.in_flight),
                    held: MoneyV1::of(&b.held),
                    refunds_in_flight: MoneyV1::of(&b.refunds_in_flight),
                    balance_due: MoneyV1::of(&b.balance_due),
                },
                status: StatusV2 {
                    status: s.status.status.as_str().to_owned(),
                    pending: s.status.pending,
                    last_failed: s.status.last_failed,
                    disputed: s.status.disputed,
                },
                service_at: s.service_at,
                completed_at: s.completed_at,
                as_of: s.as_of,
            }
        })
        .collect();
    to_text(WHAT, FIRST_ANSWER_VERSION, &ReceiptV2 { payment, bookings })
}

/// A first answer read back, from any version.
pub fn decode_receipt(text: &str) -> Result<Receipt, StoredRowError> {
    let row: ReceiptV2 = match version_of(WHAT, text)? {
        1 => from_text::<ReceiptV1>(WHAT, text)?.into(),
        // Version 3 is version 2 with a tip on a charge's shares (absent in version 2).
        2 | 3 => from_text(WHAT, text)?,
        other => return Err(unknown(WHAT, other)),
    };
    let p = row.payment;
    let payment = Payment {
        id: id::<PaymentId>(WHAT, &p.id)?,
        customer: id::<CustomerId>(WHAT, &p.customer)?,
        kind: p.kind.read(WHAT)?,
        amount: p.amount.read(WHAT)?,
        allocations: p
            .allocations
            .into_iter()
            .map(|a| a.read(WHAT))
            .collect::<Result<_, _>>()?,
        state: p.state.read(),
        gateway_reference: p.gateway_reference,
        hold_expires_at: p.hold_expires_at,
        multicapture: p.multicapture,
        origin: p.origin.read(WHAT)?,
        created_at: p.created_at,
        updated_at: p.updated_at,
        entries: p.entries,
    };
    let bookings = row
        .bookings
        .into_iter()
        .map(|s| {
            let b = s.balance;
            Ok(BookingSummary {
                booking: id::<BookingId>(WHAT, &s.booking)?,
                customer: id::<CustomerId>(WHAT, &s.customer)?,
                currency: currency(WHAT, &s.currency)?,
                balance: Balance {
                    price: b.price.read(WHAT)?,
                    paid: b.paid.read(WHAT)?,
                    refunded: b.refunded.read(WHAT)?,
                    in_flight: b.in_flight.read(WHAT)?,
                    held: b.held.read(WHAT)?,
                    refunds_in_flight: b.refunds_in_flight.read(WHAT)?,
                    balance_due: b.balance_due.read(WHAT)?,
                },
                status: BookingStatus {
                    status: PaymentStatus::parse(&s.status.status).ok_or_else(|| {
                        StoredRowError::new(WHAT, format!("unknown status {:?}", s.status.status))
                    })?,
                    pending: s.status.pending,
                    last_failed: s.status.last_failed,
                    disputed: s.status.disputed,
                },
                service_at: s.service_at,
                completed_at: s.completed_at,
                as_of: s.as_of,
            })
        })
        .collect::<Result<_, StoredRowError>>()?;
    Ok(Receipt {
        payment,
        bookings,
        replayed: false,
    })
}
