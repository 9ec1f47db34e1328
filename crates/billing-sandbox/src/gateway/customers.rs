//! Customers and their cards: saving a card (a test id or one typed into a card form),
//! listing, the default card, detaching, and card set-ups.

use chrono::{DateTime, Datelike, Utc};
use rand::Rng;
use rand::distr::Alphanumeric;

use billing_core::customer::SavedCard;
use billing_core::ports::{CardSetup, GatewayError, NewGatewayCustomer};

use crate::cards::{self, Behavior, CardError, TestCard};
use crate::config::Operation;
use crate::state::{CustomerRecord, Method, Reply, Setup, State};

use super::{SandboxGateway, invalid, no_such_method};

impl SandboxGateway {
    /// Makes a payment method from a card typed into a card form, as Stripe.js would. Only
    /// the brand, the last four digits and the expiry are kept, never the number or the
    /// security code. The method can then be attached (or charged) under any one account,
    /// which keeps it.
    ///
    /// # Errors
    /// A [`CardError`] worded for the customer when the number, expiry or security code is not
    /// valid, or the card has expired.
    pub fn create_payment_method_from_card(
        &self,
        number: &str,
        exp_month: u32,
        exp_year: u32,
        cvc: &str,
    ) -> Result<String, CardError> {
        let digits = cards::normalize_number(number)?;
        let exp_year = match exp_year {
            0..=99 => 2000 + exp_year,
            2000..=2099 => exp_year,
            _ => return Err(CardError::InvalidExpiry),
        };
        if !(1..=12).contains(&exp_month) {
            return Err(CardError::InvalidExpiry);
        }
        let now = self.now();
        let this_month = (i64::from(now.year()), now.month());
        if (i64::from(exp_year), exp_month) < this_month {
            return Err(CardError::Expired);
        }
        let brand = cards::brand_of(&digits);
        let cvc_length = if brand == "amex" { 4 } else { 3 };
        if cvc.len() != cvc_length || !cvc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::InvalidCvc);
        }
        let test = cards::by_number(&digits);
        let mut state = self.state();
        let id = state.new_id("pm");
        let seq = state.seq();
        let method = Method {
            id: id.clone(),
            brand: brand.to_owned(),
            last4: digits[digits.len() - 4..].to_owned(),
            exp_month,
            exp_year,
            behavior: test.map_or(Behavior::Succeed, |c| c.behavior),
            attachable: test.is_none_or(|c| c.attachable),
            customer: None,
            spent: false,
            seq,
        };
        state.loose_methods.insert(id.clone(), method);
        Ok(id)
    }

    /// Finishes a card set-up started by [`PaymentGateway::start_card_setup`] with a payment
    /// method (a test id or one made by the card form): the card is saved on the set-up's
    /// customer, as Stripe does when the customer confirms the hosted page.
    ///
    /// # Errors
    /// [`GatewayError::NotFound`] for an unknown set-up or payment method,
    /// [`GatewayError::InvalidRequest`] when the card declines.
    ///
    /// [`PaymentGateway::start_card_setup`]: billing_core::ports::PaymentGateway::start_card_setup
    pub fn confirm_card_setup(
        &self,
        account: Option<&str>,
        setup: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        let account = account.map(str::to_owned);
        let now = self.now();
        let mut state = self.state();
        let customer = state
            .account(&account)
            .setups
            .get(setup)
            .map(|s| s.customer.clone())
            .ok_or_else(|| GatewayError::NotFound(format!("No such setupintent: '{setup}'")))?;
        let card = attach(&mut state, &account, &customer, payment_method, now)?;
        if let Some(s) = state.account(&account).setups.get_mut(setup) {
            s.payment_method = Some(card.payment_method.clone());
        }
        Ok(card)
    }

    /// The payment method a card set-up was finished with, once the customer finished it.
    pub fn card_setup_payment_method(&self, account: Option<&str>, setup: &str) -> Option<String> {
        self.state()
            .accounts
            .get(&account.map(str::to_owned))?
            .setups
            .get(setup)?
            .payment_method
            .clone()
    }
}

pub(super) async fn create_customer(
    gateway: &SandboxGateway,
    customer: &NewGatewayCustomer,
) -> Result<String, GatewayError> {
    let account = &customer.account;
    // Made once per our id, name and email, like the Stripe adapter's derived key does.
    let ours = (
        customer.business.clone(),
        customer.customer.clone(),
        customer.name.clone(),
        customer.email.clone(),
    );
    gateway
        .serve(Operation::CreateCustomer, account, None, |state, _| {
            let existing = state.account(account).by_our_customer.get(&ours).cloned();
            if let Some(existing) = existing {
                state.replayed = true;
                return Ok(existing);
            }
            let id = state.new_id("cus");
            let acct = state.account(account);
            acct.customers.insert(
                id.clone(),
                CustomerRecord {
                    default_method: None,
                },
            );
            acct.by_our_customer.insert(ours.clone(), id.clone());
            Ok(id)
        })
        .await
}

pub(super) async fn list_cards(
    gateway: &SandboxGateway,
    account: Option<String>,
    gateway_customer: &str,
) -> Result<Vec<SavedCard>, GatewayError> {
    gateway
        .serve(Operation::ListCards, &account, None, |state, _| {
            let acct = state.account(&account);
            let default = acct.customer(gateway_customer)?.default_method.clone();
            let mut methods: Vec<&Method> = acct
                .methods
                .values()
                .filter(|m| m.customer.as_deref() == Some(gateway_customer))
                .collect();
            // Newest first, as Stripe lists them.
            methods.sort_by_key(|m| std::cmp::Reverse(m.seq));
            Ok(methods
                .into_iter()
                .map(|m| m.saved_card(default.as_deref() == Some(m.id.as_str())))
                .collect())
        })
        .await
}

pub(super) async fn attach_card(
    gateway: &SandboxGateway,
    account: Option<String>,
    gateway_customer: &str,
    payment_method: &str,
) -> Result<SavedCard, GatewayError> {
    gateway
        .serve(Operation::AttachCard, &account, None, |state, now| {
            attach(state, &account, gateway_customer, payment_method, now)
        })
        .await
}

pub(super) async fn detach_card(
    gateway: &SandboxGateway,
    account: Option<String>,
    payment_method: &str,
) -> Result<(), GatewayError> {
    gateway
        .serve(Operation::DetachCard, &account, None, |state, _| {
            let acct = state.account(&account);
            let method = acct
                .methods
                .get_mut(payment_method)
                .ok_or_else(|| no_such_method(payment_method))?;
            let Some(customer) = method.customer.take() else {
                return Err(GatewayError::NotFound(format!(
                    "The payment method {payment_method} is not attached to a customer."
                )));
            };
            method.spent = true;
            if let Some(c) = acct.customers.get_mut(&customer)
                && c.default_method.as_deref() == Some(payment_method)
            {
                c.default_method = None;
            }
            Ok(())
        })
        .await
}

pub(super) async fn set_default_card(
    gateway: &SandboxGateway,
    account: Option<String>,
    gateway_customer: &str,
    payment_method: &str,
) -> Result<(), GatewayError> {
    gateway.serve(Operation::SetDefaultCard, &account, None, |state, _| {
        let acct = state.account(&account);
        acct.customer(gateway_customer)?;
        let method = acct
            .methods
            .get(payment_method)
            .ok_or_else(|| no_such_method(payment_method))?;
        if method.customer.as_deref() != Some(gateway_customer) {
            return Err(invalid(format!(
                "The customer does not have a payment method with the ID {payment_method}. The payment method must be attached to the customer."
            )));
        }
        if let Some(c) = acct.customers.get_mut(gateway_customer) {
            c.default_method = Some(payment_method.to_owned());
        }
        Ok(())
    })
    .await
}

pub(super) async fn start_card_setup(
    gateway: &SandboxGateway,
    account: Option<String>,
    gateway_customer: &str,
    idempotency_key: &str,
) -> Result<CardSetup, GatewayError> {
    let fingerprint = format!("setup|{gateway_customer}");
    gateway
        .serve(
            Operation::StartCardSetup,
            &account,
            Some(idempotency_key),
            |state, now| {
                if let Some(Reply::Setup(answer)) =
                    state
                        .account(&account)
                        .replay(idempotency_key, &fingerprint, now)?
                {
                    state.replayed = true;
                    return Ok(answer);
                }
                state.account(&account).customer(gateway_customer)?;
                let id = state.new_id("seti");
                let answer = CardSetup {
                    client_secret: format!("{id}_secret_{}", random_secret()),
                    reference: id.clone(),
                };
                let acct = state.account(&account);
                acct.setups.insert(
                    id,
                    Setup {
                        customer: gateway_customer.to_owned(),
                        payment_method: None,
                    },
                );
                acct.save(
                    idempotency_key,
                    fingerprint.clone(),
                    Reply::Setup(answer.clone()),
                    now,
                );
                Ok(answer)
            },
        )
        .await
}

/// Attaches a payment method to a customer; a test id is saved as a copy with its own id.
fn attach(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SavedCard, GatewayError> {
    state.account(account).customer(customer)?;
    let test: Option<&'static TestCard> = cards::by_test_payment_method(id);
    if let Some(card) = test {
        if !card.attachable {
            return Err(attach_declined(card.behavior));
        }
        let copy = state.new_id("pm");
        let seq = state.seq();
        let method = Method {
            id: copy.clone(),
            brand: card.brand.to_owned(),
            last4: card.last4().to_owned(),
            // Stripe's test cards expire in the future: December, a few years on.
            exp_month: 12,
            exp_year: u32::try_from(now.year() + 3).unwrap_or(2099),
            behavior: card.behavior,
            attachable: true,
            customer: Some(customer.to_owned()),
            spent: false,
            seq,
        };
        let saved = method.saved_card(false);
        state.account(account).methods.insert(copy, method);
        return Ok(saved);
    }
    if let Some(method) = state.loose_methods.remove(id) {
        state.account(account).methods.insert(id.to_owned(), method);
    }
    let acct = state.account(account);
    let is_default = acct
        .customers
        .get(customer)
        .and_then(|c| c.default_method.as_deref())
        == Some(id);
    let method = acct.methods.get_mut(id).ok_or_else(|| no_such_method(id))?;
    match method.customer.as_deref() {
        Some(owner) if owner == customer => return Ok(method.saved_card(is_default)),
        Some(_) => {
            return Err(invalid(
                "The payment method you provided has already been attached to a customer.",
            ));
        }
        None if method.spent => {
            return Err(invalid(format!(
                "This PaymentMethod {id} was previously used without being attached to a Customer or was detached from a Customer, and may not be used again."
            )));
        }
        None => {}
    }
    if !method.attachable {
        return Err(attach_declined(method.behavior));
    }
    method.customer = Some(customer.to_owned());
    Ok(method.saved_card(is_default))
}

/// The message Stripe gives when a card that declines is saved.
fn attach_declined(behavior: Behavior) -> GatewayError {
    let message = match behavior {
        Behavior::Decline {
            decline_code: "insufficient_funds",
            ..
        } => "Your card has insufficient funds.",
        Behavior::Decline {
            code: "expired_card",
            ..
        } => "Your card has expired.",
        Behavior::Decline {
            code: "incorrect_cvc",
            ..
        } => "Your card's security code is incorrect.",
        _ => "Your card was declined.",
    };
    invalid(message)
}

fn random_secret() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}
