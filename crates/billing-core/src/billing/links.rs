//! Payment links and card requests: staff make them (and email them); customers use them on a
//! hosted page, reached by a secret token, with no login.
//!
//! Paying a link can never charge twice: the charge is opened under the bookings' lock like any
//! other, and it must find each booking's balance exactly as the link saw it with nothing in
//! flight. A second tab, a double click or a replayed form finds the first payment in flight or
//! done, and is refused.

use std::sync::Arc;

use chrono::Duration;

use super::Billing;
use super::moves::{Locked, Move, Opened};
use super::reads::Receipt;
use crate::booking::{BookingAccount, LineItemKind};
use crate::customer::{Business, Customer, SavedCard};
use crate::email::{
    BookingLine, CardLabel, CardRequestData, CardSavedData, EmailContent, PaymentData,
    PaymentLinkData,
};
use crate::error::BillingError;
use crate::idempotency::Fingerprint;
use crate::ids::{BookingId, BusinessId, CustomerId, LinkId};
use crate::link::{LinkPurpose, LinkState, LinkToken, LinkedBooking, PaymentLink};
use crate::money::Money;
use crate::notification::{Notification, NotificationKind};
use crate::payment::{
    Allocation, CardRef, Failure, Opening, PaymentEvent, PaymentKind, PaymentState,
};
use crate::ports::{
    Businesses, CardSetup, CustomerDirectory, EmailTemplates, GatewayError, Ledger,
    NotificationLog, PaymentGateway, PaymentLinks, PaymentRequest, SecretSource,
};
use crate::status::BookingSummary;

/// The most bookings one payment link may pay.
pub const MAX_LINK_BOOKINGS: usize = 50;

/// What the hosted pages need: where they are served, how long links last, how emails are
/// written, and where token secrets come from.
#[derive(Clone)]
pub struct HostedPages {
    /// The public address of the hosted pages (`https://pay.example.com`), from configuration:
    /// links are never built from a request's `Host` header, which a client controls.
    pub base_url: String,
    /// How long a link works (7 days by default).
    pub link_lifetime: Duration,
    /// Writes the emails.
    pub templates: Arc<dyn EmailTemplates>,
    /// Random bytes for tokens, from the OS generator.
    pub secrets: Arc<dyn SecretSource>,
}

impl std::fmt::Debug for HostedPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedPages")
            .field("base_url", &self.base_url)
            .field("link_lifetime", &self.link_lifetime)
            .finish_non_exhaustive()
    }
}

impl HostedPages {
    /// The default lifetime of a link: 7 days.
    pub fn default_lifetime() -> Duration {
        Duration::days(7)
    }

    /// The page of a link with this token.
    pub fn url(&self, link: &PaymentLink, token: &LinkToken) -> String {
        let page = match link.purpose {
            LinkPurpose::Payment { .. } => "pay",
            LinkPurpose::CardRequest => "cards",
        };
        format!(
            "{}/{page}/{}",
            self.base_url.trim_end_matches('/'),
            token.expose()
        )
    }
}

/// Make a payment link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePaymentLink {
    /// Whose bookings.
    pub customer: CustomerId,
    /// The bookings it pays, in the order their shares are filled.
    pub bookings: Vec<BookingId>,
    /// How much; all they owe when absent. A part is taken from the bookings in order.
    pub amount: Option<Money>,
    /// Email it to the customer (else only its URL is returned).
    pub send_email: bool,
}

/// A link just made: the only time its URL (with the token) exists outside the customer's
/// email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedLink {
    /// The link.
    pub link: PaymentLink,
    /// Its page.
    pub url: String,
    /// The email queued for it, when one was asked for.
    pub notification: Option<Notification>,
}

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

/// A link paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPaid {
    /// The charge (succeeded, or pending when the gateway's answer was lost).
    pub receipt: Receipt,
    /// The card, as saved on the profile when the customer asked to save it.
    pub card: SavedCard,
    /// True when the card was saved.
    pub card_saved: bool,
}

impl<S, G> Billing<S, G>
where
    S: Ledger + CustomerDirectory + Businesses + PaymentLinks + NotificationLog,
    G: PaymentGateway,
{
    fn pages(&self) -> Result<&HostedPages, BillingError> {
        self.pages
            .as_ref()
            .ok_or(BillingError::HostedPagesNotConfigured)
    }

    /// Makes a payment link for some of a customer's bookings, for what they owe or a part of
    /// it, and emails it when asked.
    pub async fn create_payment_link(
        &self,
        business: &Business,
        command: CreatePaymentLink,
    ) -> Result<IssuedLink, BillingError> {
        self.pages()?;
        let count = command.bookings.len();
        if count == 0 || count > MAX_LINK_BOOKINGS {
            return Err(BillingError::InvalidInput(
                "a payment link pays 1 to 50 bookings",
            ));
        }
        let mut unique = command.bookings.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != count {
            return Err(BillingError::InvalidInput(
                "a payment link names each booking once",
            ));
        }
        let customer = self.customer(business, &command.customer).await?;
        let email = Self::email_if(&customer, command.send_email)?;
        let locked = self.load_unlocked(business, &command.bookings).await?;
        let mut summaries = Vec::with_capacity(count);
        for booking in &command.bookings {
            let summary = locked.summary(booking)?;
            if summary.customer != customer.id {
                // Another customer's booking is as good as unknown here.
                return Err(BillingError::BookingNotFound(booking.clone()));
            }
            if !summary.balance.chargeable().is_positive() {
                return Err(BillingError::NothingToCharge {
                    booking: booking.clone(),
                    balance_due: summary.balance.balance_due,
                });
            }
            summaries.push(summary);
        }
        let (amount, linked) = shares(&summaries, command.amount)?;
        let purpose = LinkPurpose::Payment {
            amount,
            bookings: linked,
        };
        self.issue(business, &customer, purpose, email, |link, url| {
            EmailContent::PaymentLink(PaymentLinkData {
                business_name: business.name.clone(),
                customer_name: customer.name.clone(),
                amount,
                bookings: Self::lines(&locked, &link.bookings()),
                url,
                expires_at: link.expires_at,
            })
        })
        .await
    }

    /// Makes a card request: a link to a page where the customer saves a card. Emails it when
    /// asked.
    pub async fn request_card(
        &self,
        business: &Business,
        customer: &CustomerId,
        send_email: bool,
    ) -> Result<IssuedLink, BillingError> {
        self.pages()?;
        let customer = self.customer(business, customer).await?;
        let email = Self::email_if(&customer, send_email)?;
        self.issue(
            business,
            &customer,
            LinkPurpose::CardRequest,
            email,
            |link, url| {
                EmailContent::CardRequest(CardRequestData {
                    business_name: business.name.clone(),
                    customer_name: customer.name.clone(),
                    url,
                    expires_at: link.expires_at,
                })
            },
        )
        .await
    }

    /// A link of the business.
    pub async fn link(
        &self,
        business: &Business,
        id: &LinkId,
    ) -> Result<PaymentLink, BillingError> {
        self.store
            .link(&business.id, id)
            .await?
            .ok_or_else(|| BillingError::LinkNotFound(id.clone()))
    }

    /// A customer's links, newest first, at most `limit` (1 to 100).
    pub async fn customer_links(
        &self,
        business: &Business,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, BillingError> {
        self.customer(business, customer).await?;
        Ok(self
            .store
            .customer_links(&business.id, customer, limit.clamp(1, 100))
            .await?)
    }

    /// Cancels an open link: its page then answers like an unknown link's.
    pub async fn cancel_link(
        &self,
        business: &Business,
        id: &LinkId,
    ) -> Result<PaymentLink, BillingError> {
        let link = self.link(business, id).await?;
        let canceled = LinkState::Canceled { at: self.now() };
        if !self.store.close_link(&business.id, id, &canceled).await? {
            let now = self.link(business, id).await?;
            return Err(BillingError::LinkNotOpen {
                link: id.clone(),
                state: now.state.name(),
            });
        }
        Ok(PaymentLink {
            state: canceled,
            ..link
        })
    }

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
            let locked = self.load_unlocked(&business, &bookings).await?;
            Self::check_unchanged(&link, &locked.summaries)?;
            Self::lines(&locked, &bookings)
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

    /// Pays a payment link with a card from the page's card form, then emails the customer a
    /// receipt and the business a notice. A decline is [`BillingError::Declined`] and leaves the
    /// link open for another card.
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
        let fingerprint = Fingerprint(format!("link|{}|{method}", link.id));
        let opened = self
            .open(
                &business,
                &booking_ids,
                None,
                &fingerprint,
                |locked, _id| {
                    Self::check_unchanged(&link, &locked.summaries)?;
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
                    Ok((opening, ()))
                },
            )
            .await;
        let payment = match opened {
            Ok(Opened::New(payment, ())) => payment,
            Ok(Opened::Replay(_)) => {
                return Err(BillingError::Inconsistent(
                    "a link payment has no idempotency key to replay".into(),
                ));
            }
            // Another tab may have paid meanwhile: say so rather than "changed".
            Err(BillingError::LinkChanged) => return Err(self.why_changed(&business, &link).await),
            Err(error) => return Err(error),
        };
        let account = business.gateway_account.clone();
        // The card must be the customer's at the gateway before an off-session charge; a card
        // the gateway refuses to attach closes the payment as failed, like a decline.
        let attached = self
            .gateway
            .attach_card(account.clone(), &gateway_customer, method)
            .await;
        let saved = match attached {
            Ok(saved) => saved,
            // The gateway refused to keep the card (Stripe refuses to save a card that
            // declines): for the customer, that is their card declined.
            Err(GatewayError::InvalidRequest { message, .. }) => {
                let refused = Move {
                    payment: payment.id.clone(),
                    event: PaymentEvent::Failed(Failure {
                        code: "card_declined".into(),
                        decline_code: None,
                        message,
                    }),
                    gateway_reference: None,
                    hold_expires_at: None,
                };
                return match self
                    .finish(&business, &payment, None, Ok(vec![refused]))
                    .await
                {
                    Err(error) => Err(error),
                    Ok(_) => Err(BillingError::Inconsistent(
                        "a payment whose card was refused was not closed".into(),
                    )),
                };
            }
            Err(error) => {
                // No charge was sent, so the payment certainly did nothing, whatever the attach
                // call's outcome: close it as failed (never leave it for the reconciler, which
                // would send the charge).
                let nothing_done = match error {
                    GatewayError::UnknownOutcome(message) => GatewayError::Unavailable(message),
                    other => other,
                };
                return match self
                    .finish(&business, &payment, None, Err(nothing_done))
                    .await
                {
                    Err(error) => Err(error),
                    Ok(_) => Err(BillingError::Inconsistent(
                        "a payment whose card was never attached was not closed".into(),
                    )),
                };
            }
        };
        let request = PaymentRequest {
            account: account.clone(),
            payment: payment.id.clone(),
            idempotency_key: payment.gateway_idempotency_key(),
            card,
            amount: payment.amount,
            description: payment.gateway_description(),
        };
        let answer = self.gateway.charge(&request).await;
        let moves = answer.and_then(|answer| self.payment_moves(&payment, &answer));
        let receipt = self.finish(&business, &payment, None, moves).await;
        let receipt = match receipt {
            Ok(receipt) => receipt,
            Err(error) => {
                // A declined card stays off the profile.
                let _ = self.gateway.detach_card(account, method).await;
                return Err(error);
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
                payment: Some(payment.id.clone()),
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
            card,
            card_saved,
        })
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
        summaries: &std::collections::BTreeMap<BookingId, BookingSummary>,
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

    /// Makes and stores a new open link with a fresh token, and queues the email `content`
    /// (given the link and its URL) to `email` when there is one.
    async fn issue(
        &self,
        business: &Business,
        customer: &Customer,
        purpose: LinkPurpose,
        email: Option<String>,
        content: impl FnOnce(&PaymentLink, String) -> EmailContent,
    ) -> Result<IssuedLink, BillingError> {
        let pages = self.pages()?;
        let now = self.now();
        let link = PaymentLink {
            id: self.ids.link_id(),
            customer: customer.id.clone(),
            purpose,
            created_at: now,
            expires_at: now + pages.link_lifetime,
            state: LinkState::Open,
        };
        let token = LinkToken::from_random(pages.secrets.secret_bytes());
        self.store
            .create_link(&business.id, &link, &token.hash())
            .await?;
        let url = pages.url(&link, &token);
        let notification = match email {
            Some(to) => {
                let content = content(&link, url.clone());
                Some(
                    self.queue_email(&business.id, &customer.id, &to, &content)
                        .await?,
                )
            }
            None => None,
        };
        Ok(IssuedLink {
            link,
            url,
            notification,
        })
    }

    /// Queues the customer's receipt and the business's notice of a payment.
    async fn email_payment(
        &self,
        business: &Business,
        customer: &Customer,
        receipt: &Receipt,
        card: &SavedCard,
    ) -> Result<(), BillingError> {
        let data = PaymentData {
            business_name: business.name.clone(),
            customer_name: customer.name.clone(),
            amount: receipt.payment.amount,
            card: Some(CardLabel::from(card)),
            bookings: self
                .lines_now(business, &receipt.payment.bookings())
                .await?,
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

    /// The bookings as emails and pages list them, as they stand now.
    async fn lines_now(
        &self,
        business: &Business,
        bookings: &[BookingId],
    ) -> Result<Vec<BookingLine>, BillingError> {
        let locked = self.load_unlocked(business, bookings).await?;
        Ok(Self::lines(&locked, bookings))
    }

    /// The bookings as emails and pages list them: date, service, price, paid, due.
    fn lines(locked: &Locked, bookings: &[BookingId]) -> Vec<BookingLine> {
        bookings
            .iter()
            .filter_map(|id| {
                let account = locked.accounts.get(id)?;
                let balance = &locked.summaries.get(id)?.balance;
                Some(BookingLine {
                    date: account.service_at.map(|at| at.date_naive()),
                    service: service_label(account),
                    price: balance.price,
                    paid: balance.paid,
                    due: balance.balance_due,
                })
            })
            .collect()
    }

    /// Renders and queues one email; nothing is sent now.
    async fn queue_email(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        to: &str,
        content: &EmailContent,
    ) -> Result<Notification, BillingError> {
        let pages = self.pages()?;
        let message = pages
            .templates
            .render(to, content)
            .map_err(|e| BillingError::Email(e.to_string()))?;
        message
            .check()
            .map_err(|e| BillingError::Email(e.to_string()))?;
        let kind: NotificationKind = content.kind();
        let notification = Notification::queued(
            self.ids.notification_id(),
            customer.clone(),
            kind,
            &message,
            self.now(),
        );
        self.store
            .record_queued(business, &notification, &message)
            .await?;
        Ok(notification)
    }

    /// The customer's address when an email is asked for; refused when they have none.
    fn email_if(customer: &Customer, asked: bool) -> Result<Option<String>, BillingError> {
        if !asked {
            return Ok(None);
        }
        customer
            .email
            .clone()
            .map(Some)
            .ok_or_else(|| BillingError::NoEmailAddress(customer.id.clone()))
    }
}

/// What a booking is, for the customer: its service lines' labels, else all its labels.
fn service_label(account: &BookingAccount) -> String {
    let services: Vec<&str> = account
        .line_items
        .iter()
        .filter(|item| item.kind == LineItemKind::Service)
        .map(|item| item.label.as_str())
        .collect();
    let labels = if services.is_empty() {
        account
            .line_items
            .iter()
            .map(|i| i.label.as_str())
            .collect()
    } else {
        services
    };
    if labels.is_empty() {
        format!("Booking {}", account.id)
    } else {
        labels.join(", ")
    }
}

/// Shares `amount` (all that can be charged when `None`) across the bookings in order: each
/// takes what it can until the amount is used up. Bookings left with nothing are refused, so
/// that a link never names a booking it does not pay.
fn shares(
    summaries: &[&BookingSummary],
    amount: Option<Money>,
) -> Result<(Money, Vec<LinkedBooking>), BillingError> {
    let Some(first) = summaries.first() else {
        return Err(BillingError::InvalidInput(
            "a payment link pays 1 to 50 bookings",
        ));
    };
    let currency = first.currency;
    let mut total = Money::zero(currency);
    for summary in summaries {
        if summary.currency != currency {
            return Err(BillingError::WrongCurrency {
                expected: currency,
                got: summary.currency,
            });
        }
        total = total.checked_add(&summary.balance.chargeable())?;
    }
    let amount = match amount {
        None => total,
        Some(requested) => {
            if requested.currency() != currency {
                return Err(BillingError::WrongCurrency {
                    expected: currency,
                    got: requested.currency(),
                });
            }
            if !requested.is_positive() {
                return Err(BillingError::NonPositiveAmount(requested));
            }
            if requested.checked_cmp(&total)?.is_gt() {
                return Err(BillingError::AmountExceedsBalance {
                    requested,
                    available: total,
                });
            }
            requested
        }
    };
    let mut left = amount;
    let mut linked = Vec::with_capacity(summaries.len());
    for summary in summaries {
        let share = summary.balance.chargeable().checked_min(&left)?;
        if !share.is_positive() {
            return Err(BillingError::InvalidInput(
                "the amount is used up before the last booking: name fewer bookings",
            ));
        }
        left = left.checked_sub(&share)?;
        linked.push(LinkedBooking {
            booking: summary.booking.clone(),
            amount: share,
            balance_due: summary.balance.balance_due,
        });
    }
    Ok((amount, linked))
}
