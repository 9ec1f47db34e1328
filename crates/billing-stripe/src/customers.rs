//! Customers and their saved cards.

use sha2::{Digest, Sha256};
use stripe::StripeRequest;
use stripe_core::customer::{
    CreateCustomer, RetrieveCustomer, RetrieveCustomerReturned, UpdateCustomer,
    UpdateCustomerInvoiceSettings,
};
use stripe_payment::payment_method::{
    AttachPaymentMethod, DetachPaymentMethod, ListPaymentMethod, ListPaymentMethodType,
};

use billing_core::customer::SavedCard;
use billing_core::ports::{GatewayError, NewGatewayCustomer};

use crate::call::CallError;
use crate::convert;
use crate::gateway::{
    BUSINESS_ID_KEY, CUSTOMER_ID_KEY, StripeGateway, call_key, mutating, read, refusal,
};

impl StripeGateway {
    /// Creates the Stripe customer of one of our customers.
    pub(crate) async fn make_customer(
        &self,
        customer: &NewGatewayCustomer,
    ) -> Result<String, GatewayError> {
        // Only parameters localstripe also accepts: no `description`.
        let mut create = CreateCustomer::new()
            .name(customer.name.as_str())
            .metadata([
                (CUSTOMER_ID_KEY.to_owned(), customer.customer.to_string()),
                (BUSINESS_ID_KEY.to_owned(), customer.business.to_string()),
            ]);
        if let Some(email) = &customer.email {
            create = create.email(email.as_str());
        }
        // Derived from our customer id, so that a retry after a lost answer (even from
        // another process) does not make a second Stripe customer. The name and email are in
        // it too: Stripe refuses a key reused with other parameters for 24 hours, which would
        // otherwise lock out a customer whose details were corrected after a lost answer.
        let details = Sha256::digest(
            format!(
                "{}\n{}",
                customer.name,
                customer.email.as_deref().unwrap_or_default()
            )
            .as_bytes(),
        );
        let key = format!(
            "customer:{}:{}:{}",
            customer.business,
            customer.customer,
            hex::encode(&details[..8])
        );
        let created = self
            .call(
                mutating("create a Customer"),
                customer.account.as_deref(),
                Some(&key),
                |t| t.apply(create.customize()).send(&self.client),
            )
            .await?;
        Ok(created.id.to_string())
    }

    /// The customer's saved cards, every page, with the default marked.
    pub(crate) async fn cards_of(
        &self,
        account: Option<&str>,
        gateway_customer: &str,
    ) -> Result<Vec<SavedCard>, GatewayError> {
        let found = self
            .call(read("retrieve a Customer"), account, None, |t| {
                t.apply(RetrieveCustomer::new(gateway_customer).customize())
                    .send(&self.client)
            })
            .await?;
        let customer = match found {
            RetrieveCustomerReturned::Customer(customer) => customer,
            RetrieveCustomerReturned::DeletedCustomer(_) => {
                return Err(GatewayError::NotFound(format!(
                    "the customer {gateway_customer} was deleted"
                )));
            }
        };
        let default = customer
            .invoice_settings
            .and_then(|s| s.default_payment_method)
            .map(|pm| pm.id().to_string());
        let mut cards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut list = ListPaymentMethod::new()
                .customer(gateway_customer)
                .type_(ListPaymentMethodType::Card)
                .limit(100);
            if let Some(after) = &after {
                list = list.starting_after(after.as_str());
            }
            let page = self
                .call(read("list PaymentMethods"), account, None, |t| {
                    t.apply(list.customize()).send(&self.client)
                })
                .await?;
            for method in &page.data {
                let is_default = default.as_deref() == Some(method.id.as_str());
                cards.push(convert::saved_card(method, is_default)?);
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.to_string()),
                _ => break,
            }
        }
        Ok(cards)
    }

    /// Saves a payment method on the customer.
    pub(crate) async fn attach(
        &self,
        account: Option<&str>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<SavedCard, GatewayError> {
        let attach = AttachPaymentMethod::new(payment_method).customer(gateway_customer);
        let key = call_key("attach", &[gateway_customer, payment_method]);
        let attached = self
            .call(
                mutating("attach a PaymentMethod"),
                account,
                Some(&key),
                |t| t.apply(attach.customize()).send(&self.client),
            )
            .await?;
        convert::saved_card(&attached, false)
    }

    /// Removes a saved card.
    pub(crate) async fn detach(
        &self,
        account: Option<&str>,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        let key = call_key("detach", &[payment_method]);
        let kind = mutating("detach a PaymentMethod");
        match self
            .send(kind, account, Some(&key), |t| {
                t.apply(DetachPaymentMethod::new(payment_method).customize())
                    .send(&self.client)
            })
            .await
        {
            Ok(_) => Ok(()),
            // Stripe answers 400 "not attached to a customer"; the port calls that NotFound.
            Err(CallError::Api { error, status: 400 })
                if error
                    .message
                    .as_deref()
                    .is_some_and(|m| m.contains("not attached")) =>
            {
                Err(GatewayError::NotFound(
                    error.message.clone().unwrap_or_default(),
                ))
            }
            Err(other) => Err(refusal(kind, other)),
        }
    }

    /// Makes a card the customer's default.
    pub(crate) async fn make_default(
        &self,
        account: Option<&str>,
        gateway_customer: &str,
        payment_method: &str,
    ) -> Result<(), GatewayError> {
        let update =
            UpdateCustomer::new(gateway_customer).invoice_settings(UpdateCustomerInvoiceSettings {
                default_payment_method: Some(payment_method.to_owned()),
                ..UpdateCustomerInvoiceSettings::new()
            });
        let key = call_key("default", &[gateway_customer, payment_method]);
        self.call(
            mutating("set the Customer's default PaymentMethod"),
            account,
            Some(&key),
            |t| t.apply(update.customize()).send(&self.client),
        )
        .await?;
        Ok(())
    }
}
