//! Bookings: their billing view (line items, dates), balance and status.

use billing_core::billing::BookingView;
use billing_core::booking::{LineItem, LineItemKind};
use billing_core::status::{BookingSummary, PaymentStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MoneyJson, PaymentJson};

/// A line of a booking's price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineItemJson {
    /// `service`, `extra`, `discount` (subtracted) or `tip` (a charge's, read only).
    pub kind: LineItemKindJson,
    /// What the customer reads.
    pub label: String,
    /// The line's amount (never negative; a discount's kind subtracts it).
    pub amount: MoneyJson,
}

/// What a line item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineItemKindJson {
    /// The booked service.
    Service,
    /// An extra, added to the price.
    Extra,
    /// A discount, subtracted from the price.
    Discount,
    /// A tip given with a charge that succeeded, added to the price (read only: a tip is
    /// given with a charge, `tip` on `POST /v1/bookings/{id}/charges`).
    Tip,
}

impl From<LineItemKindJson> for LineItemKind {
    fn from(kind: LineItemKindJson) -> Self {
        match kind {
            LineItemKindJson::Service => LineItemKind::Service,
            LineItemKindJson::Extra => LineItemKind::Extra,
            LineItemKindJson::Discount => LineItemKind::Discount,
            LineItemKindJson::Tip => LineItemKind::Tip,
        }
    }
}

impl From<LineItemKind> for LineItemKindJson {
    fn from(kind: LineItemKind) -> Self {
        match kind {
            LineItemKind::Service => LineItemKindJson::Service,
            LineItemKind::Extra => LineItemKindJson::Extra,
            LineItemKind::Discount => LineItemKindJson::Discount,
            LineItemKind::Tip => LineItemKindJson::Tip,
        }
    }
}

impl From<&LineItem> for LineItemJson {
    fn from(item: &LineItem) -> Self {
        LineItemJson {
            kind: item.kind.into(),
            label: item.label.clone(),
            amount: item.amount.into(),
        }
    }
}

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusJson {
    /// Nothing paid and nothing held.
    NotCharged,
    /// Nothing paid yet; a hold is in place.
    PreAuthorized,
    /// Some, not all, of the price is paid.
    PartiallyCharged,
    /// The price is paid exactly.
    ChargedInFull,
    /// More than the price is paid: a refund is due.
    Overpaid,
    /// Everything paid was refunded.
    Refunded,
}

impl From<PaymentStatus> for StatusJson {
    fn from(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::NotCharged => StatusJson::NotCharged,
            PaymentStatus::PreAuthorized => StatusJson::PreAuthorized,
            PaymentStatus::PartiallyCharged => StatusJson::PartiallyCharged,
            PaymentStatus::ChargedInFull => StatusJson::ChargedInFull,
            PaymentStatus::Overpaid => StatusJson::Overpaid,
            PaymentStatus::Refunded => StatusJson::Refunded,
        }
    }
}

/// A booking's balance and status, without its line items and payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingSummaryJson {
    /// The booking id.
    pub id: String,
    /// Who pays.
    pub customer: String,
    /// Its currency.
    pub currency: String,
    /// When the service is scheduled.
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The sum of the line items.
    pub price: MoneyJson,
    /// What was paid, less refunds.
    pub paid: MoneyJson,
    /// What was refunded.
    pub refunded: MoneyJson,
    /// Sent to the gateway, outcome not known yet.
    pub in_flight: MoneyJson,
    /// What open holds can still capture.
    pub held: MoneyJson,
    /// `price - paid` (negative when overpaid).
    pub balance_due: MoneyJson,
    /// The derived status.
    pub status: StatusJson,
    /// Something waits for the gateway's outcome.
    pub pending: bool,
    /// The latest charge, hold or capture attempt failed.
    pub last_failed: bool,
    /// A payment of the booking is disputed by the customer's bank: a dispute is open, or was
    /// lost (then `paid` no longer counts the money that went back).
    pub disputed: bool,
}

impl From<&BookingSummary> for BookingSummaryJson {
    fn from(summary: &BookingSummary) -> Self {
        let balance = &summary.balance;
        BookingSummaryJson {
            id: summary.booking.to_string(),
            customer: summary.customer.to_string(),
            currency: summary.currency.code().to_owned(),
            service_at: summary.service_at,
            completed_at: summary.completed_at,
            price: balance.price.into(),
            paid: balance.paid.into(),
            refunded: balance.refunded.into(),
            in_flight: balance.in_flight.into(),
            held: balance.held.into(),
            balance_due: balance.balance_due.into(),
            status: summary.status.status.into(),
            pending: summary.status.pending,
            last_failed: summary.status.last_failed,
            disputed: summary.status.disputed,
        }
    }
}

/// A booking with its line items, balance, status and payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingJson {
    /// The booking id.
    pub id: String,
    /// Who pays.
    pub customer: String,
    /// Its currency.
    pub currency: String,
    /// The lines whose sum is the price: the booking's own, then a `tip` line for each
    /// succeeded charge that carried a tip (never to be sent back in `PUT`).
    pub line_items: Vec<LineItemJson>,
    /// When the service is scheduled.
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The sum of the line items, tips included.
    pub price: MoneyJson,
    /// What was paid, less refunds.
    pub paid: MoneyJson,
    /// What was refunded.
    pub refunded: MoneyJson,
    /// Sent to the gateway, outcome not known yet.
    pub in_flight: MoneyJson,
    /// What open holds can still capture.
    pub held: MoneyJson,
    /// `price - paid` (negative when overpaid).
    pub balance_due: MoneyJson,
    /// The derived status.
    pub status: StatusJson,
    /// Something waits for the gateway's outcome.
    pub pending: bool,
    /// The latest charge, hold or capture attempt failed.
    pub last_failed: bool,
    /// A payment of the booking is disputed (open, or lost).
    pub disputed: bool,
    /// Every payment touching the booking, oldest first.
    pub payments: Vec<PaymentJson>,
}

impl From<&BookingView> for BookingJson {
    fn from(view: &BookingView) -> Self {
        let summary = BookingSummaryJson::from(&view.summary);
        BookingJson {
            id: summary.id,
            customer: summary.customer,
            currency: summary.currency,
            line_items: view.lines().iter().map(LineItemJson::from).collect(),
            service_at: summary.service_at,
            completed_at: summary.completed_at,
            price: summary.price,
            paid: summary.paid,
            refunded: summary.refunded,
            in_flight: summary.in_flight,
            held: summary.held,
            balance_due: summary.balance_due,
            status: summary.status,
            pending: summary.pending,
            last_failed: summary.last_failed,
            disputed: summary.disputed,
            payments: view.payments.iter().map(PaymentJson::from).collect(),
        }
    }
}

/// A page of booking summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BookingList {
    /// The bookings, ordered by id.
    pub data: Vec<BookingSummaryJson>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// A line item to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemInput {
    /// `service`, `extra` or `discount`.
    pub kind: LineItemKindJson,
    /// What the customer reads (1 to 200 characters).
    pub label: String,
    /// A decimal string in the booking's currency, e.g. `"30.00"`.
    pub amount: String,
}

/// Create or replace a booking's billing view.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutBooking {
    /// The customer who pays (must exist).
    pub customer: String,
    /// The ISO 4217 currency of its price and payments.
    pub currency: String,
    /// The lines whose sum is the price.
    pub line_items: Vec<LineItemInput>,
    /// When the service is scheduled (RFC 3339).
    #[serde(default)]
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed (RFC 3339).
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use billing_core::ids::{BookingId, CustomerId};
    use billing_core::money::{Currency, Money};
    use billing_core::status::{Balance, BookingStatus};

    use super::*;

    #[test]
    fn a_summary_says_when_a_payment_is_disputed() {
        let usd = |amount: &str| Money::parse(amount, Currency::USD).unwrap();
        let summary = |disputed: bool| BookingSummary {
            booking: BookingId::new("b1").unwrap(),
            customer: CustomerId::new("c1").unwrap(),
            currency: Currency::USD,
            balance: Balance {
                price: usd("100.00"),
                paid: usd("100.00"),
                refunded: usd("0.00"),
                in_flight: usd("0.00"),
                held: usd("0.00"),
                refunds_in_flight: usd("0.00"),
                balance_due: usd("0.00"),
            },
            status: BookingStatus {
                status: PaymentStatus::ChargedInFull,
                pending: false,
                last_failed: false,
                disputed,
            },
            service_at: None,
            completed_at: None,
            as_of: DateTime::<Utc>::default(),
        };
        let json = |s: &BookingSummary| serde_json::to_value(BookingSummaryJson::from(s)).unwrap();
        assert_eq!(json(&summary(true))["disputed"], true);
        assert_eq!(json(&summary(false))["disputed"], false);
    }
}
