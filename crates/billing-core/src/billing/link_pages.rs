//! Payment links as their customer uses them, on a hosted page reached by a secret token, with
//! no login (card requests are in `card_requests`).
//!
//! Paying a link can never charge twice: the charge is opened like any other, and it must find
//! each booking's balance exactly as the link saw it with nothing in flight. A second tab, a
//! double click or a replayed form finds the first payment in flight or done, and is refused.
//! The customer is there: the charge is made on-session, and may wait for them to
//! authenticate (3-D Secure) on the page.

use std::collections::BTreeMap;

use super::Billing;
use super::gateway_calls::GatewayCall;
use super::moves::Opened;
use crate::customer::{Business, Customer, SavedCard};
use crate::email::{BookingLine, CardLabel, EmailContent, PaymentData};
use crate::error::BillingError;
use crate::idempotency::Fingerprint;
use crate::ids::{BookingId, PaymentId};
use crate::link::{CheckoutStep, LinkPurpose, LinkState, LinkToken, LinkedBooking, PaymentLink};
use crate::money::Money;
use crate::payment::{Allocation, CardRef, Opening, Origin, Payment, PaymentKind, PaymentState};
use crate::ports::{LedgerRead, NextAction};
use crate::receipt::Receipt;
use crate::status::BookingSummary;
use crate::tip::Tip;

use super::commands::tip_refused;

/// A link's shares of its payment, the tip on the first booking's (the link's bookings are in
/// the order staff gave them; the first is the one its page shows first).
fn tipped(bookings: &[LinkedBooking], tip: Option<Money>) -> Result<Vec<Allocation>, BillingError> {
    let mut allocations: Vec<Allocation> = bookings
        .iter()
        .map(|b| Allocation::of(b.booking.clone(), b.amount))
        .collect();
    if let (Some(tip), Some(first)) = (tip, allocations.first_mut()) {
        first.amount = first.amount.checked_add(&tip)?;
        first.tip = Some(tip);
    }
    Ok(allocations)
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
    /// Keep the card on the customer's profile for later charges (the gateway saves it for
    /// them once the payment succeeds).
    pub save_card: bool,
}

/// A link's payment, as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPaid {
    /// The charge: settled, waiting for the customer to authenticate (`RequiresAction`),
    /// pending when the gateway's answer was lost, or declined (the link stays open for
    /// another card).
    pub receipt: Receipt,
    /// The card charged, as the gateway describes it, when it says.
    pub card: Option<SavedCard>,
    /// True when the card was kept on the customer's profile.
    pub card_saved: bool,
    /// What the page must do for the customer to authenticate, while the payment waits for
    /// them. Never stored: it carries the gateway's client secret.
    pub next_action: Option<NextAction>,
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

    /// Pays a payment link with a card from the page's card form, with the customer there
    /// (on-session): the gateway may ask them to authenticate (3-D Secure), and the answer
    /// then carries the [`NextAction`] for the page, the payment waiting for them. A payment
    /// that succeeds completes the link, keeps the card when asked (the gateway saves it for
    /// the customer) and emails the customer a receipt and the business a notice — once,
    /// whichever of this answer, the customer's return ([`Billing::link_payment_returned`]),
    /// a webhook or the reconciler settles it first. A declined card answers a declined
    /// receipt and leaves the link open for another card.
    pub async fn pay_link(&self, token: &str, command: PayLink) -> Result<LinkPaid, BillingError> {
        self.pay_link_with_tip(token, command, None).await
    }

    /// [`Billing::pay_link`] with the customer's tip on top of the link's amount: a percentage
    /// of it (rounded half away from zero to the currency's minor unit) or an amount of their
    /// own, charged with it in one payment. The tip is for the link's first booking (its
    /// share carries it), and joins that booking's price only if the charge succeeds: a
    /// declined card, a failed authentication or a payment left unfinished owes no tip. A
    /// checkout that places a hold takes no tip.
    pub async fn pay_link_with_tip(
        &self,
        token: &str,
        command: PayLink,
        tip: Option<Tip>,
    ) -> Result<LinkPaid, BillingError> {
        let (business, link) = self.usable_link(token).await?;
        let LinkPurpose::Payment { amount, bookings } = &link.purpose else {
            return Err(BillingError::LinkUnavailable);
        };
        self.account_can_charge(&business).await?;
        let method = command.payment_method.trim();
        if method.is_empty() || method.len() > 255 {
            return Err(BillingError::InvalidInput(
                "a payment method id has 1 to 255 characters",
            ));
        }
        let return_url = LinkToken::parse(token)
            .map(|t| self.pages().map(|p| p.addresses.payment_return(&t)))
            .ok_or(BillingError::LinkUnavailable)??;
        let customer = self.customer(&business, &link.customer).await?;
        let gateway_customer = self.gateway_customer(&business, &customer.id).await?;
        let card = CardRef {
            gateway_customer,
            payment_method: method.to_owned(),
        };
        // A booking page's checkout holds when the policy says so, and always keeps the card:
        // the policy takes the rest with it later.
        let hold = matches!(&link.checkout, Some(c) if c.step == CheckoutStep::Hold);
        let tip = match tip {
            Some(_) if hold => {
                return Err(BillingError::InvalidInput(
                    "a tip is given with a charge, not a hold",
                ));
            }
            Some(tip) => tip.on(amount).map_err(tip_refused)?,
            None => None,
        };
        let total = match &tip {
            Some(tip) => amount.checked_add(tip)?,
            None => *amount,
        };
        let tip_text = tip.map(|t| t.to_string()).unwrap_or_default();
        let save_card = command.save_card || link.checkout.is_some();
        let booking_ids = link.bookings();
        let opened = self
            .open(
                &business,
                LedgerRead::bookings(&booking_ids),
                |_| Ok(Fingerprint(format!("link|{}|{method}|{tip_text}", link.id))),
                |ledgers, _| {
                    Self::check_unchanged(&link, &ledgers.summaries)?;
                    self.gateway.check_amount(&total)?;
                    let opening = Opening {
                        customer: customer.id.clone(),
                        kind: if hold {
                            PaymentKind::Authorization { card: card.clone() }
                        } else {
                            PaymentKind::Charge { card: card.clone() }
                        },
                        amount: total,
                        allocations: tipped(bookings, tip)?,
                        state: PaymentState::Pending,
                        origin: Origin::PaymentLink(link.id.clone()),
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
        // No card is attached first: the gateway keeps it for the customer itself once the
        // payment succeeds, when asked to.
        let call = GatewayCall::of(&business, &open.payment, &open.ledgers.payments)?
            .ok_or_else(|| BillingError::Inconsistent("a link's charge has no request".into()))?
            .on_session(return_url, save_card);
        let sent = self.send(&open.payment, &call).await;
        let (moves, next_action, card) = match sent {
            Ok(answered) => (Ok(answered.moves), answered.next_action, answered.card),
            Err(error) => (Err(error), None, None),
        };
        let receipt = self.finish(&business, open, None, moves).await?;
        self.complete_link_payment(&business, &receipt.payment, card.clone())
            .await?;
        self.link_paid(&business, &link, receipt, card, next_action)
            .await
    }

    /// The customer's browser came back from authenticating a link's payment: the payment is
    /// settled from the gateway's record and answered as [`Billing::pay_link`] would. Settling
    /// is idempotent, and the link is completed (and its emails queued) once, whether the
    /// return or the gateway's webhook comes first.
    pub async fn link_payment_returned(&self, token: &str) -> Result<LinkPaid, BillingError> {
        let (business, link) = self.link_of_token(token).await?;
        if !matches!(link.purpose, LinkPurpose::Payment { .. }) {
            return Err(BillingError::LinkUnavailable);
        }
        let payment = match &link.state {
            LinkState::Completed {
                payment: Some(payment),
                ..
            } => payment.clone(),
            LinkState::Open => self
                .link_payment(&business, &link)
                .await?
                .ok_or(BillingError::LinkUnavailable)?,
            _ => return Err(BillingError::LinkUnavailable),
        };
        let (receipt, answered) = self.reconcile_answer(&business, &payment, None).await?;
        self.link_paid(
            &business,
            &link,
            receipt,
            answered.card,
            answered.next_action,
        )
        .await
    }

    /// The payment made on a link's page: the one in flight, else the latest.
    async fn link_payment(
        &self,
        business: &Business,
        link: &PaymentLink,
    ) -> Result<Option<PaymentId>, BillingError> {
        let ledgers = self.ledgers(business, &link.bookings()).await?;
        let made_here =
            |p: &&Payment| matches!(&p.origin, Origin::PaymentLink(id) if id == &link.id);
        let in_flight = ledgers
            .payments
            .iter()
            .filter(made_here)
            .find(|p| p.state.is_in_flight());
        let latest = ledgers.payments.iter().filter(made_here).max_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(in_flight.or(latest).map(|p| p.id.clone()))
    }

    /// The answer to the page, with the link as it stands now: whether its card was kept.
    async fn link_paid(
        &self,
        business: &Business,
        link: &PaymentLink,
        receipt: Receipt,
        card: Option<SavedCard>,
        next_action: Option<NextAction>,
    ) -> Result<LinkPaid, BillingError> {
        let kept = match self.store.link(&business.id, &link.id).await? {
            Some(PaymentLink {
                state:
                    LinkState::Completed {
                        payment: Some(paid),
                        card: Some(kept),
                        ..
                    },
                ..
            }) if paid == receipt.payment.id => Some(kept),
            _ => None,
        };
        let card = match &kept {
            Some(kept) => self
                .store
                .cards(&business.id, &receipt.payment.customer)
                .await?
                .into_iter()
                .find(|c| &c.payment_method == kept)
                .or(card),
            None => card,
        };
        let waiting = receipt.payment.state == PaymentState::RequiresAction;
        Ok(LinkPaid {
            card_saved: kept.is_some(),
            next_action: next_action.filter(|_| waiting),
            receipt,
            card,
        })
    }

    /// Completes the link a payment was made on, once it succeeded: the link is closed (once,
    /// whoever settles the payment first: only that call queues the emails), the card kept on
    /// the customer's profile when the gateway saved it for them, and the customer and the
    /// business emailed. Does nothing for other payments, or a link already closed.
    pub(super) async fn complete_link_payment(
        &self,
        business: &Business,
        payment: &Payment,
        card: Option<SavedCard>,
    ) -> Result<(), BillingError> {
        let Origin::PaymentLink(link) = &payment.origin else {
            return Ok(());
        };
        // A checkout's hold is done once placed; it is paid when captured.
        let held = matches!(payment.kind, PaymentKind::Authorization { .. })
            && payment.state == PaymentState::Authorized;
        if payment.state != PaymentState::Succeeded && !held {
            return Ok(());
        }
        let Some(link) = self
            .store
            .link(&business.id, link)
            .await?
            .filter(|l| l.state == LinkState::Open)
        else {
            return Ok(());
        };
        let card = match card {
            Some(card) => Some(card),
            None => self.charged_card(business, payment).await,
        };
        let customer = self.customer(business, &payment.customer).await?;
        let kept = self
            .card_kept(business, &customer, payment, card.as_ref())
            .await;
        let completed = LinkState::Completed {
            at: self.now(),
            payment: Some(payment.id.clone()),
            card: kept.as_ref().map(|c| c.payment_method.clone()),
        };
        if !self
            .store
            .close_link(&business.id, &link.id, &completed)
            .await?
        {
            return Ok(());
        }
        // Nothing was paid for a hold: its receipt is the capture's.
        if !held {
            self.email_payment(
                business,
                &customer,
                payment,
                kept.as_ref().or(card.as_ref()),
            )
            .await?;
        }
        if let (Some(kept), Some(gateway_customer)) = (kept, &customer.gateway_customer) {
            self.keep_card(business, &customer.id, gateway_customer, kept)
                .await?;
        }
        // Last: automation goes on with the card kept.
        self.checkout_completed(business, &link).await
    }

    /// The card a payment charged, as the gateway describes it, when it can say.
    async fn charged_card(&self, business: &Business, payment: &Payment) -> Option<SavedCard> {
        self.gateway
            .find_payment(business.gateway_account.clone(), &payment.id)
            .await
            .ok()
            .flatten()
            .and_then(|found| found.card)
    }

    /// The card of a link's payment when the gateway kept it for the customer (the page asked
    /// it to); `None` when it did not, or cannot say (the payment is made either way).
    async fn card_kept(
        &self,
        business: &Business,
        customer: &Customer,
        payment: &Payment,
        card: Option<&SavedCard>,
    ) -> Option<SavedCard> {
        let gateway_customer = customer.gateway_customer.as_deref()?;
        let charged = match &payment.kind {
            PaymentKind::Charge { card } => Some(card.payment_method.as_str()),
            _ => None,
        };
        let kept = self
            .gateway
            .list_cards(business.gateway_account.clone(), gateway_customer)
            .await
            .ok()?;
        kept.into_iter().find(|c| {
            Some(c.payment_method.as_str()) == card.map(|c| c.payment_method.as_str())
                || Some(c.payment_method.as_str()) == charged
        })
    }

    /// The business and link of a token, whatever the link's state: unknown tokens are
    /// [`BillingError::LinkUnavailable`].
    pub(super) async fn link_of_token(
        &self,
        token: &str,
    ) -> Result<(Business, PaymentLink), BillingError> {
        let token = LinkToken::parse(token).ok_or(BillingError::LinkUnavailable)?;
        let hash = token.hash();
        let found = self
            .store
            .link_by_token(&hash)
            .await?
            .filter(|found| found.token_hash.matches(&hash))
            .ok_or(BillingError::LinkUnavailable)?;
        let business = self
            .store
            .business(&found.business)
            .await
            .map_err(|e| BillingError::Inconsistent(e.to_string()))?
            .ok_or(BillingError::LinkUnavailable)?;
        Ok((business, found.link))
    }

    /// The business and link of a token, when the link can be used now.
    pub(super) async fn usable_link(
        &self,
        token: &str,
    ) -> Result<(Business, PaymentLink), BillingError> {
        let (business, link) = self.link_of_token(token).await?;
        if matches!(link.state, LinkState::Completed { .. }) {
            return Err(BillingError::LinkAlreadyUsed);
        }
        if !link.is_usable(self.now()) {
            return Err(BillingError::LinkUnavailable);
        }
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
        payment: &Payment,
        card: Option<&SavedCard>,
    ) -> Result<(), BillingError> {
        let bookings: Vec<BookingId> = payment.bookings();
        let ledgers = self.ledgers(business, &bookings).await?;
        let data = PaymentData {
            business_name: business.name.clone(),
            customer_name: customer.name.clone(),
            amount: payment.amount,
            card: card.map(CardLabel::from),
            bookings: Self::lines(&ledgers, &bookings),
            tip: Some(payment.tips()?).filter(Money::is_positive),
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
