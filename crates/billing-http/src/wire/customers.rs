//! Customers and their saved cards ("payment options").

use billing_core::customer::{Customer, SavedCard};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::MoneyJson;

/// A card saved at the gateway ("payment option").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardJson {
    /// The gateway's payment method id (`pm_...`).
    pub payment_method: String,
    /// `visa`, `mastercard`...
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Expiry month, 1 to 12.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: u32,
    /// The card charged as "card on file".
    pub is_default: bool,
}

impl From<SavedCard> for CardJson {
    fn from(card: SavedCard) -> Self {
        CardJson {
            payment_method: card.payment_method,
            brand: card.brand,
            last4: card.last4,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            is_default: card.is_default,
        }
    }
}

/// A list of cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardList {
    /// The cards, the default first.
    pub data: Vec<CardJson>,
}

/// A customer with their saved cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerJson {
    /// The platform's customer id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email address.
    pub email: Option<String>,
    /// Their mobile number for texts, in E.164 (`+14155550123`).
    pub phone: Option<String>,
    /// Their saved cards, the default first.
    pub cards: Vec<CardJson>,
}

impl CustomerJson {
    /// The customer and their cards.
    pub fn new(customer: Customer, cards: Vec<SavedCard>) -> Self {
        CustomerJson {
            id: customer.id.to_string(),
            name: customer.name,
            email: customer.email,
            phone: customer.phone.map(|p| p.as_str().to_owned()),
            cards: cards.into_iter().map(CardJson::from).collect(),
        }
    }
}

/// What a customer owes, one amount per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerBalanceJson {
    /// The customer.
    pub customer: String,
    /// One amount per currency owed; empty when nothing is owed.
    pub balance_due: Vec<MoneyJson>,
}

/// Create or update a customer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// The platform's customer id: 1 to 64 letters, digits, `_ - . :`.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Their mobile number for texts: E.164 (`+14155550123`), or a national number with
    /// `phone_region`.
    #[serde(default)]
    pub phone: Option<String>,
    /// The region a national `phone` is read in (ISO 3166 code, `US`, `GB`...).
    #[serde(default)]
    pub phone_region: Option<String>,
}

/// Attach a card made by the gateway's card form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachCard {
    /// The gateway's payment method id (`pm_card_visa` on the sandbox).
    pub payment_method: String,
}
