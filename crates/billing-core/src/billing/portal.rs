//! The customer portal, as the core serves it: a portal link sent on request, opened once to
//! start a session, and what a session sees and does — the customer's bookings with their
//! balances and receipts, paying what is due through a payment link's page, and adding or
//! removing cards. See [`crate::portal`] for why a link and a session.
//!
//! A session reaches only its own customer's bookings and cards: every call takes the
//! [`PortalVisit`] its token opened, and nothing else says whose data it is.

use chrono::{DateTime, Utc};

use super::Billing;
use super::links::{IssuedLink, Sending};
use crate::booking::BookingAccount;
use crate::customer::{Business, Customer, SavedCard};
use crate::email::{BookingLine, EmailContent, PortalLinkData};
use crate::error::BillingError;
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::link::{DeskReturn, LinkToken};
use crate::money::Money;
use crate::notification::Notification;
use crate::payment::{Payment, PaymentKind, PaymentState};
use crate::portal::{PortalPass, PortalPassKind};
use crate::ports::{BookingFilter, PortalPassByToken};

/// The most bookings the portal lists: the newest first would need a date order the store does
/// not keep; a customer with more is rare, and staff still see them all.
pub const MAX_PORTAL_BOOKINGS: u32 = 100;

/// The path of the portal's own page, where pages it sends the customer to bring them back.
pub const PORTAL_PATH: &str = "/portal";

/// A portal link just sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLinkSent {
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// The email queued with it, when one was asked for.
    pub notification: Option<Notification>,
    /// The text queued with it, when one was asked for.
    pub text: Option<Notification>,
}

/// A session just started by opening a portal link: its token is for the customer's browser
/// alone (a cookie), and exists nowhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalEntry {
    /// The session's secret token.
    pub session_token: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// A live session's business and customer: what every portal call acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalVisit {
    /// The business.
    pub business: Business,
    /// The customer.
    pub customer: Customer,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// What the portal's page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalOverview {
    /// The customer's bookings, those owing first, then by service date (newest first).
    pub bookings: Vec<PortalBooking>,
    /// What the listed bookings can be paid now, one amount per currency (in the order the
    /// currencies first appear; none when nothing is payable).
    pub total_due: Vec<Money>,
    /// The customer's saved cards, the default first.
    pub cards: Vec<SavedCard>,
    /// True when the portal lists fewer bookings than the customer has.
    pub truncated: bool,
}

/// One booking in the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalBooking {
    /// The booking.
    pub booking: BookingId,
    /// Its date, service, price, paid and due, as emails show it.
    pub line: BookingLine,
    /// What the customer can pay on it now (zero while a payment is in flight or nothing is
    /// owed).
    pub payable: Money,
    /// The money that moved for it, oldest first.
    pub receipts: Vec<PortalReceipt>,
}

/// Money that moved for a booking, in the customer's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalReceipt {
    /// The payment.
    pub payment: PaymentId,
    /// When it settled.
    pub at: DateTime<Utc>,
    /// What it was.
    pub what: ReceiptKind,
    /// The booking's share.
    pub amount: Money,
}

/// What a receipt was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptKind {
    /// Paid by card (a charge, or a hold's capture); the card's last four digits when it is
    /// still saved.
    Card {
        /// The last four digits, when known.
        last4: Option<String>,
    },
    /// Paid outside the gateway: cash, check...
    Collected {
        /// How, as the business recorded it (`cash`, `check`...).
        method: String,
    },
    /// Money given back.
    Refund,
}

impl Billing {
    /// Sends a customer a link into their portal, as `send` says (by email, text or both; not
    /// sending at all is [`BillingError::InvalidInput`]: the link exists nowhere else).
    pub async fn send_portal_link(
        &self,
        business: &Business,
        customer: &CustomerId,
        send: Sending,
    ) -> Result<PortalLinkSent, BillingError> {
        let pages = self.pages()?;
        if send == Sending::NOT {
            return Err(BillingError::InvalidInput(
                "a portal link is sent by email, text or both",
            ));
        }
        let customer = self.customer(business, customer).await?;
        let reach = self.reach(&customer, send).await?;
        let pass = PortalPass::new(customer.id.clone(), PortalPassKind::Link, self.now());
        let token = self.new_portal_pass(business, &pass).await?;
        let content = EmailContent::PortalLink(PortalLinkData {
            business_name: business.name.clone(),
            customer_name: customer.name.clone(),
            url: pages.addresses.portal_url(&token),
            expires_at: pass.expires_at,
        });
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
        Ok(PortalLinkSent {
            expires_at: pass.expires_at,
            notification,
            text,
        })
    }

    /// Opens an emailed portal link: it works once, and starts a session. A link already
    /// opened is [`BillingError::LinkAlreadyUsed`]; anything else that is no usable link
    /// (unknown, expired, a session's token) is [`BillingError::LinkUnavailable`].
    pub async fn open_portal(&self, token: &str) -> Result<PortalEntry, BillingError> {
        let found = self.portal_pass_of(token).await?;
        if found.pass.kind != PortalPassKind::Link {
            return Err(BillingError::LinkUnavailable);
        }
        if found.pass.used_at.is_some() {
            return Err(BillingError::LinkAlreadyUsed);
        }
        let now = self.now();
        if !found.pass.is_usable(now) {
            return Err(BillingError::LinkUnavailable);
        }
        if !self.store.use_portal_pass(&found.token_hash, now).await? {
            return Err(BillingError::LinkAlreadyUsed);
        }
        let business = self.portal_business(&found).await?;
        let session = PortalPass::new(found.pass.customer, PortalPassKind::Session, now);
        let token = self.new_portal_pass(&business, &session).await?;
        Ok(PortalEntry {
            session_token: token.expose().to_owned(),
            expires_at: session.expires_at,
        })
    }

    /// The business and customer of a live session, or [`BillingError::LinkUnavailable`].
    pub async fn portal_visit(&self, session_token: &str) -> Result<PortalVisit, BillingError> {
        let found = self.portal_pass_of(session_token).await?;
        if found.pass.kind != PortalPassKind::Session || !found.pass.is_usable(self.now()) {
            return Err(BillingError::LinkUnavailable);
        }
        let business = self.portal_business(&found).await?;
        let customer = self
            .customer(&business, &found.pass.customer)
            .await
            .map_err(|_| BillingError::LinkUnavailable)?;
        Ok(PortalVisit {
            business,
            customer,
            expires_at: found.pass.expires_at,
        })
    }

    /// Ends a session (the customer signs out). Ending one that is unknown or over is no error.
    pub async fn end_portal_session(&self, session_token: &str) -> Result<(), BillingError> {
        let Ok(found) = self.portal_pass_of(session_token).await else {
            return Ok(());
        };
        if found.pass.kind == PortalPassKind::Session {
            self.store
                .use_portal_pass(&found.token_hash, self.now())
                .await?;
        }
        Ok(())
    }

    /// The customer's bookings with what they owe and paid, and their cards.
    pub async fn portal_overview(
        &self,
        visit: &PortalVisit,
    ) -> Result<PortalOverview, BillingError> {
        let filter = BookingFilter {
            customer: Some(visit.customer.id.clone()),
            limit: MAX_PORTAL_BOOKINGS + 1,
            ..BookingFilter::default()
        };
        let mut ids: Vec<BookingId> = self
            .list_bookings(&visit.business, &filter)
            .await?
            .into_iter()
            .map(|summary| summary.booking)
            .collect();
        let truncated = ids.len() > MAX_PORTAL_BOOKINGS as usize;
        ids.truncate(MAX_PORTAL_BOOKINGS as usize);
        let cards = self.cards(&visit.business, &visit.customer.id).await?;
        let ledgers = self.ledgers(&visit.business, &ids).await?;
        let mut bookings = Vec::with_capacity(ids.len());
        for id in &ids {
            let line = Self::lines(&ledgers, std::slice::from_ref(id))
                .pop()
                .ok_or_else(|| BillingError::BookingNotFound(id.clone()))?;
            bookings.push(PortalBooking {
                booking: id.clone(),
                payable: ledgers.summary(id)?.balance.chargeable(),
                receipts: receipts(ledgers.account(id)?, &ledgers.payments, &cards),
                line,
            });
        }
        bookings.sort_by(|a, b| {
            b.payable
                .is_positive()
                .cmp(&a.payable.is_positive())
                .then_with(|| b.line.date.cmp(&a.line.date))
                .then_with(|| a.booking.cmp(&b.booking))
        });
        let mut total_due: Vec<Money> = Vec::new();
        for due in bookings
            .iter()
            .map(|b| b.payable)
            .filter(Money::is_positive)
        {
            match total_due
                .iter_mut()
                .find(|t| t.currency() == due.currency())
            {
                Some(total) => *total = total.checked_add(&due)?,
                None => total_due.push(due),
            }
        }
        Ok(PortalOverview {
            bookings,
            total_due,
            cards,
            truncated,
        })
    }

    /// A payment link for the chosen bookings' balances, for the customer to pay at once on its
    /// page (which offers the way back to the portal). Nothing is sent: the customer is here.
    /// Bookings that are not theirs are unknown; one with nothing to pay is refused.
    pub async fn portal_payment_link(
        &self,
        visit: &PortalVisit,
        bookings: Vec<BookingId>,
    ) -> Result<IssuedLink, BillingError> {
        let command = super::links::CreatePaymentLink {
            customer: visit.customer.id.clone(),
            bookings,
            amount: None,
            send: Sending::NOT,
        };
        self.payment_link(&visit.business, command, Some(portal_return()?))
            .await
    }

    /// A card request for the customer to save a card at once on its page (which offers the
    /// way back to the portal).
    pub async fn portal_card_request(
        &self,
        visit: &PortalVisit,
    ) -> Result<IssuedLink, BillingError> {
        self.issue_card_request(
            &visit.business,
            &visit.customer.id,
            Sending::NOT,
            Some(portal_return()?),
        )
        .await
    }

    /// Removes one of the customer's cards (as [`Billing::remove_card`]: a card a payment in
    /// flight uses stays).
    pub async fn portal_remove_card(
        &self,
        visit: &PortalVisit,
        payment_method: &str,
    ) -> Result<(), BillingError> {
        self.remove_card(&visit.business, &visit.customer.id, payment_method)
            .await
    }

    /// Deletes the portal links and sessions that have expired (of every business), and says
    /// how many: they open nothing any more.
    pub async fn purge_portal_passes(&self) -> Result<u64, BillingError> {
        Ok(self.store.purge_portal_passes(self.now()).await?)
    }

    /// Stores a new pass under a fresh token's hash, and gives the token.
    async fn new_portal_pass(
        &self,
        business: &Business,
        pass: &PortalPass,
    ) -> Result<LinkToken, BillingError> {
        let token = LinkToken::from_random(self.secrets.secret_bytes());
        self.store
            .create_portal_pass(&business.id, pass, &token.hash())
            .await?;
        Ok(token)
    }

    /// The pass of a token, compared in constant time; unknown tokens are
    /// [`BillingError::LinkUnavailable`].
    async fn portal_pass_of(&self, token: &str) -> Result<PortalPassByToken, BillingError> {
        let token = LinkToken::parse(token).ok_or(BillingError::LinkUnavailable)?;
        let hash = token.hash();
        self.store
            .portal_pass(&hash)
            .await?
            .filter(|found| found.token_hash.matches(&hash))
            .ok_or(BillingError::LinkUnavailable)
    }

    async fn portal_business(&self, found: &PortalPassByToken) -> Result<Business, BillingError> {
        self.store
            .business(&found.business)
            .await
            .map_err(|e| BillingError::Inconsistent(e.to_string()))?
            .ok_or(BillingError::LinkUnavailable)
    }
}

fn portal_return() -> Result<DeskReturn, BillingError> {
    DeskReturn::parse(PORTAL_PATH).ok_or(BillingError::Inconsistent(
        "the portal's path is no page path".into(),
    ))
}

/// The money that moved for a booking: succeeded card payments (charges, captures),
/// collections and refunds, each with the booking's share.
fn receipts(
    account: &BookingAccount,
    payments: &[Payment],
    cards: &[SavedCard],
) -> Vec<PortalReceipt> {
    let last4 = |payment_method: &str| {
        cards
            .iter()
            .find(|c| c.payment_method == payment_method)
            .map(|c| c.last4.clone())
    };
    let card_of = |id: &PaymentId| {
        payments.iter().find_map(|p| match &p.kind {
            PaymentKind::Authorization { card } if &p.id == id => last4(&card.payment_method),
            _ => None,
        })
    };
    let mut receipts: Vec<PortalReceipt> = payments
        .iter()
        .filter(|p| p.state == PaymentState::Succeeded)
        .filter_map(|p| {
            let amount = p.share_of(&account.id);
            if !amount.is_positive() {
                return None;
            }
            let what = match &p.kind {
                PaymentKind::Charge { card } => ReceiptKind::Card {
                    last4: last4(&card.payment_method),
                },
                PaymentKind::Capture { authorization, .. } => ReceiptKind::Card {
                    last4: card_of(authorization),
                },
                PaymentKind::Collection { method, .. } => ReceiptKind::Collected {
                    method: method.to_string(),
                },
                PaymentKind::Refund { .. } => ReceiptKind::Refund,
                PaymentKind::Authorization { .. } | PaymentKind::Dispute { .. } => return None,
            };
            Some(PortalReceipt {
                payment: p.id.clone(),
                at: p.updated_at,
                what,
                amount,
            })
        })
        .collect();
    receipts.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.payment.cmp(&b.payment)));
    receipts
}
