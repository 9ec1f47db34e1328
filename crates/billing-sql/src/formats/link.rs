//! The bookings a payment link pays (`payment_links.bookings`): each share and the balance it
//! was made against, in minor units of the link's currency.
//!
//! Version 1 is a bare JSON array (it predates versioned formats); a later version would be an
//! object with its `v`.

use billing_core::ids::BookingId;
use billing_core::link::LinkedBooking;
use billing_core::money::{Currency, Money};
use serde::{Deserialize, Serialize};

use super::parts::id;
use crate::StoredRowError;
use crate::rows::minor;

const WHAT: &str = "stored link bookings";

#[derive(Debug, Serialize, Deserialize)]
struct LinkedBookingV1 {
    booking: String,
    amount_minor: i64,
    balance_due_minor: i64,
}

/// Money of the link's currency in minor units; money of another currency is refused rather
/// than stored as a number that would read back in the wrong currency.
fn minor_in(money: &Money, currency: Currency) -> Result<i64, StoredRowError> {
    if money.currency() != currency {
        return Err(StoredRowError::new(
            WHAT,
            format!("{money} in a {currency} link"),
        ));
    }
    minor(money)
}

/// A link's bookings as stored.
pub fn encode_link_bookings(
    bookings: &[LinkedBooking],
    currency: Currency,
) -> Result<String, StoredRowError> {
    let rows = bookings
        .iter()
        .map(|b| {
            Ok(LinkedBookingV1 {
                booking: b.booking.to_string(),
                amount_minor: minor_in(&b.amount, currency)?,
                balance_due_minor: minor_in(&b.balance_due, currency)?,
            })
        })
        .collect::<Result<Vec<_>, StoredRowError>>()?;
    serde_json::to_string(&rows).map_err(|e| StoredRowError::new(WHAT, e))
}

/// A link's bookings read back.
pub fn decode_link_bookings(
    text: &str,
    currency: Currency,
) -> Result<Vec<LinkedBooking>, StoredRowError> {
    let rows: Vec<LinkedBookingV1> =
        serde_json::from_str(text).map_err(|e| StoredRowError::new(WHAT, e))?;
    rows.into_iter()
        .map(|b| {
            Ok(LinkedBooking {
                booking: id::<BookingId>(WHAT, &b.booking)?,
                amount: Money::from_minor(b.amount_minor, currency),
                balance_due: Money::from_minor(b.balance_due_minor, currency),
            })
        })
        .collect()
}
