//! Payment links and card requests as their customer uses them, on a hosted page reached by a
//! secret token, with no login.
//!
//! Paying a link can never charge twice: the charge is opened like any other, and it must find
//! each booking's balance exactly as the link saw it with nothing in flight. A second tab, a
//! double click or a replayed form finds the first payment in flight or done, and is refused.

use std::collections::BTreeMap;

use super::Billing;
use super::moves::{KeyFate, Move, OpenPayment, Opened};
use crate::customer::{Business, Customer, SavedCard};
use crate::email::{BookingLine, CardLabel, CardSavedData, EmailContent, PaymentData};
use crate::error::BillingError;
use crate::idempotency::Fingerprint;
use crate::ids::BookingId;
use crate::link::{LinkPurpose, LinkState, LinkToken, PaymentLink};
use crate::payment::{
    Allocation, CardRef, Failure, Opening, PaymentEvent, PaymentKind, PaymentState,
};
use crate::ports::{CardSetup, GatewayError, LedgerRead};
use crate::receipt::{Outcome, Receipt};
use crate::status::BookingSummary;

/// A link as its hosted page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPage {
    /// The business's name.
    pub business_name: String,
    /// The customer's name.
    pub customer_name: String,
    /// The link.
    pub link: PaymentLink,
    /// Each booking it pays, as it stands now.
    pub bookings: Vec<BookingLine>,
    /// The customer's saved cards (for a card request: to show what is already on file).
    pub cards: Vec<SavedCard>,
    /// The business's connected gateway account, for the page's card form.
    pub gateway_account: Option<String>,
}

/// Pay a link with a card the customer typed into the page's card form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayLink {
    /// The payment method the card form made.
    pub payment_method: String,
    /// Keep the card on the customer's profile for later charges.
    pub save_card: bool,
}

/// A link's payment, as it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPaid {
    /// The charge: settled, pending when the gateway's answer was lost, or declined (the link
    /// stays open for another card).
    pub receipt: Receipt,
    /// The card charged, once the gateway accepted it for the customer.
    pub card: Option<SavedCard>,
    /// True when the card was kept on the customer's profile.
    pub card_saved: bool,
}

impl Billing {
    /// What a link's page shows. Unknown, expired and canceled links are all
    /// [`BillingError::LinkUnavailable`], so that a page never tells which tokens once existed;
    /// a used one is [`BillingError::LinkAlreadyUsed`] (only its holder can ask).
    pub async fn open_link(&self, token: &str) -> Result<LinkPage, BillingError> {
        let (business, link) = self.usable_link(token).await?;
        let customer = self.customer(&business, &link.customer).await?;
        let bookings = link.bookings();
        let lines = if bookings.is_empty() {
            Vec::new()
        } else {
            let ledgers = self.ledgers(&business, &bookings).await?;
            Self::check_unchanged(&link, &ledgers.summaries)?;
            Self::lines(&ledgers, &bookings)
        };
        let cards = self.store.cards(&business.id, &customer.id).await?;
        Ok(LinkPage {
            business_name: business.name.clone(),
            customer_name: customer.name,
            link,
            bookings: lines,
            cards,
            gateway_account: business.gateway_account,
        })
    }

    /// The name of the business whose usable or used link has this token, for a page that
    /// must name it (a changed link's); `None` for any token that names no such link.
    pub async fn link_business_name(&self, token: &str) -> Option<String> {
        let token = LinkToken::parse(token)?;
        let hash = token.hash();
        let found = self.store.link_by_token(&hash).await.ok()??;
        if !found.token_hash.matches(&hash) {
            return None;
        }
        let business = self.store.business(&found.business).await.ok()??;
        Some(business.name)
    }

    /// Pays a payment link with a card from the page's card form, then emails the customer a
    /// receipt and the business a notice. A declined card answers a declined receipt and
    /// leaves the link open for another card.
    pub async fn pay_link(&self, token: &str, command: PayLink) -> Result<LinkPaid, BillingError> {
        let (business, link) = self.usable_link(token).await?;
        let LinkPurpose::Payment { amount, bookings } = &link.purpose else {
            return Err(BillingError::LinkUnavailable);
        };
        let method = command.payment_method.trim();
        if method.is_empty() || method.len() > 255 {
            return Err(BillingError::InvalidInput(
                "a payment method id has 1 to 255 characters",
            ));
        }
        let customer = self.customer(&business, &link.customer).await?;
        let gateway_customer = self.gateway_customer(&business, &customer.id).await?;
        let card = CardRef {
            gateway_customer: gateway_customer.clone(),
            payment_method: method.to_owned(),
        };
        let booking_ids = link.bookings();
        let opened = self
            .open(
                &business,
                LedgerRead::bookings(&booking_ids),
                |_| Ok(Fingerprint(format!("link|{}|{method}", link.id))),
                |ledgers, _| {
                    Self::check_unchanged(&link, &ledgers.summaries)?;
                    let opening = Opening {
                        customer: customer.id.clone(),
                        kind: PaymentKind::Charge { card: card.clone() },
                        amount: *amount,
                        allocations: bookings
                            .iter()
                            .map(|b| Allocation {
                                booking: b.booking.clone(),
                                amount: b.amount,
                            })
                            .collect(),
                        state: PaymentState::Pending,
                    };
                    Ok(opening)
                },
            )
            .await;
        let open = match opened {
            Ok(Opened::New(open)) => *open,
            Ok(Opened::Replay(..)) => {
                return Err(BillingError::Inconsistent(
                    "a link payment has no idempotency key to replay".into(),
                ));
            }
            // Another tab may have paid meanwhile: say so rather than "changed".
            Err(BillingError::LinkChanged) => return Err(self.why_changed(&business, &link).await),
            Err(error) => return Err(error),
        };
        let account = business.gateway_account.clone();
        // The card must be the customer's at the gateway before an off-session charge.
        let attached = self
            .gateway
            .attach_card(account.clone(), &gateway_customer, method)
            .await;
        let saved = match attached {
            Ok(saved) => saved,
            Err(error) => {
                let receipt = self.refuse_unattached(&business, open, error).await?;
                return Ok(LinkPaid {
                    receipt,
                    card: None,
                    card_saved: false,
                });
            }
        };
        let payment_id = open.payment.id.clone();
        let receipt = self.send_opened(&business, open, None).await;
        let receipt = match receipt {
            Ok(receipt) if !matches!(receipt.outcome(), Outcome::Declined(_)) => receipt,
            other => {
                // A declined card stays off the profile.
                let _ = self.gateway.detach_card(account, method).await;
                let receipt = other?;
                return Ok(LinkPaid {
                    receipt,
                    card: Some(saved),
                    card_saved: false,
                });
            }
        };
        let card_saved = command.save_card;
        let card = if card_saved {
            self.keep_card(&business, &customer.id, &gateway_customer, saved)
                .await?
        } else {
            // Kept at the gateway only for the charge. A failure here leaves an unused card
            // attached at the gateway, never on the profile: not worth failing a paid page for.
            let _ = self.gateway.detach_card(account, method).await;
            saved
        };
        if receipt.payment.state == PaymentState::Succeeded {
            let completed = LinkState::Completed {
                at: self.now(),
                payment: Some(payment_id),
                card: card_saved.then(|| card.payment_method.clone()),
            };
            self.store
                .close_link(&business.id, &link.id, &completed)
                .await?;
            self.email_payment(&business, &customer, &receipt, &card)
                .await?;
        }
        Ok(LinkPaid {
            receipt,
            card: Some(card),
            card_saved,
        })
    }

    /// Closes a link payment whose card the gateway would not attach: no charge was sent, so
    /// the payment certainly did nothing, whatever the attach call's outcome (it is never left
    /// for the reconciler, which would send the charge). A card the gateway refused to keep
    /// (Stripe refuses to save a card that declines) is the customer's card declined.
    async fn refuse_unattached(
        &self,
        business: &Business,
        open: OpenPayment,
        error: GatewayError,
    ) -> Result<Receipt, BillingError> {
        let id = open.payment.id.clone();
        let bookings = open.payment.bookings();
        match error {
            GatewayError::InvalidRequest { message, .. } => {
                let refused = Move::plain(
                    &id,
                    PaymentEvent::Failed(Failure {
                        code: "card_declined".into(),
                        decline_code: None,
                        message,
                    }),
                );
                self.record(
                    business,
                    open.ledgers,
                    &bookings,
                    &[refused],
                    KeyFate::Untouched,
                )
                .await?
                .receipt(&id)
            }
            other => {
                let nothing_done = match other {
                    GatewayError::UnknownOutcome(message) => GatewayError::Unavailable(message),
                    other => other,
                };
                match self.finish(business, open, None, Err(nothing_done)).await {
                    Err(error) => Err(error),
                    Ok(_) => Err(BillingError::Inconsistent(
                        "a payment whose card was never attached was not closed".into(),
                    )),
                }
            }
        }
    }

    /// Starts the gateway's card set-up for a card request's page (Stripe.js finishes it in
    /// the customer's browser). The same link always gets the same set-up.
    pub async fn card_request_setup(&self, token: &str) -> Result<CardSetup, BillingError> {
        let (business, link) = self.usable_link(token).await?;
        if link.purpose != LinkPurpose::CardRequest {
            return Err(BillingError::LinkUnavailable);
        }
        let gateway_customer = self.gateway_customer(&business, &link.customer).await?;
        self.gateway
            .start_card_setup(
                business.gateway_account.clone(),
                &gateway_customer,
                &format!("setup-{}", link.id),
            )
            .await
            .map_err(|error| BillingError::Gateway {
                payment: None,
                error,
            })
    }

    /// Saves the card the customer entered on a card request's page, closes the request and
    /// tells the business.
    pub async fn complete_card_request(
        &self,
        token: &str,
        payment_method: &str,
    ) -> Result<SavedCard, BillingError> {
        let (business, link) = self.usable_link(token).await?;
        if link.purpose != LinkPurpose::CardRequest {
            return Err(BillingError::LinkUnavailable);
        }
        let method = payment_method.trim();
        if method.is_empty() || method.len() > 255 {
            return Err(BillingError::InvalidInput(
                "a payment method id has 1 to 255 characters",
            ));
        }
        let card = self.attach_card(&business, &link.customer, method).await?;
        let completed = LinkState::Completed {
            at: self.now(),
            payment: None,
            card: Some(card.payment_method.clone()),
        };
        // Two tabs may both save a card; only the first closes the request and tells the
        // business.
        if self
            .store
            .close_link(&business.id, &link.id, &completed)
            .await?
            && let Some(to) = business.email.clone()
        {
            let customer = self.customer(&business, &link.customer).await?;
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
        Ok(card)
    }

    /// The business and link of a token, when the link can be used now.
    async fn usable_link(&self, token: &str) -> Result<(Business, PaymentLink), BillingError> {
        let token = LinkToken::parse(token).ok_or(BillingError::LinkUnavailable)?;
        let hash = token.hash();
        let found = self
            .store
            .link_by_token(&hash)
            .await?
            .filter(|found| found.token_hash.matches(&hash))
            .ok_or(BillingError::LinkUnavailable)?;
        let link = found.link;
        if matches!(link.state, LinkState::Completed { .. }) {
            return Err(BillingError::LinkAlreadyUsed);
        }
        if !link.is_usable(self.now()) {
            return Err(BillingError::LinkUnavailable);
        }
        let business = self
            .store
            .business(&found.business)
            .await
            .map_err(|e| BillingError::Inconsistent(e.to_string()))?
            .ok_or(BillingError::LinkUnavailable)?;
        Ok((business, link))
    }

    /// Refuses a payment link whose bookings no longer owe what it says, or have a payment in
    /// flight (another tab's, say).
    fn check_unchanged(
        link: &PaymentLink,
        summaries: &BTreeMap<BookingId, BookingSummary>,
    ) -> Result<(), BillingError> {
        let LinkPurpose::Payment { bookings, .. } = &link.purpose else {
            return Ok(());
        };
        for linked in bookings {
            let summary = summaries
                .get(&linked.booking)
                .ok_or(BillingError::LinkChanged)?;
            let balance = &summary.balance;
            let unchanged = summary.customer == link.customer
                && balance.balance_due == linked.balance_due
                && !balance.in_flight.is_positive()
                && balance
                    .chargeable()
                    .checked_cmp(&linked.amount)
                    .is_ok_and(|o| o.is_ge());
            if !unchanged {
                return Err(BillingError::LinkChanged);
            }
        }
        Ok(())
    }

    /// After a refused payment: paid by another tab meanwhile, or really changed.
    async fn why_changed(&self, business: &Business, link: &PaymentLink) -> BillingError {
        match self.store.link(&business.id, &link.id).await {
            Ok(Some(now)) if matches!(now.state, LinkState::Completed { .. }) => {
                BillingError::LinkAlreadyUsed
            }
            _ => BillingError::LinkChanged,
        }
    }

    /// Queues the customer's receipt and the business's notice of a payment.
    async fn email_payment(
        &self,
        business: &Business,
        customer: &Customer,
        receipt: &Receipt,
        card: &SavedCard,
    ) -> Result<(), BillingError> {
        let bookings: Vec<BookingId> = receipt.payment.bookings();
        let ledgers = self.ledgers(business, &bookings).await?;
        let data = PaymentData {
            business_name: business.name.clone(),
            customer_name: customer.name.clone(),
            amount: receipt.payment.amount,
            card: Some(CardLabel::from(card)),
            bookings: Self::lines(&ledgers, &bookings),
            paid_at: self.now(),
        };
        if let Some(to) = customer.email.clone() {
            let content = EmailContent::Receipt(data.clone());
            self.queue_email(&business.id, &customer.id, &to, &content)
                .await?;
        }
        if let Some(to) = business.email.clone() {
            let content = EmailContent::BusinessPaymentNotice(data);
            self.queue_email(&business.id, &customer.id, &to, &content)
                .await?;
        }
        Ok(())
    }
}
