//! Customers, their saved cards, and businesses.

use billing_core::customer::{Business, Customer, SavedCard};
use billing_core::ids::{BusinessId, CustomerId};
use billing_core::phone::PhoneNumber;

use super::id;
use crate::StoredRowError;

/// A customer row: `id, name, email, phone, gateway_customer`.
#[derive(Debug, sqlx::FromRow)]
pub struct CustomerRow {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    gateway_customer: Option<String>,
}

impl CustomerRow {
    /// The customer.
    pub fn into_customer(self) -> Result<Customer, StoredRowError> {
        Ok(Customer {
            id: id::<CustomerId>("stored customer", &self.id)?,
            name: self.name,
            email: self.email,
            phone: stored_phone(self.phone.as_deref())?,
            gateway_customer: self.gateway_customer,
        })
    }
}

/// A stored phone number, checked again as it is read: a number that no longer reads as
/// E.164 is corrupt, never passed on as it is.
pub fn stored_phone(phone: Option<&str>) -> Result<Option<PhoneNumber>, StoredRowError> {
    phone
        .map(|phone| {
            PhoneNumber::from_e164(phone).map_err(|e| StoredRowError::new("stored customer", e))
        })
        .transpose()
}

/// A saved card row: `payment_method, brand, last4, exp_month, exp_year, is_default`.
#[derive(Debug, sqlx::FromRow)]
pub struct CardRow {
    payment_method: String,
    brand: String,
    last4: String,
    exp_month: i64,
    exp_year: i64,
    is_default: bool,
}

impl CardRow {
    /// The card.
    pub fn into_card(self) -> Result<SavedCard, StoredRowError> {
        let number = |n: i64| u32::try_from(n).map_err(|e| StoredRowError::new("stored card", e));
        Ok(SavedCard {
            payment_method: self.payment_method,
            brand: self.brand,
            last4: self.last4,
            exp_month: number(self.exp_month)?,
            exp_year: number(self.exp_year)?,
            is_default: self.is_default,
        })
    }
}

/// A business row: `id, name, gateway_account, email`.
#[derive(Debug, sqlx::FromRow)]
pub struct BusinessRow {
    id: String,
    name: String,
    gateway_account: Option<String>,
    email: Option<String>,
}

impl BusinessRow {
    /// The business.
    pub fn into_business(self) -> Result<Business, StoredRowError> {
        Ok(Business {
            id: id::<BusinessId>("stored business", &self.id)?,
            name: self.name,
            gateway_account: self.gateway_account,
            email: self.email,
        })
    }
}
