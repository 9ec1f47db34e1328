//! The bookings a payment link pays (`payment_links.bookings`): each share and the balance it
//! was made against, in minor units of the link's currency.
//!
//! Version 1 is a bare JSON array (it predates versioned formats); a later version would be an
//! object with its `v`.

use billing_core::ids::BookingId;
use billing_core::link::{Checkout, CheckoutStep, LinkedBooking, ReturnUrl};
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

const CHECKOUT: &str = "stored link checkout";

/// Version 1 of a checkout (`payment_links.checkout`): `{"v":1, "booking", "step",
/// "return_url"}`.
#[derive(Debug, Serialize, Deserialize)]
struct CheckoutV1 {
    v: u32,
    booking: String,
    step: String,
    return_url: String,
}

/// A link's checkout as stored.
pub fn encode_checkout(checkout: &Checkout) -> Result<String, StoredRowError> {
    let row = CheckoutV1 {
        v: 1,
        booking: checkout.booking.to_string(),
        step: checkout.step.name().to_owned(),
        return_url: checkout.return_url.as_str().to_owned(),
    };
    serde_json::to_string(&row).map_err(|e| StoredRowError::new(CHECKOUT, e))
}

/// A link's checkout read back.
pub fn decode_checkout(text: &str) -> Result<Checkout, StoredRowError> {
    let row: CheckoutV1 =
        serde_json::from_str(text).map_err(|e| StoredRowError::new(CHECKOUT, e))?;
    if row.v != 1 {
        return Err(StoredRowError::new(
            CHECKOUT,
            format!("unknown format version {}", row.v),
        ));
    }
    Ok(Checkout {
        booking: id::<BookingId>(CHECKOUT, &row.booking)?,
        step: CheckoutStep::from_name(&row.step)
            .ok_or_else(|| StoredRowError::new(CHECKOUT, format!("unknown step {:?}", row.step)))?,
        return_url: ReturnUrl::parse(&row.return_url)
            .map_err(|e| StoredRowError::new(CHECKOUT, e))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkouts_round_trip_and_refuse_what_they_cannot_read() {
        let checkout = Checkout {
            booking: BookingId::new("b-1").expect("id"),
            step: CheckoutStep::Hold,
            return_url: ReturnUrl::parse("https://shop.example/done?x=1").expect("url"),
        };
        let text = encode_checkout(&checkout).expect("encode");
        assert_eq!(
            text,
            r#"{"v":1,"booking":"b-1","step":"hold","return_url":"https://shop.example/done?x=1"}"#
        );
        assert_eq!(decode_checkout(&text), Ok(checkout));
        for bad in [
            text.replace(r#""v":1"#, r#""v":2"#),
            text.replace("hold", "refund"),
            text.replace("https:", "http:"),
        ] {
            assert!(decode_checkout(&bad).is_err(), "{bad}");
        }
    }
}
