//! A booking's billing view (`bookings.body`).

use billing_core::booking::{BookingAccount, LineItem, LineItemKind};
use billing_core::ids::{BookingId, CustomerId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::parts::{MoneyV1, currency, id};
use super::{BOOKING_VERSION, from_text, to_text, unknown, version_of};
use crate::StoredRowError;

const WHAT: &str = "stored booking";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum LineKindV1 {
    Service,
    Extra,
    Discount,
}

#[derive(Debug, Serialize, Deserialize)]
struct LineItemV1 {
    kind: LineKindV1,
    label: String,
    amount: MoneyV1,
}

/// Version 1 of a booking: the shape the first builds wrote.
#[derive(Debug, Serialize, Deserialize)]
struct BookingV1 {
    id: String,
    customer: String,
    currency: String,
    line_items: Vec<LineItemV1>,
    service_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
}

/// A booking's billing view as stored. A tip line is refused: a tip is a charge's (its
/// share's `tip` in the entry format), never one of the booking's own lines, which the core
/// never gives it.
pub fn encode_booking(account: &BookingAccount) -> Result<String, StoredRowError> {
    let line_items = account
        .line_items
        .iter()
        .map(|item| {
            let kind = match item.kind {
                LineItemKind::Service => LineKindV1::Service,
                LineItemKind::Extra => LineKindV1::Extra,
                LineItemKind::Discount => LineKindV1::Discount,
                LineItemKind::Tip => {
                    return Err(StoredRowError::new(
                        WHAT,
                        "a tip line among a booking's own lines",
                    ));
                }
            };
            Ok(LineItemV1 {
                kind,
                label: item.label.clone(),
                amount: MoneyV1::of(&item.amount),
            })
        })
        .collect::<Result<_, StoredRowError>>()?;
    to_text(
        WHAT,
        BOOKING_VERSION,
        &BookingV1 {
            id: account.id.to_string(),
            customer: account.customer.to_string(),
            currency: account.currency.code().to_owned(),
            line_items,
            service_at: account.service_at,
            completed_at: account.completed_at,
        },
    )
}

/// A booking's billing view read back, from any version. Kept as it was written: the price is
/// not checked again (a rule that tightened since must not make old bookings unreadable).
pub fn decode_booking(text: &str) -> Result<BookingAccount, StoredRowError> {
    let row: BookingV1 = match version_of(WHAT, text)? {
        1 => from_text(WHAT, text)?,
        other => return Err(unknown(WHAT, other)),
    };
    let line_items = row
        .line_items
        .into_iter()
        .map(|item| {
            Ok(LineItem {
                kind: match item.kind {
                    LineKindV1::Service => LineItemKind::Service,
                    LineKindV1::Extra => LineItemKind::Extra,
                    LineKindV1::Discount => LineItemKind::Discount,
                },
                label: item.label,
                amount: item.amount.read(WHAT)?,
            })
        })
        .collect::<Result<_, StoredRowError>>()?;
    Ok(BookingAccount {
        id: id::<BookingId>(WHAT, &row.id)?,
        customer: id::<CustomerId>(WHAT, &row.customer)?,
        currency: currency(WHAT, &row.currency)?,
        line_items,
        service_at: row.service_at,
        completed_at: row.completed_at,
    })
}
