//! The core's use cases behind one object-safe trait, so that the handlers are written (and
//! compiled, and documented by utoipa) once rather than for every store and gateway pair.

use std::collections::BTreeMap;

use async_trait::async_trait;
use billing_core::billing::{CreatePaymentLink, IssuedLink, LinkPage, LinkPaid, PayLink};
use billing_core::booking::{BookingAccount, LineItem};
use billing_core::ids::{BookingId, BusinessId, CustomerId, LinkId, NotificationId, PaymentId};
use billing_core::link::{LinkToken, PaymentLink};
use billing_core::money::{Currency, Money};
use billing_core::notification::Notification;
use billing_core::ports::{
    BookingFilter, Businesses, BusinessesError, CardSetup, CustomerDirectory, Ledger,
    NotificationLog, PaymentGateway, PaymentLinks, StoredResponse,
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
    /// Keeps the first answer to the completed command under a key, for its replays (the first
    /// one saved wins; see `Billing::save_response`).
    async fn save_response(
        &self,
        b: &Business,
        key: &IdempotencyKey,
        response: StoredResponse,
    ) -> Result<(), BillingError>;
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

    async fn create_payment_link(
        &self,
        b: &Business,
        c: CreatePaymentLink,
    ) -> Result<IssuedLink, BillingError>;
    async fn request_card(
        &self,
        b: &Business,
        customer: &CustomerId,
        send_email: bool,
    ) -> Result<IssuedLink, BillingError>;
    async fn link(&self, b: &Business, id: &LinkId) -> Result<PaymentLink, BillingError>;
    async fn customer_links(
        &self,
        b: &Business,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, BillingError>;
    async fn cancel_link(&self, b: &Business, id: &LinkId) -> Result<PaymentLink, BillingError>;
    /// A customer's notifications, newest first; another business's customer is not found.
    async fn customer_notifications(
        &self,
        b: &Business,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, BillingError>;
    /// A notification, `None` when the business has no such notification.
    async fn notification(
        &self,
        b: &Business,
        id: &NotificationId,
    ) -> Result<Option<Notification>, BillingError>;

    // The hosted pages: by token, no business.
    async fn open_link(&self, token: &str) -> Result<LinkPage, BillingError>;
    async fn pay_link(&self, token: &str, c: PayLink) -> Result<LinkPaid, BillingError>;
    async fn card_request_setup(&self, token: &str) -> Result<CardSetup, BillingError>;
    async fn complete_card_request(&self, token: &str, pm: &str)
    -> Result<SavedCard, BillingError>;
    /// The name of the business whose link has this token, for a page that must name it (a
    /// changed link's). Only asked after the core accepted the token.
    async fn business_name_of_token(&self, token: &str) -> Option<String>;
}

#[async_trait]
impl<S, G> Engine for Billing<S, G>
where
    S: Ledger
        + CustomerDirectory
        + Businesses
        + PaymentLinks
        + NotificationLog
        + Clone
        + Send
        + Sync
        + 'static,
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

    async fn save_response(
        &self,
        b: &Business,
        key: &IdempotencyKey,
        response: StoredResponse,
    ) -> Result<(), BillingError> {
        Billing::save_response(self, b, key, response).await
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

    async fn create_payment_link(
        &self,
        b: &Business,
        c: CreatePaymentLink,
    ) -> Result<IssuedLink, BillingError> {
        Billing::create_payment_link(self, b, c).await
    }

    async fn request_card(
        &self,
        b: &Business,
        customer: &CustomerId,
        send_email: bool,
    ) -> Result<IssuedLink, BillingError> {
        Billing::request_card(self, b, customer, send_email).await
    }

    async fn link(&self, b: &Business, id: &LinkId) -> Result<PaymentLink, BillingError> {
        Billing::link(self, b, id).await
    }

    async fn customer_links(
        &self,
        b: &Business,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, BillingError> {
        Billing::customer_links(self, b, customer, limit).await
    }

    async fn cancel_link(&self, b: &Business, id: &LinkId) -> Result<PaymentLink, BillingError> {
        Billing::cancel_link(self, b, id).await
    }

    async fn customer_notifications(
        &self,
        b: &Business,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, BillingError> {
        Billing::customer(self, b, customer).await?;
        Ok(self.store().customer_log(&b.id, customer, limit).await?)
    }

    async fn notification(
        &self,
        b: &Business,
        id: &NotificationId,
    ) -> Result<Option<Notification>, BillingError> {
        Ok(NotificationLog::notification(self.store(), &b.id, id).await?)
    }

    async fn open_link(&self, token: &str) -> Result<LinkPage, BillingError> {
        Billing::open_link(self, token).await
    }

    async fn pay_link(&self, token: &str, c: PayLink) -> Result<LinkPaid, BillingError> {
        Billing::pay_link(self, token, c).await
    }

    async fn card_request_setup(&self, token: &str) -> Result<CardSetup, BillingError> {
        Billing::card_request_setup(self, token).await
    }

    async fn complete_card_request(
        &self,
        token: &str,
        pm: &str,
    ) -> Result<SavedCard, BillingError> {
        Billing::complete_card_request(self, token, pm).await
    }

    async fn business_name_of_token(&self, token: &str) -> Option<String> {
        let hash = LinkToken::parse(token)?.hash();
        let found = self.store().link_by_token(&hash).await.ok()??;
        if !found.token_hash.matches(&hash) {
            return None;
        }
        let business = Businesses::business(self.store(), &found.business)
            .await
            .ok()??;
        Some(business.name)
    }
}
