//! A booking's billing view: who pays, in which currency, and the line items that make its price.

use chrono::{DateTime, Utc};

use crate::ids::{BookingId, CustomerId};
use crate::money::{Currency, Money, MoneyError};

/// What a line item is. Discounts lower the price; everything else raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineItemKind {
    /// The booked service itself.
    Service,
    /// An extra added to the service (inside the oven, extra hour...).
    Extra,
    /// A discount, subtracted from the price.
    Discount,
    /// A tip the customer gave with a card charge. Never stored among a booking's own lines:
    /// a tip line is the tip of a charge that succeeded (see
    /// [`Allocation::tip`](crate::payment::Allocation::tip)), so that a charge declined or
    /// abandoned leaves none. Never discounted, and never part of the price that percentage
    /// fees are taken from.
    Tip,
}

/// One line of a booking's price. The amount is never negative; a discount's kind subtracts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// What the line is.
    pub kind: LineItemKind,
    /// What the customer reads.
    pub label: String,
    /// The line's amount, zero or more.
    pub amount: Money,
}

impl LineItem {
    /// A line item; the amount must not be negative and the label not empty.
    pub fn new(
        kind: LineItemKind,
        label: impl Into<String>,
        amount: Money,
    ) -> Result<LineItem, BookingError> {
        let label = label.into();
        if amount.is_negative() {
            return Err(BookingError::NegativeLineItem(amount));
        }
        if label.trim().is_empty() || label.len() > 200 {
            return Err(BookingError::InvalidLabel);
        }
        Ok(LineItem {
            kind,
            label,
            amount,
        })
    }

    /// What the line adds to the price (negative for a discount).
    pub fn contribution(&self) -> Money {
        match self.kind {
            LineItemKind::Discount => self.amount.negated(),
            LineItemKind::Service | LineItemKind::Extra | LineItemKind::Tip => self.amount,
        }
    }
}

/// Why a booking's billing view was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    /// A line item had a negative amount (use a discount).
    #[error("line item amount {0} is negative; use a discount line")]
    NegativeLineItem(Money),
    /// A line item's label was empty or longer than 200 characters.
    #[error("a line item needs a label of 1 to 200 characters")]
    InvalidLabel,
    /// A line item was not in the booking's currency.
    #[error("line item in {item}, booking in {booking}")]
    CurrencyMismatch {
        /// The booking's currency.
        booking: Currency,
        /// The line item's currency.
        item: Currency,
    },
    /// A tip line among a booking's own lines: a tip is given with a charge.
    #[error("a tip is given with a charge, not as a line of the booking")]
    TipLine,
    /// Discounts would make the price negative.
    #[error("the price would be negative ({0})")]
    NegativePrice(Money),
    /// Money arithmetic failed (out of range).
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A booking as billing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingAccount {
    /// The platform's booking id.
    pub id: BookingId,
    /// Who pays for it.
    pub customer: CustomerId,
    /// The currency of its price and of every payment for it.
    pub currency: Currency,
    /// The lines whose sum is the price; adjustments are appended as new lines.
    pub line_items: Vec<LineItem>,
    /// When the service is scheduled.
    pub service_at: Option<DateTime<Utc>>,
    /// When the service was completed (payment automation charges after it).
    pub completed_at: Option<DateTime<Utc>>,
}

impl BookingAccount {
    /// A booking with its line items, checked: every item in the booking's currency, and a price
    /// that is not negative.
    pub fn new(
        id: BookingId,
        customer: CustomerId,
        currency: Currency,
        line_items: Vec<LineItem>,
    ) -> Result<BookingAccount, BookingError> {
        let account = BookingAccount {
            id,
            customer,
            currency,
            line_items,
            service_at: None,
            completed_at: None,
        };
        account.refuse_tip_lines()?;
        account.price()?;
        Ok(account)
    }

    /// The sum of the booking's own line items (tips are not among them: a booking's
    /// [`Balance::price`](crate::status::Balance::price) adds the tips of its succeeded
    /// charges). Errors when an item is in another currency or the sum is
    /// negative.
    pub fn price(&self) -> Result<Money, BookingError> {
        let mut total = Money::zero(self.currency);
        for item in &self.line_items {
            if item.amount.currency() != self.currency {
                return Err(BookingError::CurrencyMismatch {
                    booking: self.currency,
                    item: item.amount.currency(),
                });
            }
            total = total.checked_add(&item.contribution())?;
        }
        if total.is_negative() {
            return Err(BookingError::NegativePrice(total));
        }
        Ok(total)
    }

    /// The booking with one more line item (a price adjustment), checked like a new booking.
    pub fn with_line_item(&self, item: LineItem) -> Result<BookingAccount, BookingError> {
        let mut next = self.clone();
        next.line_items.push(item);
        next.refuse_tip_lines()?;
        next.price()?;
        Ok(next)
    }

    fn refuse_tip_lines(&self) -> Result<(), BookingError> {
        if self.line_items.iter().any(|i| i.kind == LineItemKind::Tip) {
            return Err(BookingError::TipLine);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn booking(items: Vec<LineItem>) -> Result<BookingAccount, BookingError> {
        BookingAccount::new(
            BookingId::new("b1").unwrap(),
            CustomerId::new("c1").unwrap(),
            Currency::USD,
            items,
        )
    }

    #[test]
    fn price_is_the_sum_of_lines_less_discounts() {
        let account = booking(vec![
            LineItem::new(LineItemKind::Service, "Deep clean", usd(20000)).unwrap(),
            LineItem::new(LineItemKind::Extra, "Inside the oven", usd(3050)).unwrap(),
            LineItem::new(LineItemKind::Discount, "Loyalty", usd(1500)).unwrap(),
        ])
        .unwrap();
        assert_eq!(account.price(), Ok(usd(21550)));
    }

    #[test]
    fn bad_lines_are_refused() {
        assert!(LineItem::new(LineItemKind::Extra, "x", usd(-1)).is_err());
        assert!(LineItem::new(LineItemKind::Extra, " ", usd(1)).is_err());
        let eur = LineItem::new(
            LineItemKind::Extra,
            "x",
            Money::from_minor(1, Currency::EUR),
        );
        assert!(matches!(
            booking(vec![eur.unwrap()]),
            Err(BookingError::CurrencyMismatch { .. })
        ));
        let discount = LineItem::new(LineItemKind::Discount, "too much", usd(1)).unwrap();
        assert!(matches!(
            booking(vec![discount]),
            Err(BookingError::NegativePrice(_))
        ));
    }

    #[test]
    fn an_adjustment_is_a_new_line() {
        let account = booking(vec![
            LineItem::new(LineItemKind::Service, "Clean", usd(10000)).unwrap(),
        ])
        .unwrap();
        let raised = account
            .with_line_item(LineItem::new(LineItemKind::Extra, "Windows", usd(5000)).unwrap())
            .unwrap();
        assert_eq!(raised.price(), Ok(usd(15000)));
        assert_eq!(raised.line_items.len(), 2);
    }
}
