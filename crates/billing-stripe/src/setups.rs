//! Card set-ups (SetupIntents): started for the hosted card page, confirmed on the server with
//! the card the page made (on-session: the bank may ask the customer to authenticate), and
//! read back after the customer authenticated.

use stripe::StripeRequest;
use stripe_core::setup_intent::{
    ConfirmSetupIntent, CreateSetupIntent, CreateSetupIntentUsage, RetrieveSetupIntent,
};
use stripe_shared::SetupIntentAllowedPaymentMethodTypes;

use billing_core::ports::{CardSetup, GatewayError, SetupState};

use crate::call::CallError;
use crate::convert;
use crate::gateway::{StripeGateway, call_key, mutating, read, refusal};
use crate::payments::error_code;

/// A set-up comes with its payment method, so that the card saved can be named.
fn with_card() -> Vec<String> {
    vec![String::from("payment_method")]
}

impl StripeGateway {
    /// Starts a set-up for the customer's card, to be used later off-session.
    pub(crate) async fn start_setup(
        &self,
        account: Option<&str>,
        gateway_customer: &str,
        idempotency_key: &str,
    ) -> Result<CardSetup, GatewayError> {
        let mut create = CreateSetupIntent::new()
            .customer(gateway_customer)
            .usage(CreateSetupIntentUsage::OffSession);
        if self.config.card_only {
            create =
                create.allowed_payment_method_types([SetupIntentAllowedPaymentMethodTypes::Card]);
        }
        let setup = self
            .call(
                mutating("create a SetupIntent"),
                account,
                Some(idempotency_key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await?;
        let client_secret = setup.client_secret.ok_or_else(|| {
            GatewayError::UnknownOutcome(format!(
                "Stripe made the SetupIntent {} without a client secret",
                setup.id
            ))
        })?;
        Ok(CardSetup {
            reference: setup.id.to_string(),
            client_secret,
        })
    }

    /// Confirms a set-up with the card the customer's page made. A declined card is an
    /// answer (the set-up failed, another card can be tried); so is a set-up that ended
    /// already (a double submit): Stripe refuses to confirm it again and says how it stands.
    pub(crate) async fn confirm_setup(
        &self,
        account: Option<&str>,
        setup_reference: &str,
        payment_method: &str,
        return_url: &str,
    ) -> Result<SetupState, GatewayError> {
        let confirm = ConfirmSetupIntent::new(setup_reference)
            .payment_method(payment_method)
            .return_url(return_url)
            .expand(with_card());
        // Confirming is safe to repeat: Stripe refuses a second confirmation of a set-up that
        // ended, which is read below. A key of its own per call lets the customer try the
        // same card again after a failure.
        let key = call_key("setup-confirm", &[setup_reference]);
        let kind = mutating("confirm a SetupIntent");
        match self
            .send(kind, account, Some(&key), |t| {
                t.apply(confirm.customize()).send(&self.client)
            })
            .await
        {
            Ok(setup) => convert::setup_state(&setup, None),
            // A declined card: the set-up waits for another one.
            Err(CallError::Api { error, status: 402 }) => {
                // The error's copy of the set-up (when it has one) is not expanded: read it.
                let setup = self.read_setup_object(account, setup_reference).await?;
                convert::setup_state(&setup, Some(&error))
            }
            Err(CallError::Api { error, status })
                if status == 400 && error_code(&error) == Some("setup_intent_unexpected_state") =>
            {
                self.read_setup(account, setup_reference).await
            }
            Err(other) => Err(refusal(kind, other)),
        }
    }

    /// Where a set-up stands.
    pub(crate) async fn read_setup(
        &self,
        account: Option<&str>,
        setup_reference: &str,
    ) -> Result<SetupState, GatewayError> {
        let setup = self.read_setup_object(account, setup_reference).await?;
        convert::setup_state(&setup, None)
    }

    async fn read_setup_object(
        &self,
        account: Option<&str>,
        setup_reference: &str,
    ) -> Result<stripe_shared::SetupIntent, GatewayError> {
        let retrieve = RetrieveSetupIntent::new(setup_reference).expand(with_card());
        self.call(read("retrieve a SetupIntent"), account, None, |t| {
            t.apply(retrieve.customize()).send(&self.client)
        })
        .await
    }
}
