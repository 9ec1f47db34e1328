//! The scripted gateway, decorated for tests that need what it does not do itself: a slow
//! charge (a request timeout fires while the charge is at the gateway), or the sandbox's own
//! 3-D Secure challenge pages (a next action that names a page to send the customer to).

use billing_core::ports::{
    AmountRefused, CancelRequest, CaptureRequest, CardSetup, GatewayError, GatewayEvent,
    GatewayPayment, GatewayRecord, GatewayRefund, NewGatewayCustomer, NextAction, PaymentGateway,
    PaymentRequest, RefundRequest, SetupState, SetupStatus,
};
use chrono::{DateTime, Utc};

use crate::common::*;

/// Where the decorated gateway's challenge pages are, as the sandbox's are (mounted by
/// `billingd` under `/sandbox/`).
pub const CHALLENGE: &str = "/sandbox/authenticate/";

/// The scripted gateway with a decoration.
#[derive(Clone)]
pub struct Decorated {
    inner: ScriptedGateway,
    slow_charges: bool,
    challenge_pages: bool,
}

impl Decorated {
    /// Charges take 300 ms.
    pub fn slow(gateway: ScriptedGateway) -> Arc<dyn PaymentGateway> {
        Arc::new(Decorated {
            inner: gateway,
            slow_charges: true,
            challenge_pages: false,
        })
    }

    /// Next actions name a challenge page, as the sandbox's do.
    pub fn with_challenge_pages(gateway: ScriptedGateway) -> Arc<dyn PaymentGateway> {
        Arc::new(Decorated {
            inner: gateway,
            slow_charges: false,
            challenge_pages: true,
        })
    }

    fn next(&self, reference: &str, next: Option<NextAction>) -> Option<NextAction> {
        next.map(|next| NextAction {
            redirect_url: if self.challenge_pages {
                Some(format!("{CHALLENGE}{reference}?from=tests"))
            } else {
                next.redirect_url
            },
            client_secret: next.client_secret,
        })
    }

    fn payment(
        &self,
        answer: Result<GatewayPayment, GatewayError>,
    ) -> Result<GatewayPayment, GatewayError> {
        answer.map(|mut payment| {
            payment.next_action = self.next(&payment.reference, payment.next_action.take());
            payment
        })
    }

    fn setup(&self, answer: Result<SetupState, GatewayError>) -> Result<SetupState, GatewayError> {
        answer.map(|mut state| {
            if let SetupStatus::RequiresAction(next) = state.status {
                let next = self.next(&state.reference, Some(next));
                state.status = SetupStatus::RequiresAction(next.unwrap());
            }
            state
        })
    }
}

#[async_trait::async_trait]
impl PaymentGateway for Decorated {
    async fn create_customer(&self, c: &NewGatewayCustomer) -> Result<String, GatewayError> {
        self.inner.create_customer(c).await
    }
    async fn list_cards(&self, a: Option<String>, c: &str) -> Result<Vec<SavedCard>, GatewayError> {
        self.inner.list_cards(a, c).await
    }
    async fn attach_card(
        &self,
        a: Option<String>,
        c: &str,
        pm: &str,
    ) -> Result<SavedCard, GatewayError> {
        self.inner.attach_card(a, c, pm).await
    }
    async fn detach_card(&self, a: Option<String>, pm: &str) -> Result<(), GatewayError> {
        self.inner.detach_card(a, pm).await
    }
    async fn set_default_card(
        &self,
        a: Option<String>,
        c: &str,
        pm: &str,
    ) -> Result<(), GatewayError> {
        self.inner.set_default_card(a, c, pm).await
    }
    async fn charge(&self, r: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        if self.slow_charges {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        self.payment(self.inner.charge(r).await)
    }
    async fn authorize(&self, r: &PaymentRequest) -> Result<GatewayPayment, GatewayError> {
        self.payment(self.inner.authorize(r).await)
    }
    async fn capture(&self, r: &CaptureRequest) -> Result<GatewayPayment, GatewayError> {
        self.payment(self.inner.capture(r).await)
    }
    async fn cancel(&self, r: &CancelRequest) -> Result<GatewayPayment, GatewayError> {
        self.payment(self.inner.cancel(r).await)
    }
    async fn refund(&self, r: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.inner.refund(r).await
    }
    async fn find_payment(
        &self,
        a: Option<String>,
        p: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        match self.inner.find_payment(a, p).await? {
            Some(found) => self.payment(Ok(found)).map(Some),
            None => Ok(None),
        }
    }
    async fn find_refund(
        &self,
        a: Option<String>,
        r: &str,
        p: &PaymentId,
    ) -> Result<Option<GatewayRefund>, GatewayError> {
        self.inner.find_refund(a, r, p).await
    }
    async fn start_card_setup(
        &self,
        a: Option<String>,
        c: &str,
        k: &str,
    ) -> Result<CardSetup, GatewayError> {
        self.inner.start_card_setup(a, c, k).await
    }
    async fn confirm_card_setup(
        &self,
        a: Option<String>,
        s: &str,
        pm: &str,
        back: &str,
    ) -> Result<SetupState, GatewayError> {
        self.setup(self.inner.confirm_card_setup(a, s, pm, back).await)
    }
    async fn card_setup(&self, a: Option<String>, s: &str) -> Result<SetupState, GatewayError> {
        self.setup(self.inner.card_setup(a, s).await)
    }
    async fn payment_record(
        &self,
        a: Option<String>,
        r: &str,
    ) -> Result<GatewayRecord, GatewayError> {
        let mut record = self.inner.payment_record(a, r).await?;
        record.payment = self.payment(Ok(record.payment))?;
        Ok(record)
    }
    async fn events_since(
        &self,
        a: Option<String>,
        since: DateTime<Utc>,
    ) -> Result<Vec<GatewayEvent>, GatewayError> {
        self.inner.events_since(a, since).await
    }
    fn check_amount(&self, amount: &Money) -> Result<(), AmountRefused> {
        self.inner.check_amount(amount)
    }
    fn idempotency_window(&self) -> chrono::Duration {
        self.inner.idempotency_window()
    }
    fn search_lag(&self) -> chrono::Duration {
        self.inner.search_lag()
    }
}
