//! The core's use cases behind one object-safe trait, so that the handlers are written (and
//! compiled, and documented by utoipa) once rather than for every store and gateway pair.

use std::collections::BTreeMap;

use async_trait::async_trait;
use billing_core::booking::{BookingAccount, LineItem};
use billing_core::ids::{BookingId, BusinessId, CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::ports::{
    BookingFilter, Businesses, BusinessesError, CustomerDirectory, Ledger, PaymentGateway,
};
use billing_core::prelude::*;

/// Everything the API does with the engine, scoped by business.
#[async_trait]
pub(crate) trait Engine: Send + Sync {
    async fn business_by_key_hash(&self, hash: &str) -> Result<Option<Business>, BusinessesError>;
    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError>;
    async fn businesses(&self) -> Result<Vec<Business>, BusinessesError>;

    async fn put_customer(&self, b: &Business, c: Customer) -> Result<Customer, BillingError>;
    async fn customer_exists(&self, b: &Business, id: &CustomerId) -> Result<bool, BillingError>;
    async fn customer(&self, b: &Business, id: &CustomerId) -> Result<Customer, BillingError>;
    async fn cards(&self, b: &Business, id: &CustomerId) -> Result<Vec<SavedCard>, BillingError>;
    async fn attach_card(
        &self,
        b: &Business,
        id: &CustomerId,
        pm: &str,
    ) -> Result<SavedCard, BillingError>;
    async fn remove_card(
        &self,
        b: &Business,
        id: &CustomerId,
        pm: &str,
    ) -> Result<(), BillingError>;
    async fn set_default_card(
        &self,
        b: &Business,
        id: &CustomerId,
        pm: &str,
    ) -> Result<SavedCard, BillingError>;
    async fn customer_balance(
        &self,
        b: &Business,
        id: &CustomerId,
    ) -> Result<Vec<Money>, BillingError>;

    /// The booking's currency, `None` when the business has no such booking.
    async fn booking_currency(
        &self,
        b: &Business,
        id: &BookingId,
    ) -> Result<Option<Currency>, BillingError>;
    /// The payment's currency, `None` when the business has no such payment.
    async fn payment_currency(
        &self,
        b: &Business,
        id: &PaymentId,
    ) -> Result<Option<Currency>, BillingError>;
    /// The bookings' billing views (for their dates); unknown ids are left out.
    async fn accounts(
        &self,
        b: &Business,
        ids: &[BookingId],
    ) -> Result<BTreeMap<BookingId, BookingAccount>, BillingError>;
    async fn put_booking(
        &self,
        b: &Business,
        a: BookingAccount,
    ) -> Result<BookingView, BillingError>;
    async fn adjust_price(
        &self,
        b: &Business,
        id: &BookingId,
        item: LineItem,
    ) -> Result<BookingView, BillingError>;
    async fn booking(&self, b: &Business, id: &BookingId) -> Result<BookingView, BillingError>;
    async fn list_bookings(
        &self,
        b: &Business,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, BillingError>;
    async fn outstanding(&self, b: &Business) -> Result<OutstandingReport, BillingError>;

    /// True when a command was already made under this key.
    async fn key_used(&self, b: &Business, key: &IdempotencyKey) -> Result<bool, BillingError>;
    async fn charge(&self, b: &Business, c: ChargeBooking) -> Result<Receipt, BillingError>;
    async fn record_collection(
        &self,
        b: &Business,
        c: RecordCollection,
    ) -> Result<Receipt, BillingError>;
    async fn authorize(&self, b: &Business, c: AuthorizeBooking) -> Result<Receipt, BillingError>;
    async fn capture(&self, b: &Business, c: CaptureHold) -> Result<Receipt, BillingError>;
    async fn cancel_hold(&self, b: &Business, id: &PaymentId) -> Result<Receipt, BillingError>;
    async fn refund(&self, b: &Business, c: RefundPayment) -> Result<Receipt, BillingError>;
    async fn reconcile(&self, b: &Business, id: &PaymentId) -> Result<Receipt, BillingError>;
    async fn payment(&self, b: &Business, id: &PaymentId) -> Result<PaymentView, BillingError>;
}

#[async_trait]
impl<S, G> Engine for Billing<S, G>
where
    S: Ledger + CustomerDirectory + Businesses + Clone + Send + Sync + 'static,
    G: PaymentGateway + 'static,
{
    async fn business_by_key_hash(&self, hash: &str) -> Result<Option<Business>, BusinessesError> {
        self.store().business_by_key_hash(hash).await
    }

    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError> {
        Businesses::business(self.store(), id).await
    }

    async fn businesses(&self) -> Result<Vec<Business>, BusinessesError> {
        self.store().list_businesses().await
    }

    async fn put_customer(&self, b: &Business, c: Customer) -> Result<Customer, BillingError> {
        Billing::put_customer(self, b, c).await
    }

    async fn customer_exists(&self, b: &Business, id: &CustomerId) -> Result<bool, BillingError> {
        Ok(CustomerDirectory::customer(self.store(), &b.id, id)
            .await?
            .is_some())
    }

    async fn customer(&self, b: &Business, id: &CustomerId) -> Result<Customer, BillingError> {
        Billing::customer(self, b, id).await
    }

    async fn cards(&self, b: &Business, id: &CustomerId) -> Result<Vec<SavedCard>, BillingError> {
        Billing::cards(self, b, id).await
    }

    async fn attach_card(
        &self,
        b: &Business,
        id: &CustomerId,
        pm: &str,
    ) -> Result<SavedCard, BillingError> {
        Billing::attach_card(self, b, id, pm).await
    }

    async fn remove_card(
        &self,
        b: &Business,
        id: &CustomerId,
        pm: &str,
    ) -> Result<(), BillingError> {
        Billing::remove_card(self, b, id, pm).await
    }

    async fn set_default_card(
        &self,
        b: &Business,
        id: &CustomerId,
        pm: &str,
    ) -> Result<SavedCard, BillingError> {
        Billing::set_default_card(self, b, id, pm).await
    }

    async fn customer_balance(
        &self,
        b: &Business,
        id: &CustomerId,
    ) -> Result<Vec<Money>, BillingError> {
        Billing::customer_balance(self, b, id).await
    }

    async fn booking_currency(
        &self,
        b: &Business,
        id: &BookingId,
    ) -> Result<Option<Currency>, BillingError> {
        Ok(self
            .store()
            .summary(&b.id, id)
            .await?
            .map(|summary| summary.currency))
    }

    async fn payment_currency(
        &self,
        b: &Business,
        id: &PaymentId,
    ) -> Result<Option<Currency>, BillingError> {
        // A payment is always in its bookings' currency: the core refuses any other.
        let Some(bookings) = self.store().payment_bookings(&b.id, id).await? else {
            return Ok(None);
        };
        let Some(first) = bookings.first() else {
            return Ok(None);
        };
        self.booking_currency(b, first).await
    }

    async fn accounts(
        &self,
        b: &Business,
        ids: &[BookingId],
    ) -> Result<BTreeMap<BookingId, BookingAccount>, BillingError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        Ok(self
            .store()
            .load(&b.id, ids)
            .await?
            .into_iter()
            .map(|ledger| (ledger.account.id.clone(), ledger.account))
            .collect())
    }

    async fn put_booking(
        &self,
        b: &Business,
        a: BookingAccount,
    ) -> Result<BookingView, BillingError> {
        Billing::put_booking(self, b, a).await
    }

    async fn adjust_price(
        &self,
        b: &Business,
        id: &BookingId,
        item: LineItem,
    ) -> Result<BookingView, BillingError> {
        Billing::adjust_price(self, b, id, item).await
    }

    async fn booking(&self, b: &Business, id: &BookingId) -> Result<BookingView, BillingError> {
        Billing::booking(self, b, id).await
    }

    async fn list_bookings(
        &self,
        b: &Business,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, BillingError> {
        Billing::list_bookings(self, b, filter).await
    }

    async fn outstanding(&self, b: &Business) -> Result<OutstandingReport, BillingError> {
        Billing::outstanding(self, b).await
    }

    async fn key_used(&self, b: &Business, key: &IdempotencyKey) -> Result<bool, BillingError> {
        Ok(self.store().idempotency(&b.id, key).await?.is_some())
    }

    async fn charge(&self, b: &Business, c: ChargeBooking) -> Result<Receipt, BillingError> {
        Billing::charge(self, b, c).await
    }

    async fn record_collection(
        &self,
        b: &Business,
        c: RecordCollection,
    ) -> Result<Receipt, BillingError> {
        Billing::record_collection(self, b, c).await
    }

    async fn authorize(&self, b: &Business, c: AuthorizeBooking) -> Result<Receipt, BillingError> {
        Billing::authorize(self, b, c).await
    }

    async fn capture(&self, b: &Business, c: CaptureHold) -> Result<Receipt, BillingError> {
        Billing::capture(self, b, c).await
    }

    async fn cancel_hold(&self, b: &Business, id: &PaymentId) -> Result<Receipt, BillingError> {
        Billing::cancel_hold(self, b, id).await
    }

    async fn refund(&self, b: &Business, c: RefundPayment) -> Result<Receipt, BillingError> {
        Billing::refund(self, b, c).await
    }

    async fn reconcile(&self, b: &Business, id: &PaymentId) -> Result<Receipt, BillingError> {
        Billing::reconcile(self, b, id).await
    }

    async fn payment(&self, b: &Business, id: &PaymentId) -> Result<PaymentView, BillingError> {
        Billing::payment(self, b, id).await
    }
}
