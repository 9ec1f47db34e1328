//! Customers, their cards, and card set-ups, as the scripted gateway keeps them; and Stripe's
//! test cards, with what each does.

use chrono::Datelike;

use super::ScriptedGateway;
use super::state::{Reply, Setup, another_kind_of_request, invalid};
use crate::customer::SavedCard;
use crate::payment::Failure;
use crate::ports::{
    CardSetup, GatewayError, NewGatewayCustomer, NextAction, SetupState, SetupStatus,
};

/// The expiry year of saved test cards when the gateway has no clock.
const CARD_EXP_YEAR: u32 = 2034;

/// What a test card does when charged or set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    /// Charges succeed.
    Succeeds,
    /// Charges are declined with this decline code.
    Declines(&'static str),
    /// The customer must authenticate every time (off-session: declined).
    AlwaysAuthenticates,
    /// The customer must authenticate on-session and when the card is set up; once set up,
    /// off-session charges succeed.
    AuthenticatesUntilSetUp,
}

/// Stripe's test payment methods: id, brand, last four digits, behaviour.
const TEST_CARDS: &[(&str, &str, &str, Behaviour)] = &[
    ("pm_card_visa", "visa", "4242", Behaviour::Succeeds),
    ("pm_card_visa_debit", "visa", "5556", Behaviour::Succeeds),
    (
        "pm_card_mastercard",
        "mastercard",
        "4444",
        Behaviour::Succeeds,
    ),
    (
        "pm_card_mastercard_debit",
        "mastercard",
        "8210",
        Behaviour::Succeeds,
    ),
    ("pm_card_amex", "amex", "0005", Behaviour::Succeeds),
    ("pm_card_discover", "discover", "1117", Behaviour::Succeeds),
    (
        "pm_card_chargeDeclined",
        "visa",
        "0002",
        Behaviour::Declines("generic_decline"),
    ),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        "visa",
        "9995",
        Behaviour::Declines("insufficient_funds"),
    ),
    (
        "pm_card_authenticationRequired",
        "visa",
        "3184",
        Behaviour::AlwaysAuthenticates,
    ),
    (
        "pm_card_authenticationRequiredOnSetup",
        "visa",
        "3155",
        Behaviour::AuthenticatesUntilSetUp,
    ),
    (
        "pm_card_threeDSecure2Required",
        "visa",
        "3220",
        Behaviour::AlwaysAuthenticates,
    ),
];

/// What a payment method does: a test card's behaviour; any other id charges (so that a
/// customer seeded straight into a store can be charged) but cannot be attached.
pub(super) fn behaviour(payment_method: &str) -> Behaviour {
    TEST_CARDS
        .iter()
        .find(|(id, ..)| *id == payment_method)
        .map_or(Behaviour::Succeeds, |card| card.3)
}

/// A declined card's failure.
pub(super) fn declined(code: &str) -> Failure {
    Failure {
        code: "card_declined".into(),
        message: format!("The card was declined ({code})."),
        decline_code: Some(code.to_owned()),
    }
}

/// What the customer's page does to authenticate: Stripe.js with the client secret.
pub(super) fn next_action(reference: &str) -> NextAction {
    NextAction {
        client_secret: format!("{reference}_secret"),
        redirect_url: None,
    }
}

impl ScriptedGateway {
    /// A test card as the gateway describes it, `None` for an id that is not one.
    pub(super) fn test_card(&self, payment_method: &str) -> Option<SavedCard> {
        let exp_year = self.now().map_or(CARD_EXP_YEAR, |now| {
            u32::try_from(now.year() + 3).unwrap_or(CARD_EXP_YEAR)
        });
        let &(id, brand, last4, _) = TEST_CARDS.iter().find(|(id, ..)| *id == payment_method)?;
        Some(SavedCard {
            payment_method: id.to_owned(),
            brand: brand.into(),
            last4: last4.into(),
            exp_month: 12,
            exp_year,
            is_default: false,
        })
    }

    fn no_such_method(id: &str) -> GatewayError {
        GatewayError::NotFound(format!("No such PaymentMethod: '{id}'"))
    }

    pub(super) fn do_create_customer(&self, customer: &NewGatewayCustomer) -> String {
        let mut state = self.state();
        let id = state.id("cus");
        state
            .account(&customer.account)
            .customers
            .insert(id.clone(), super::state::Customer::default());
        id
    }

    pub(super) fn do_list_cards(
        &self,
        account: &Option<String>,
        customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        let mut state = self.state();
        let customer = state.account(account).customer_mut(customer)?;
        Ok(customer.cards.iter().map(|c| customer.listed(c)).collect())
    }

    pub(super) fn do_attach_card(
        &self,
        account: &Option<String>,
        customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        let card = self.test_card(payment_method);
        let mut state = self.state();
        let customer = state.account(account).customer_mut(customer)?;
        let card = card.ok_or_else(|| Self::no_such_method(payment_method))?;
        Ok(customer.attach(&card))
    }

    pub(super) fn do_detach_card(
        &self,
        account: &Option<String>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        let mut state = self.state();
        let mut found = false;
        for customer in state.account(account).customers.values_mut() {
            let before = customer.cards.len();
            customer
                .cards
                .retain(|c| c.payment_method != payment_method);
            if customer.cards.len() != before {
                found = true;
                if customer.default.as_deref() == Some(payment_method) {
                    customer.default = None;
                }
            }
        }
        if found {
            Ok(())
        } else {
            Err(GatewayError::NotFound(format!(
                "The payment method {payment_method} is not attached to a customer."
            )))
        }
    }

    pub(super) fn do_set_default_card(
        &self,
        account: &Option<String>,
        customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        let known = self.test_card(payment_method).is_some();
        let mut state = self.state();
        let customer = state.account(account).customer_mut(customer)?;
        if !customer
            .cards
            .iter()
            .any(|c| c.payment_method == payment_method)
        {
            if !known {
                return Err(Self::no_such_method(payment_method));
            }
            return Err(invalid(&format!(
                "The customer does not have a payment method with the ID {payment_method}. The payment method must be attached to the customer."
            )));
        }
        customer.default = Some(payment_method.to_owned());
        Ok(())
    }

    pub(super) fn do_start_card_setup(
        &self,
        account: &Option<String>,
        customer: &str,
        key: &str,
    ) -> Result<CardSetup, GatewayError> {
        let now = self.now();
        let fingerprint = format!("setup|{customer}");
        let mut state = self.state();
        match state.account(account).replay(key, &fingerprint, now)? {
            Some(Reply::Setup(setup)) => return Ok(setup),
            Some(Reply::Payment(_) | Reply::Refund(_)) => return Err(another_kind_of_request()),
            None => {}
        }
        state.account(account).customer_mut(customer)?;
        let reference = state.id("seti");
        let setup = CardSetup {
            client_secret: format!("{reference}_secret"),
            reference: reference.clone(),
        };
        let account = state.account(account);
        account.setups.insert(
            reference,
            Setup {
                customer: customer.to_owned(),
                status: None,
                payment_method: None,
            },
        );
        account.save(key, fingerprint, Reply::Setup(setup.clone()), now);
        Ok(setup)
    }

    pub(super) fn do_confirm_card_setup(
        &self,
        account: &Option<String>,
        reference: &str,
        payment_method: &str,
    ) -> Result<SetupState, GatewayError> {
        let card = self.test_card(payment_method);
        let mut state = self.state();
        let account = state.account(account);
        let setup =
            account.setups.get(reference).cloned().ok_or_else(|| {
                GatewayError::NotFound(format!("No such setupintent: '{reference}'"))
            })?;
        if matches!(setup.status, Some(SetupStatus::Succeeded(_))) {
            return Err(invalid(
                "You cannot confirm this SetupIntent because it has already succeeded.",
            ));
        }
        let card = card.ok_or_else(|| Self::no_such_method(payment_method))?;
        let status = match behaviour(payment_method) {
            Behaviour::Declines(code) => SetupStatus::Failed(declined(code)),
            Behaviour::AlwaysAuthenticates | Behaviour::AuthenticatesUntilSetUp => {
                SetupStatus::RequiresAction(next_action(reference))
            }
            Behaviour::Succeeds => {
                let saved = account.customer_mut(&setup.customer)?.attach(&card);
                account
                    .set_up
                    .insert((setup.customer.clone(), card.payment_method.clone()));
                SetupStatus::Succeeded(saved)
            }
        };
        let updated = Setup {
            status: Some(status.clone()),
            payment_method: Some(payment_method.to_owned()),
            ..setup.clone()
        };
        account.setups.insert(reference.to_owned(), updated);
        Ok(SetupState {
            reference: reference.to_owned(),
            gateway_customer: setup.customer,
            status,
        })
    }

    pub(super) fn do_card_setup(
        &self,
        account: &Option<String>,
        reference: &str,
    ) -> Result<SetupState, GatewayError> {
        let mut state = self.state();
        let setup = state
            .account(account)
            .setups
            .get(reference)
            .cloned()
            .ok_or_else(|| GatewayError::NotFound(format!("No such setupintent: '{reference}'")))?;
        Ok(SetupState {
            reference: reference.to_owned(),
            gateway_customer: setup.customer,
            status: setup.status.unwrap_or(SetupStatus::Processing),
        })
    }

    /// Completes (or fails) the authentication a card set-up waits for, as the customer would
    /// on the page.
    pub(super) fn authenticate_setup(
        &self,
        account: &Option<String>,
        reference: &str,
        approve: bool,
    ) -> Result<(), GatewayError> {
        let mut state = self.state();
        let account = state.account(account);
        let Some(setup) = account.setups.get(reference).cloned() else {
            return Err(GatewayError::NotFound(format!(
                "No such setupintent: '{reference}'"
            )));
        };
        if !matches!(setup.status, Some(SetupStatus::RequiresAction(_))) {
            return Err(invalid(
                "This SetupIntent does not wait for authentication.",
            ));
        }
        let method = setup.payment_method.clone().unwrap_or_default();
        let status = if approve {
            let card = self
                .test_card(&method)
                .ok_or_else(|| Self::no_such_method(&method))?;
            let saved = account.customer_mut(&setup.customer)?.attach(&card);
            account
                .set_up
                .insert((setup.customer.clone(), card.payment_method.clone()));
            SetupStatus::Succeeded(saved)
        } else {
            SetupStatus::Failed(Failure {
                code: "setup_intent_authentication_failure".into(),
                decline_code: None,
                message: "The card could not be authenticated.".into(),
            })
        };
        account.setups.insert(
            reference.to_owned(),
            Setup {
                status: Some(status),
                ..setup
            },
        );
        Ok(())
    }
}
