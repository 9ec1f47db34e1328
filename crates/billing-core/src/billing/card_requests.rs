//! Card requests as their customer uses them: the page makes a payment method from the card
//! typed, and the server confirms the gateway's card set-up with it, on-session, so that a card
//! that asks for authentication (3-D Secure) is authenticated there and then, and can later be
//! charged with the customer away.

use super::Billing;
use crate::customer::{Business, SavedCard};
use crate::email::{CardLabel, CardSavedData, EmailContent};
use crate::error::BillingError;
use crate::link::{LinkPurpose, LinkState, LinkToken, PaymentLink};
use crate::payment::Failure;
use crate::ports::{CardSetup, NextAction, SetupState, SetupStatus};

/// How a card request's card set-up stands, for its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRequestAnswer {
    /// The card is saved on the customer's profile and the request is done.
    Saved(SavedCard),
    /// The customer must authenticate on the page first; the gateway then sends them back to
    /// the page ([`Billing::card_request_returned`]). Never stored: it carries the gateway's
    /// client secret.
    NeedsAction(NextAction),
    /// The card was refused: the page can take another. The request stays open.
    Refused(Failure),
    /// The gateway is still processing the card: the page can ask again on return.
    Processing,
}

impl Billing {
    /// Starts the gateway's card set-up for a card request's page. The same link always gets
    /// the same set-up.
    pub async fn card_request_setup(&self, token: &str) -> Result<CardSetup, BillingError> {
        let (business, link) = self.card_request(token).await?;
        let gateway_customer = self.gateway_customer(&business, &link.customer).await?;
        self.setup_of(&business, &link, &gateway_customer).await
    }

    /// Saves the card the customer entered on a card request's page: the request's card set-up
    /// is confirmed with the page's payment method, with the customer there. A card saved
    /// closes the request and tells the business; a card that asks for authentication answers
    /// what the page must do; a refused card leaves the request open for another.
    pub async fn complete_card_request(
        &self,
        token: &str,
        payment_method: &str,
    ) -> Result<CardRequestAnswer, BillingError> {
        let (business, link) = self.card_request(token).await?;
        let method = payment_method.trim();
        if method.is_empty() || method.len() > 255 {
            return Err(BillingError::InvalidInput(
                "a payment method id has 1 to 255 characters",
            ));
        }
        let return_url = LinkToken::parse(token)
            .map(|t| self.pages().map(|p| p.addresses.card_return(&t)))
            .ok_or(BillingError::LinkUnavailable)??;
        let gateway_customer = self.gateway_customer(&business, &link.customer).await?;
        let setup = self.setup_of(&business, &link, &gateway_customer).await?;
        let state = self
            .gateway
            .confirm_card_setup(
                business.gateway_account.clone(),
                &setup.reference,
                method,
                &return_url,
            )
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })?;
        self.card_request_answer(&business, &link, &gateway_customer, state)
            .await
    }

    /// The customer's browser came back from authenticating a card request's card: the set-up
    /// it names is read from the gateway and answered as [`Billing::complete_card_request`]
    /// would. A set-up for another customer than the request's is refused like an unknown link
    /// (the browser chose what it names). A request already done answers its card.
    pub async fn card_request_returned(
        &self,
        token: &str,
        setup_reference: &str,
    ) -> Result<CardRequestAnswer, BillingError> {
        let (business, link) = self.link_of_token(token).await?;
        if link.purpose != LinkPurpose::CardRequest {
            return Err(BillingError::LinkUnavailable);
        }
        match &link.state {
            LinkState::Open => {}
            LinkState::Completed {
                card: Some(kept), ..
            } => {
                return self
                    .store
                    .cards(&business.id, &link.customer)
                    .await?
                    .into_iter()
                    .find(|c| &c.payment_method == kept)
                    .map(CardRequestAnswer::Saved)
                    .ok_or(BillingError::LinkAlreadyUsed);
            }
            _ => return Err(BillingError::LinkUnavailable),
        }
        let customer = self.customer(&business, &link.customer).await?;
        let gateway_customer = customer
            .gateway_customer
            .ok_or(BillingError::LinkUnavailable)?;
        let state = self
            .gateway
            .card_setup(business.gateway_account.clone(), setup_reference)
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })?;
        self.card_request_answer(&business, &link, &gateway_customer, state)
            .await
    }

    /// A usable card request.
    async fn card_request(&self, token: &str) -> Result<(Business, PaymentLink), BillingError> {
        let (business, link) = self.usable_link(token).await?;
        if link.purpose != LinkPurpose::CardRequest {
            return Err(BillingError::LinkUnavailable);
        }
        Ok((business, link))
    }

    /// The request's card set-up (one per link: the gateway answers the same one again).
    async fn setup_of(
        &self,
        business: &Business,
        link: &PaymentLink,
        gateway_customer: &str,
    ) -> Result<CardSetup, BillingError> {
        self.gateway
            .start_card_setup(
                business.gateway_account.clone(),
                gateway_customer,
                &format!("setup-{}", link.id),
            )
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })
    }

    /// What a set-up's state means for the request: a card saved closes it (the first to
    /// close it tells the business).
    async fn card_request_answer(
        &self,
        business: &Business,
        link: &PaymentLink,
        gateway_customer: &str,
        state: SetupState,
    ) -> Result<CardRequestAnswer, BillingError> {
        if state.gateway_customer != gateway_customer {
            return Err(BillingError::LinkUnavailable);
        }
        let card = match state.status {
            SetupStatus::Succeeded(card) => card,
            SetupStatus::RequiresAction(next) => return Ok(CardRequestAnswer::NeedsAction(next)),
            SetupStatus::Failed(failure) => return Ok(CardRequestAnswer::Refused(failure)),
            SetupStatus::Processing => return Ok(CardRequestAnswer::Processing),
        };
        let card = self
            .keep_card(business, &link.customer, gateway_customer, card)
            .await?;
        let completed = LinkState::Completed {
            at: self.now(),
            payment: None,
            card: Some(card.payment_method.clone()),
        };
        // Two tabs (or a tab and its return) may both save the card; only the first closes
        // the request and tells the business.
        let closed = self
            .store
            .close_link(&business.id, &link.id, &completed)
            .await?;
        if closed {
            self.checkout_completed(business, link).await?;
        }
        if closed && let Some(to) = business.email.clone() {
            let customer = self.customer(business, &link.customer).await?;
            let content = EmailContent::BusinessCardSavedNotice(CardSavedData {
                business_name: business.name.clone(),
                customer_name: customer.name.clone(),
                card: CardLabel::from(&card),
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            });
            self.queue_email(&business.id, &customer.id, &to, &content)
                .await?;
        }
        Ok(CardRequestAnswer::Saved(card))
    }
}
