//! Businesses, their customers, and the cards customers keep on file.

use crate::ids::{BusinessId, CustomerId};
use crate::phone::PhoneNumber;

/// A business using the engine: a tenant. Every object belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Business {
    /// Its id.
    pub id: BusinessId,
    /// Its name, as customers see it.
    pub name: String,
    /// Its connected gateway account (Stripe Connect `acct_...`); the platform acts on it.
    pub gateway_account: Option<String>,
    /// Where notices to the business go (a customer paid, a customer saved a card); without
    /// one, no notices are sent.
    pub email: Option<String>,
}

/// A customer of a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The platform's customer id.
    pub id: CustomerId,
    /// Their name.
    pub name: String,
    /// Where receipts and links go.
    pub email: Option<String>,
    /// Where texts go (payment links, card requests, automation's notices), when the
    /// customer gave a mobile number.
    pub phone: Option<PhoneNumber>,
    /// The gateway's customer id (`cus_...`), once created there.
    pub gateway_customer: Option<String>,
}

/// A card saved at the gateway for future charges. Only the gateway holds the card number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCard {
    /// The gateway's payment method id (`pm_...`).
    pub payment_method: String,
    /// The card brand (`visa`, `mastercard`...).
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Expiry month, 1 to 12.
    pub exp_month: u32,
    /// Expiry year, four digits.
    pub exp_year: u32,
    /// The card charged when staff say "card on file".
    pub is_default: bool,
}
