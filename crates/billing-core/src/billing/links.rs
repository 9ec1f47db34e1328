//! Payment links and card requests, as staff make them: issued with a fresh secret token,
//! stored with only its hash, emailed when asked; read, listed and canceled. The customer's
//! side (the hosted pages) is in `link_pages`.

use std::sync::Arc;

use chrono::Duration;

use super::Billing;
use super::ledgers::Ledgers;
use crate::booking::{BookingAccount, LineItemKind};
use crate::customer::{Business, Customer};
use crate::email::{BookingLine, CardRequestData, EmailContent, PaymentLinkData};
use crate::error::BillingError;
use crate::ids::{BookingId, BusinessId, CustomerId, LinkId};
use crate::link::{
    Checkout, DeskReturn, LinkPurpose, LinkState, LinkToken, LinkedBooking, PaymentLink,
};
use crate::money::{Amount, Money};
use crate::notification::{Channel, Notification, NotificationKind, OutboundMessage};
use crate::phone::PhoneNumber;
use crate::ports::{EmailTemplates, PageAddresses};
use crate::status::BookingSummary;
use crate::text_message::text_for;

/// The most bookings one payment link may pay.
pub const MAX_LINK_BOOKINGS: usize = 50;

/// What payment links and card requests need: where their pages are, how long links last,
/// and how emails are written.
#[derive(Clone)]
pub struct HostedPages {
    /// Where each link's page is (the adapter that serves the pages says).
    pub addresses: Arc<dyn PageAddresses>,
    /// How long a link works (7 days by default).
    pub link_lifetime: Duration,
    /// Writes the emails.
    pub templates: Arc<dyn EmailTemplates>,
}

impl std::fmt::Debug for HostedPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedPages")
            .field("link_lifetime", &self.link_lifetime)
            .finish_non_exhaustive()
    }
}

impl HostedPages {
    /// The default lifetime of a link: 7 days.
    pub fn default_lifetime() -> Duration {
        Duration::days(7)
    }
}

/// Make a payment link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePaymentLink {
    /// Whose bookings.
    pub customer: CustomerId,
    /// The bookings it pays, in the order their shares are filled.
    pub bookings: Vec<BookingId>,
    /// How much (in the bookings' currency); all they owe when absent. A part is taken from
    /// the bookings in order.
    pub amount: Option<Amount>,
    /// How it is sent to the customer (else only its URL is returned).
    pub send: Sending,
}

/// How a link is sent to its customer, besides its URL in the answer: by email, by text, by
/// both, or not at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sending {
    /// Email it to the customer's address.
    pub email: bool,
    /// Text it to the customer's phone number.
    pub text: bool,
}

impl Sending {
    /// Not sent: only its URL is returned.
    pub const NOT: Sending = Sending {
        email: false,
        text: false,
    };
    /// Emailed only.
    pub const EMAIL: Sending = Sending {
        email: true,
        text: false,
    };
}

/// Where a customer is reached, as asked and as they allow.
pub(super) struct Reach {
    pub(super) email: Option<String>,
    pub(super) phone: Option<PhoneNumber>,
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
    /// The text queued for it, when one was asked for.
    pub text: Option<Notification>,
}

impl Billing {
    pub(super) fn pages(&self) -> Result<&HostedPages, BillingError> {
        self.pages
            .as_ref()
            .ok_or(BillingError::HostedPagesNotConfigured)
    }

    /// Makes a payment link for some of a customer's bookings, for what they owe or a part of
    /// it (an amount the gateway can charge: [`BillingError::AmountNotChargeable`]), and emails
    /// it when asked.
    pub async fn create_payment_link(
        &self,
        business: &Business,
        command: CreatePaymentLink,
    ) -> Result<IssuedLink, BillingError> {
        self.payment_link(business, command, None).await
    }

    /// Makes a payment link that staff open themselves, to type the customer's new card into
    /// its page at the desk: nothing is emailed, and its receipt offers `back`.
    pub async fn create_payment_link_at_desk(
        &self,
        business: &Business,
        command: CreatePaymentLink,
        back: DeskReturn,
    ) -> Result<IssuedLink, BillingError> {
        let command = CreatePaymentLink {
            send: Sending::NOT,
            ..command
        };
        self.payment_link(business, command, Some(back)).await
    }

    pub(super) async fn payment_link(
        &self,
        business: &Business,
        command: CreatePaymentLink,
        back: Option<DeskReturn>,
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
        let reach = self.reach(&customer, command.send).await?;
        let ledgers = self.ledgers(business, &command.bookings).await?;
        let mut summaries = Vec::with_capacity(count);
        for booking in &command.bookings {
            let summary = ledgers.summary(booking)?;
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
        let (amount, linked) = shares(&summaries, command.amount.as_ref())?;
        self.gateway.check_amount(&amount)?;
        let purpose = LinkPurpose::Payment {
            amount,
            bookings: linked,
        };
        self.issue(business, &customer, purpose, reach, back, |link, url| {
            EmailContent::PaymentLink(PaymentLinkData {
                business_name: business.name.clone(),
                customer_name: customer.name.clone(),
                amount,
                bookings: Self::lines(&ledgers, &link.bookings()),
                url,
                expires_at: link.expires_at,
            })
        })
        .await
    }

    /// Makes a card request: a link to a page where the customer saves a card. Sends it as
    /// asked.
    pub async fn request_card(
        &self,
        business: &Business,
        customer: &CustomerId,
        send: Sending,
    ) -> Result<IssuedLink, BillingError> {
        self.issue_card_request(business, customer, send, None)
            .await
    }

    /// Makes a card request that staff open themselves, to type the customer's card into its
    /// page at the desk ("Create Payment Option"): nothing is emailed, and its last page
    /// offers `back`.
    pub async fn request_card_at_desk(
        &self,
        business: &Business,
        customer: &CustomerId,
        back: DeskReturn,
    ) -> Result<IssuedLink, BillingError> {
        self.issue_card_request(business, customer, Sending::NOT, Some(back))
            .await
    }

    pub(super) async fn issue_card_request(
        &self,
        business: &Business,
        customer: &CustomerId,
        send: Sending,
        back: Option<DeskReturn>,
    ) -> Result<IssuedLink, BillingError> {
        self.pages()?;
        let customer = self.customer(business, customer).await?;
        let reach = self.reach(&customer, send).await?;
        self.issue(
            business,
            &customer,
            LinkPurpose::CardRequest,
            reach,
            back,
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

    /// Makes and stores a new open link with a fresh token, and queues the email and the text
    /// of `content` (given the link and its URL) where `reach` says.
    async fn issue(
        &self,
        business: &Business,
        customer: &Customer,
        purpose: LinkPurpose,
        reach: Reach,
        back: Option<DeskReturn>,
        content: impl FnOnce(&PaymentLink, String) -> EmailContent,
    ) -> Result<IssuedLink, BillingError> {
        let (link, url) = self
            .store_link(business, customer, purpose, None, back)
            .await?;
        let content = content(&link, url.clone());
        let notification = match reach.email {
            Some(to) => Some(
                self.queue_email(&business.id, &customer.id, &to, &content)
                    .await?,
            ),
            None => None,
        };
        let text = match reach.phone {
            Some(to) => {
                self.queue_text(&business.id, &customer.id, &to, &content)
                    .await?
            }
            None => None,
        };
        Ok(IssuedLink {
            link,
            url,
            notification,
            text,
        })
    }

    /// Makes and stores a checkout's link: the customer is on the business's page, so nothing
    /// is emailed, and it works for [`checkout_lifetime`](super::checkout_lifetime) at most.
    pub(super) async fn issue_checkout(
        &self,
        business: &Business,
        customer: &Customer,
        purpose: LinkPurpose,
        checkout: Checkout,
    ) -> Result<IssuedLink, BillingError> {
        let (link, url) = self
            .store_link(business, customer, purpose, Some(checkout), None)
            .await?;
        Ok(IssuedLink {
            link,
            url,
            notification: None,
            text: None,
        })
    }

    /// Stores a new open link with a fresh token: the link, and its page's URL.
    async fn store_link(
        &self,
        business: &Business,
        customer: &Customer,
        purpose: LinkPurpose,
        checkout: Option<Checkout>,
        desk_return: Option<DeskReturn>,
    ) -> Result<(PaymentLink, String), BillingError> {
        let pages = self.pages()?;
        let now = self.now();
        let lifetime = match checkout {
            Some(_) => pages.link_lifetime.min(super::checkout_lifetime()),
            None => pages.link_lifetime,
        };
        let link = PaymentLink {
            id: self.ids.link_id(),
            customer: customer.id.clone(),
            purpose,
            created_at: now,
            expires_at: now + lifetime,
            state: LinkState::Open,
            checkout,
            desk_return,
        };
        let token = LinkToken::from_random(self.secrets.secret_bytes());
        self.store
            .create_link(&business.id, &link, &token.hash())
            .await?;
        let url = pages.addresses.link_url(&link.purpose, &token);
        Ok((link, url))
    }

    /// The bookings as emails and pages list them: date, service, price, paid, due.
    pub(super) fn lines(ledgers: &Ledgers, bookings: &[BookingId]) -> Vec<BookingLine> {
        bookings
            .iter()
            .filter_map(|id| {
                let account = ledgers.accounts.get(id)?;
                let balance = &ledgers.summaries.get(id)?.balance;
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
    pub(super) async fn queue_email(
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

    /// Queues the text of `content` to `to`, when `content` is one that is texted (see
    /// [`text_for`]); nothing is sent now.
    pub(super) async fn queue_text(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        to: &PhoneNumber,
        content: &EmailContent,
    ) -> Result<Option<Notification>, BillingError> {
        let Some(wording) = text_for(content) else {
            return Ok(None);
        };
        let message = OutboundMessage::text(to, wording.label, wording.body);
        message
            .check_as(Channel::Text)
            .map_err(|e| BillingError::Email(e.to_string()))?;
        let notification = Notification::queued_by(
            Channel::Text,
            self.ids.notification_id(),
            customer.clone(),
            content.kind(),
            &message,
            self.now(),
        );
        self.store
            .record_queued(business, &notification, &message)
            .await?;
        Ok(Some(notification))
    }

    /// Where the customer is reached as `send` asks: refused when they have no address or
    /// number for it, or their number replied STOP.
    pub(super) async fn reach(
        &self,
        customer: &Customer,
        send: Sending,
    ) -> Result<Reach, BillingError> {
        let email = match send.email {
            true => Some(
                customer
                    .email
                    .clone()
                    .ok_or_else(|| BillingError::NoEmailAddress(customer.id.clone()))?,
            ),
            false => None,
        };
        let phone =
            match send.text {
                true => Some(self.textable(customer).await?.ok_or_else(
                    || match &customer.phone {
                        Some(_) => BillingError::TextsRefused(customer.id.clone()),
                        None => BillingError::NoPhoneNumber(customer.id.clone()),
                    },
                )?),
                false => None,
            };
        Ok(Reach { email, phone })
    }

    /// The customer's number, when they have one and it has not replied STOP.
    pub(super) async fn textable(
        &self,
        customer: &Customer,
    ) -> Result<Option<PhoneNumber>, BillingError> {
        let Some(phone) = &customer.phone else {
            return Ok(None);
        };
        Ok((!self.store.text_opted_out(phone).await?).then(|| phone.clone()))
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
    amount: Option<&Amount>,
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
    let amount = match super::commands::resolve(amount, currency)? {
        None => total,
        Some(requested) => {
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
