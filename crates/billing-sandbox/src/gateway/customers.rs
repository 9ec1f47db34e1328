//! Customers and their cards: saving a card (a test id or one typed into a card form), listing,
//! the default card, and detaching.

use chrono::{DateTime, Datelike, Utc};

use billing_core::customer::SavedCard;
use billing_core::ports::{GatewayError, NewGatewayCustomer};

use crate::cards::{self, Behavior, CardError, TestCard};
use crate::config::Operation;
use crate::state::{CustomerRecord, Method, State};

use super::{SandboxGateway, invalid, no_such_method};

impl SandboxGateway {
    /// Makes a payment method from a card typed into a card form, as Stripe.js would. Only
    /// the brand, the last four digits and the expiry are kept, never the number or the
    /// security code. The method can then be attached (or charged, or confirmed on a card
    /// set-up) under any one account, which keeps it.
    ///
    /// # Errors
    /// A [`CardError`] worded for the customer when the number, expiry or security code is not
    /// valid, or the card has expired; [`CardError::Unavailable`] when a sandbox kept in a data
    /// folder could not write it there.
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
        let mut state = self.state();
        let id = state.new_id("pm");
        let seq = state.seq();
        state.insert_loose_method(Method {
            id: id.clone(),
            brand: brand.to_owned(),
            last4: digits[digits.len() - 4..].to_owned(),
            exp_month,
            exp_year,
            test: cards::by_number(&digits),
            customer: None,
            spent: false,
            set_up: false,
            seq,
        });
        state.flush().map_err(|_| CardError::Unavailable)?;
        Ok(id)
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
            state.account(account).insert_customer(CustomerRecord {
                id: id.clone(),
                ours: ours.clone(),
                default_method: None,
            });
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
            let method = usable_method(state, &account, gateway_customer, payment_method)?;
            if !method.attachable() {
                return Err(attach_declined(method.behavior()));
            }
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
            let attached_to = acct
                .methods
                .get(payment_method)
                .ok_or_else(|| no_such_method(payment_method))?
                .customer
                .clone();
            let Some(customer) = attached_to else {
                return Err(GatewayError::NotFound(format!(
                    "The payment method {payment_method} is not attached to a customer."
                )));
            };
            if let Some(method) = acct.method_mut(payment_method) {
                method.customer = None;
                method.spent = true;
                method.set_up = false;
            }
            let was_default = acct
                .customers
                .get(&customer)
                .is_some_and(|c| c.default_method.as_deref() == Some(payment_method));
            if was_default && let Some(c) = acct.customer_mut(&customer) {
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
        if let Some(c) = acct.customer_mut(gateway_customer) {
            c.default_method = Some(payment_method.to_owned());
        }
        Ok(())
    })
    .await
}

/// A payment method checked usable by a customer: a test card by its test id, or a card the
/// account keeps (a card-form method is kept by the first account that uses it).
#[derive(Debug, Clone)]
pub(super) enum Usable {
    Test(&'static TestCard),
    Kept(Method),
}

impl Usable {
    pub(super) fn behavior(&self) -> Behavior {
        match self {
            Usable::Test(card) => card.behavior,
            Usable::Kept(method) => method.behavior(),
        }
    }

    pub(super) fn attachable(&self) -> bool {
        match self {
            Usable::Test(card) => card.attachable,
            Usable::Kept(method) => method.attachable(),
        }
    }

    /// Set up for payments without the customer (a bare test id never is).
    pub(super) fn set_up(&self) -> bool {
        matches!(self, Usable::Kept(method) if method.set_up)
    }

    /// The card as the gateway describes it; `id` is the test id a test card was named by.
    pub(super) fn card(&self, id: &str, now: DateTime<Utc>) -> SavedCard {
        match self {
            Usable::Test(card) => test_method(card, id.to_owned(), None, 0, now).saved_card(false),
            Usable::Kept(method) => method.saved_card(false),
        }
    }
}

/// Checks that `customer` (which must exist) may use the payment method `id`, as Stripe does:
/// a test id always; a card the account keeps when it is the customer's, or attached to no one
/// and not used before. Changes nothing but moving a card-form method to the account.
pub(super) fn usable_method(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
) -> Result<Usable, GatewayError> {
    state.account(account).customer(customer)?;
    if let Some(card) = cards::by_test_payment_method(id) {
        return Ok(Usable::Test(card));
    }
    state.take_loose_method(account, id);
    let method = state
        .account(account)
        .methods
        .get(id)
        .ok_or_else(|| no_such_method(id))?;
    match method.customer.as_deref() {
        Some(owner) if owner == customer => {}
        Some(_) => {
            return Err(invalid(format!(
                "The provided PaymentMethod {id} was previously attached to a different Customer."
            )));
        }
        None if method.spent => {
            return Err(invalid(format!(
                "The provided PaymentMethod {id} was previously used without being attached to a Customer or was detached from a Customer, and may not be used again."
            )));
        }
        None => {}
    }
    Ok(Usable::Kept(method.clone()))
}

/// True when the account's payment method `id` is attached to another customer than
/// `customer` (it may have been saved elsewhere while a challenge waited): it is not theirs to
/// keep.
pub(super) fn owned_elsewhere(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
) -> bool {
    state
        .account(account)
        .methods
        .get(id)
        .and_then(|m| m.customer.as_deref())
        .is_some_and(|owner| owner != customer)
}

/// A method made from a test card.
fn test_method(
    card: &'static TestCard,
    id: String,
    customer: Option<String>,
    seq: u64,
    now: DateTime<Utc>,
) -> Method {
    Method {
        id,
        brand: card.brand.to_owned(),
        last4: card.last4().to_owned(),
        // Stripe's test cards expire in the future: December, a few years on.
        exp_month: 12,
        exp_year: u32::try_from(now.year() + 3).unwrap_or(2099),
        test: Some(card),
        customer,
        spent: false,
        set_up: false,
        seq,
    }
}

/// Attaches a payment method checked by [`usable_method`] to `customer`: a test id is saved
/// as a copy with its own id, as Stripe does. Answers the saved card.
pub(super) fn attach(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SavedCard, GatewayError> {
    if let Some(card) = cards::by_test_payment_method(id) {
        let copy = state.new_id("pm");
        let seq = state.seq();
        let method = test_method(card, copy, Some(customer.to_owned()), seq, now);
        let saved = method.saved_card(false);
        state.account(account).insert_method(method);
        return Ok(saved);
    }
    let acct = state.account(account);
    let is_default = acct
        .customers
        .get(customer)
        .and_then(|c| c.default_method.as_deref())
        == Some(id);
    let method = acct.method_mut(id).ok_or_else(|| no_such_method(id))?;
    method.customer = Some(customer.to_owned());
    method.spent = false;
    Ok(method.saved_card(is_default))
}

/// Attaches a card and marks it set up for payments without the customer, who just
/// authenticated it (a card set-up, or a payment that saved it).
pub(super) fn attach_set_up(
    state: &mut State,
    account: &Option<String>,
    customer: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<SavedCard, GatewayError> {
    let saved = attach(state, account, customer, id, now)?;
    if let Some(method) = state.account(account).method_mut(&saved.payment_method) {
        method.set_up = true;
    }
    Ok(saved)
}

/// The message Stripe gives when a card that declines is saved.
pub(super) fn attach_declined(behavior: Behavior) -> GatewayError {
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
