//! Customers and their saved cards ("payment options").

use super::Billing;
use crate::customer::{Business, Customer, SavedCard};
use crate::error::BillingError;
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::notification::is_plain_address;
use crate::payment::{PaymentKind, gateway_key};
use crate::ports::{BookingFilter, CardSetup, GatewayError, NewGatewayCustomer};

impl Billing {
    /// Creates or updates a customer, and says whether they are new; their gateway customer
    /// id, once made, is kept.
    pub async fn put_customer(
        &self,
        business: &Business,
        mut customer: Customer,
    ) -> Result<(Customer, bool), BillingError> {
        if customer.name.trim().is_empty() || customer.name.len() > 200 {
            return Err(BillingError::InvalidInput(
                "a customer name has 1 to 200 characters",
            ));
        }
        if customer
            .email
            .as_deref()
            .is_some_and(|e| !is_plain_address(e))
        {
            return Err(BillingError::InvalidInput("the email address is not valid"));
        }
        let existing = self.store.customer(&business.id, &customer.id).await?;
        let created = existing.is_none();
        if let Some(existing) = existing {
            customer.gateway_customer = existing.gateway_customer;
        }
        self.store.put_customer(&business.id, &customer).await?;
        Ok((customer, created))
    }

    /// A customer.
    pub async fn customer(
        &self,
        business: &Business,
        id: &CustomerId,
    ) -> Result<Customer, BillingError> {
        self.store
            .customer(&business.id, id)
            .await?
            .ok_or_else(|| BillingError::CustomerNotFound(id.clone()))
    }

    /// A page of the business's customers, by id, after `after`, at most `limit` (1 to 100).
    pub async fn customers(
        &self,
        business: &Business,
        after: Option<&CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, BillingError> {
        Ok(self
            .store
            .list_customers(&business.id, after, limit.clamp(1, 100))
            .await?)
    }

    /// The customer's saved cards, the default first.
    pub async fn cards(
        &self,
        business: &Business,
        customer: &CustomerId,
    ) -> Result<Vec<SavedCard>, BillingError> {
        self.customer(business, customer).await?;
        Ok(self.store.cards(&business.id, customer).await?)
    }

    /// Attaches a card made by the gateway's card form to the customer ("create payment
    /// option"). The first card becomes the default.
    pub async fn attach_card(
        &self,
        business: &Business,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<SavedCard, BillingError> {
        let gateway_customer = self.gateway_customer(business, customer).await?;
        let card = self
            .gateway
            .attach_card(
                business.gateway_account.clone(),
                &gateway_customer,
                payment_method,
            )
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })?;
        self.keep_card(business, customer, &gateway_customer, card)
            .await
    }

    /// Saves a card attached at the gateway on the profile; the first card becomes the default.
    pub(super) async fn keep_card(
        &self,
        business: &Business,
        customer: &CustomerId,
        gateway_customer: &str,
        mut card: SavedCard,
    ) -> Result<SavedCard, BillingError> {
        let existing = self.store.cards(&business.id, customer).await?;
        card.is_default = existing
            .iter()
            .all(|c| !c.is_default || c.payment_method == card.payment_method);
        if card.is_default {
            self.gateway
                .set_default_card(
                    business.gateway_account.clone(),
                    gateway_customer,
                    &card.payment_method,
                )
                .await
                .map_err(|error| BillingError::Gateway {
                    payment: None,
                    error,
                })?;
        }
        self.store.put_card(&business.id, customer, &card).await?;
        Ok(card)
    }

    /// Reads the customer's cards from the gateway and saves them (after a hosted card set-up).
    pub async fn refresh_cards(
        &self,
        business: &Business,
        customer: &CustomerId,
    ) -> Result<Vec<SavedCard>, BillingError> {
        let gateway_customer = self.gateway_customer(business, customer).await?;
        let found = self
            .gateway
            .list_cards(business.gateway_account.clone(), &gateway_customer)
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })?;
        let known = self.store.cards(&business.id, customer).await?;
        let has_default = known
            .iter()
            .any(|c| c.is_default && found.iter().any(|f| f.payment_method == c.payment_method));
        for (index, mut card) in found.into_iter().enumerate() {
            let was = known
                .iter()
                .find(|k| k.payment_method == card.payment_method);
            card.is_default = was.map_or(!has_default && index == 0, |k| k.is_default);
            self.store.put_card(&business.id, customer, &card).await?;
        }
        self.cards(business, customer).await
    }

    /// Detaches a saved card at the gateway and forgets it. A card that a payment still in
    /// flight uses is refused ([`BillingError::CardInUse`]): settling that payment may send it
    /// again.
    pub async fn remove_card(
        &self,
        business: &Business,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<(), BillingError> {
        let cards = self.cards(business, customer).await?;
        if !cards.iter().any(|c| c.payment_method == payment_method) {
            return Err(BillingError::CardNotFound(payment_method.to_owned()));
        }
        if let Some(payment) = self
            .in_flight_on_card(business, customer, payment_method)
            .await?
        {
            return Err(BillingError::CardInUse {
                payment_method: payment_method.to_owned(),
                payment,
            });
        }
        match self
            .gateway
            .detach_card(business.gateway_account.clone(), payment_method)
            .await
        {
            // Already gone at the gateway: forgetting it here is what is left to do.
            Ok(()) | Err(GatewayError::NotFound(_)) => {}
            Err(error) => {
                return Err(BillingError::Gateway {
                    payment: None,
                    error,
                });
            }
        }
        self.store
            .remove_card(&business.id, customer, payment_method)
            .await?;
        Ok(())
    }

    /// A charge or hold of the customer in flight on the card, among their bookings with
    /// something pending.
    async fn in_flight_on_card(
        &self,
        business: &Business,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<Option<PaymentId>, BillingError> {
        let mut after = None;
        loop {
            let filter = BookingFilter {
                customer: Some(customer.clone()),
                pending: Some(true),
                after: after.clone(),
                limit: 200,
                ..BookingFilter::default()
            };
            let page = self.store.list_summaries(&business.id, &filter).await?;
            let Some(last) = page.last() else {
                return Ok(None);
            };
            after = Some(last.booking.clone());
            let ids: Vec<BookingId> = page.iter().map(|s| s.booking.clone()).collect();
            let ledgers = self.ledgers(business, &ids).await?;
            let found = ledgers.payments.iter().find(|p| {
                p.state.is_in_flight()
                    && matches!(
                        &p.kind,
                        PaymentKind::Charge { card } | PaymentKind::Authorization { card }
                            if card.payment_method == payment_method
                    )
            });
            if let Some(payment) = found {
                return Ok(Some(payment.id.clone()));
            }
        }
    }

    /// Makes a saved card the one charged as "card on file".
    pub async fn set_default_card(
        &self,
        business: &Business,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<SavedCard, BillingError> {
        let cards = self.cards(business, customer).await?;
        let mut card = cards
            .into_iter()
            .find(|c| c.payment_method == payment_method)
            .ok_or_else(|| BillingError::CardNotFound(payment_method.to_owned()))?;
        let gateway_customer = self.gateway_customer(business, customer).await?;
        self.gateway
            .set_default_card(
                business.gateway_account.clone(),
                &gateway_customer,
                payment_method,
            )
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })?;
        card.is_default = true;
        self.store.put_card(&business.id, customer, &card).await?;
        Ok(card)
    }

    /// Starts a card set-up for a hosted "save your card" page.
    pub async fn start_card_setup(
        &self,
        business: &Business,
        customer: &CustomerId,
    ) -> Result<CardSetup, BillingError> {
        let gateway_customer = self.gateway_customer(business, customer).await?;
        let key = gateway_key(&self.ids.payment_id(), "setup");
        self.gateway
            .start_card_setup(business.gateway_account.clone(), &gateway_customer, &key)
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })
    }

    /// The customer's gateway id, creating the customer at the gateway the first time.
    pub(super) async fn gateway_customer(
        &self,
        business: &Business,
        id: &CustomerId,
    ) -> Result<String, BillingError> {
        let mut customer = self.customer(business, id).await?;
        if let Some(existing) = &customer.gateway_customer {
            return Ok(existing.clone());
        }
        let created = self
            .gateway
            .create_customer(&NewGatewayCustomer {
                account: business.gateway_account.clone(),
                business: business.id.clone(),
                customer: customer.id.clone(),
                name: customer.name.clone(),
                email: customer.email.clone(),
            })
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })?;
        customer.gateway_customer = Some(created.clone());
        self.store.put_customer(&business.id, &customer).await?;
        Ok(created)
    }
}
