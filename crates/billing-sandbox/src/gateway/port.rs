//! The [`PaymentGateway`] port, each method handed to the module of its area.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use billing_core::customer::SavedCard;
use billing_core::ids::PaymentId;
use billing_core::money::Money;
use billing_core::ports::{
    AmountRefused, CancelRequest, CaptureRequest, CardSetup, GatewayError, GatewayEvent,
    GatewayPayment, GatewayRecord, GatewayRefund, NewGatewayCustomer, PaymentGateway,
    PaymentRequest, RefundRequest, SetupState,
};

use super::{SandboxGateway, amounts, authentication, customers, holds, payments, refunds, setups};
use crate::state::KEY_LIFETIME_HOURS;

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn create_customer(&self, customer: &NewGatewayCustomer) -> Result<String, GatewayError> {
        customers::create_customer(self, customer).await
    }

    async fn list_cards(
        &self,
        account: Option<String>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        customers::list_cards(self, account, gateway_customer).await
    }

    async fn attach_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        customers::attach_card(self, account, gateway_customer, payment_method).await
    }

    async fn detach_card(
        &self,
        account: Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        customers::detach_card(self, account, payment_method).await
    }

    async fn set_default_card(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        customers::set_default_card(self, account, gateway_customer, payment_method).await
    }

    async fn charge(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.check_account_charges(request.account.as_deref())?;
        payments::pay(self, request, false).await
    }

    async fn authorize(&self, request: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.check_account_charges(request.account.as_deref())?;
        payments::pay(self, request, true).await
    }

    async fn capture(&self, request: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        holds::capture(self, request).await
    }

    async fn cancel(&self, request: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        holds::cancel(self, request).await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        refunds::refund(self, request).await
    }

    async fn find_payment(
        &self,
        account: Option<String>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        payments::find_payment(self, account, payment).await
    }

    async fn find_refund(
        &self,
        account: Option<String>,
        payment_reference: &str,
        refund: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        refunds::find_refund(self, account, payment_reference, refund).await
    }

    async fn start_card_setup(
        &self,
        account: Option<String>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError> {
        setups::start_card_setup(self, account, gateway_customer, idempotency_key).await
    }

    async fn confirm_card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
        payment_method: &str,
        return_url: &str,
    ) -> Result<SetupState, GatewayError> {
        setups::confirm_card_setup(self, account, setup_reference, payment_method, return_url).await
    }

    async fn card_setup(
        &self,
        account: Option<String>,
        setup_reference: &str,
    ) -> Result<SetupState, GatewayError> {
        setups::card_setup(self, account, setup_reference).await
    }

    async fn payment_record(
        &self,
        account: Option<String>,
        reference: &str,
    ) -> Result<GatewayRecord, GatewayError> {
        payments::payment_record(self, account, reference).await
    }

    async fn events_since(
        &self,
        account: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GatewayEvent>, GatewayError> {
        authentication::events_since(self, account, since).await
    }

    fn check_amount(&self, amount: &Money) -> Result<(), AmountRefused> {
        amounts::chargeable(amount)
    }

    /// Stripe's 24 hours, on the core's clock.
    fn idempotency_window(&self) -> chrono::Duration {
        chrono::Duration::hours(KEY_LIFETIME_HOURS)
    }

    /// None: the sandbox finds a payment by our id as soon as it is made.
    fn search_lag(&self) -> chrono::Duration {
        chrono::Duration::zero()
    }
}
