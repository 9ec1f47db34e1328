//! Charges and holds (PaymentIntents): made off-session or with the customer there, captured,
//! canceled, found again, and read into the port's terms.

use stripe::StripeRequest;
use stripe_core::PaymentIntentCaptureMethod;
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent, CreatePaymentIntentOffSession,
    CreatePaymentIntentPaymentMethodOptions, CreatePaymentIntentPaymentMethodOptionsCard,
    CreatePaymentIntentPaymentMethodOptionsCardRequestMulticapture, RetrievePaymentIntent,
    SearchPaymentIntent,
};
use stripe_shared::{
    ApiErrors, Charge, PaymentIntent, PaymentIntentAllowedPaymentMethodTypes,
    PaymentIntentSetupFutureUsage, PaymentIntentStatus,
};

use billing_core::ids::PaymentId;
use billing_core::ports::{
    CancelRequest, CaptureRequest, GatewayError, GatewayPayment, GatewayStatus, PaymentRequest,
    Presence,
};

use crate::amounts;
use crate::call::CallError;
use crate::convert;
use crate::gateway::{PAYMENT_ID_KEY, StripeGateway, invalid, mutating, read, refusal, truncate};

/// Stripe's error code, when it gave one.
pub(crate) fn error_code(error: &ApiErrors) -> Option<&str> {
    error.code.as_ref().map(|c| c.as_str())
}

/// What comes expanded with every intent we read: its charge says the hold's expiry, whether
/// it can be captured in parts, and the card charged, without another call.
fn with_charge() -> Vec<String> {
    vec![String::from("latest_charge")]
}

impl StripeGateway {
    /// The intent's charge, expanded or fetched; `None` when it has none or it cannot be read
    /// (which is no reason to fail the call: what it would say has defaults).
    async fn charge_behind(&self, account: Option<&str>, intent: &PaymentIntent) -> Option<Charge> {
        let charge = intent.latest_charge.as_ref()?;
        if let Some(object) = charge.as_object() {
            return Some(object.clone());
        }
        let request = RetrieveCharge::new(charge.id().clone());
        self.call(read("retrieve a Charge"), account, None, |t| {
            t.apply(request.customize()).send(&self.client)
        })
        .await
        .ok()
    }

    /// The port's view of an intent. A hold's expiry and whether it can be captured in parts
    /// come from its charge, read when it did not come along.
    pub(crate) async fn view(
        &self,
        account: Option<&str>,
        intent: &PaymentIntent,
        card_error: Option<&ApiErrors>,
    ) -> Result<GatewayPayment, GatewayError> {
        let mut payment = convert::payment_of(intent, card_error)?;
        if payment.status == GatewayStatus::RequiresCapture {
            let charge = self.charge_behind(account, intent).await;
            payment.hold_expires_at = charge
                .as_ref()
                .and_then(convert::capture_before)
                .or_else(|| convert::default_hold_expiry(intent));
            if let Some(charge) = &charge {
                payment.multicapture = convert::multicapture(charge);
                payment.card = payment.card.or_else(|| convert::card_of_charge(charge));
            }
        }
        Ok(payment)
    }

    /// A charge (`hold: false`) or a hold on a card, with the customer away or there.
    pub(crate) async fn pay(
        &self,
        request: &PaymentRequest,
        hold: bool,
    ) -> Result<GatewayPayment, GatewayError> {
        let (amount, currency) =
            amounts::charge_to_stripe(&request.amount).map_err(|e| invalid(e.to_string()))?;
        let mut create = CreatePaymentIntent::new(amount, currency)
            .customer(request.card.gateway_customer.as_str())
            .payment_method(request.card.payment_method.as_str())
            .confirm(true)
            .metadata([(PAYMENT_ID_KEY.to_owned(), request.payment.to_string())])
            .expand(with_charge());
        create = match &request.presence {
            // Merchant-initiated: a card that asks for authentication is declined at once.
            Presence::OffSession => create.off_session(CreatePaymentIntentOffSession::Bool(true)),
            // The customer is on the page: Stripe may ask them to authenticate, and sends
            // their browser back to `return_url` when the bank's page is done.
            Presence::OnSession {
                return_url,
                save_card,
            } => {
                let create = create.return_url(return_url.as_str());
                if *save_card {
                    create.setup_future_usage(PaymentIntentSetupFutureUsage::OffSession)
                } else {
                    create
                }
            }
        };
        if self.config.card_only {
            create =
                create.allowed_payment_method_types([PaymentIntentAllowedPaymentMethodTypes::Card]);
        }
        if hold {
            // Multicapture where the account and the card allow it: the charge says whether
            // it was granted.
            let card = CreatePaymentIntentPaymentMethodOptionsCard {
                request_multicapture: Some(
                    CreatePaymentIntentPaymentMethodOptionsCardRequestMulticapture::IfAvailable,
                ),
                ..CreatePaymentIntentPaymentMethodOptionsCard::new()
            };
            create = create
                .capture_method(PaymentIntentCaptureMethod::Manual)
                .payment_method_options(CreatePaymentIntentPaymentMethodOptions {
                    card: Some(card),
                    ..CreatePaymentIntentPaymentMethodOptions::new()
                });
        }
        if let Some(description) = &request.description {
            create = create.description(truncate(description, 1000));
        }
        let what = if hold {
            "place a hold (PaymentIntent, manual capture)"
        } else {
            "charge a card (PaymentIntent)"
        };
        let account = request.account.as_deref();
        let answer = match self
            .send(
                mutating(what),
                account,
                Some(&request.idempotency_key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await
        {
            Ok(intent) => self.view(account, &intent, None).await?,
            // A decline is an answer: Stripe's 402 carries the intent it left.
            Err(CallError::Api { error, status }) => match (&error.payment_intent, status) {
                (Some(intent), 402) => self.view(account, intent, Some(&error)).await?,
                _ => return Err(refusal(mutating(what), CallError::Api { error, status })),
            },
            Err(other) => return Err(refusal(mutating(what), other)),
        };
        if answer.amount != request.amount {
            return Err(GatewayError::UnknownOutcome(format!(
                "Stripe answered {} for payment {}, {} was asked; the payment must be checked by hand",
                answer.amount, request.payment, request.amount
            )));
        }
        Ok(answer)
    }

    /// Captures part or all of a hold.
    pub(crate) async fn capture_hold(
        &self,
        request: &CaptureRequest,
    ) -> Result<GatewayPayment, GatewayError> {
        let (amount, currency) =
            amounts::to_stripe(&request.amount).map_err(|e| invalid(e.to_string()))?;
        let mut capture = CapturePaymentIntent::new(request.payment_reference.as_str())
            .amount_to_capture(amount)
            .expand(with_charge());
        if !request.final_capture {
            // Only sent when asked: `final_capture` is a multicapture parameter, refused for
            // intents that did not ask for multicapture.
            capture = capture.final_capture(false);
        }
        let account = request.account.as_deref();
        let intent = self
            .call(
                mutating("capture a PaymentIntent"),
                account,
                Some(&request.idempotency_key),
                |t| t.apply(capture.customize()).send(&self.client),
            )
            .await?;
        if intent.currency != currency {
            return Err(GatewayError::UnknownOutcome(format!(
                "Stripe answered the capture of {} in {}, {} was asked",
                request.payment_reference, intent.currency, request.amount
            )));
        }
        self.view(account, &intent, None).await
    }

    /// Releases a hold, or gives up an attempt that waits for the customer (to authenticate,
    /// or for another card). An intent that ended meanwhile — captured, or canceled by Stripe
    /// or in the Dashboard — is answered as it stands: Stripe refuses to cancel it and says
    /// how it ended.
    pub(crate) async fn cancel_intent(
        &self,
        request: &CancelRequest,
    ) -> Result<GatewayPayment, GatewayError> {
        // No `cancellation_reason`: localstripe refuses it, and Stripe's reasons do not add
        // anything our own records do not say.
        let cancel =
            CancelPaymentIntent::new(request.payment_reference.as_str()).expand(with_charge());
        let account = request.account.as_deref();
        let kind = mutating("cancel a PaymentIntent");
        match self
            .send(kind, account, Some(&request.idempotency_key), |t| {
                t.apply(cancel.customize()).send(&self.client)
            })
            .await
        {
            Ok(intent) => self.view(account, &intent, None).await,
            Err(CallError::Api { error, status })
                if status == 400
                    && error_code(&error) == Some("payment_intent_unexpected_state") =>
            {
                // Read the intent whole (Stripe's error may carry a copy, not expanded).
                let current = self
                    .retrieve_intent(account, &request.payment_reference)
                    .await?;
                match current.status {
                    PaymentIntentStatus::Canceled | PaymentIntentStatus::Succeeded => {
                        self.view(account, &current, None).await
                    }
                    _ => Err(refusal(kind, CallError::Api { error, status })),
                }
            }
            Err(other) => Err(refusal(kind, other)),
        }
    }

    /// One intent, with its charge.
    pub(crate) async fn retrieve_intent(
        &self,
        account: Option<&str>,
        reference: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        let retrieve = RetrievePaymentIntent::new(reference).expand(with_charge());
        self.call(read("retrieve a PaymentIntent"), account, None, |t| {
            t.apply(retrieve.customize()).send(&self.client)
        })
        .await
    }

    /// The charge or hold made for our payment id, found by Stripe's search.
    pub(crate) async fn search_payment(
        &self,
        account: Option<&str>,
        payment: &PaymentId,
    ) -> Result<Option<GatewayPayment>, GatewayError> {
        // Our ids are letters, digits and `_ - . :`, so they need no escaping in the query.
        // Stripe's search lags writes by up to a minute (`search_lag`): the core only believes
        // a "none" for payments older than that.
        let search = SearchPaymentIntent::new(format!("metadata['{PAYMENT_ID_KEY}']:'{payment}'"))
            .expand([String::from("data.latest_charge")])
            .limit(20);
        let found = self
            .call(read("search PaymentIntents"), account, None, |t| {
                t.apply(search.customize()).send(&self.client)
            })
            .await?;
        // The latest attempt, should there be several.
        let Some(latest) = found.data.iter().max_by_key(|pi| pi.created) else {
            return Ok(None);
        };
        self.view(account, latest, None).await.map(Some)
    }
}
