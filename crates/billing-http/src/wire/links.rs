//! Payment links and card requests, as staff make and read them.

use billing_core::billing::{IssuedLink, StartedCheckout};
use billing_core::link::{Checkout, CheckoutStep, LinkPurpose, LinkState, PaymentLink};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MoneyJson, yes};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkTypeJson {
    /// The customer pays bookings on a hosted page.
    Payment,
    /// The customer saves a card on a hosted page.
    CardRequest,
}

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkStatusJson {
    /// Waiting for the customer.
    Open,
    /// Paid, or its card saved. Final.
    Completed,
    /// Canceled by the business. Final.
    Canceled,
    /// Open but past `expires_at`: its page no longer works.
    Expired,
}

impl LinkStatusJson {
    fn of(link: &PaymentLink, now: DateTime<Utc>) -> Self {
        match link.status_name(now) {
            "expired" => LinkStatusJson::Expired,
            "completed" => LinkStatusJson::Completed,
            "canceled" => LinkStatusJson::Canceled,
            _ => LinkStatusJson::Open,
        }
    }
}

/// A booking paid through a payment link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkedBookingJson {
    /// The booking.
    pub booking: String,
    /// The part of the link's amount that goes to it.
    pub amount: MoneyJson,
    /// Its balance due when the link was made: any other balance at payment time refuses the
    /// link (its amount would no longer be right).
    pub balance_due: MoneyJson,
}

/// A payment link or card request. Its URL is not here: only its token's hash is stored, so the
/// URL is shown once, when the link is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkJson {
    /// The link's id (not secret).
    pub id: String,
    /// `payment` or `card_request`.
    #[serde(rename = "type")]
    pub link_type: LinkTypeJson,
    /// The customer it was made for.
    pub customer: String,
    /// `open`, `completed`, `canceled` or `expired`.
    pub status: LinkStatusJson,
    /// What a payment link asks for in all; `null` for a card request.
    pub amount: Option<MoneyJson>,
    /// The bookings a payment link pays, with their shares; empty for a card request.
    pub bookings: Vec<LinkedBookingJson>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its page stops working.
    pub expires_at: DateTime<Utc>,
    /// When the customer paid or saved a card.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the business canceled it.
    pub canceled_at: Option<DateTime<Utc>>,
    /// A completed payment link: the payment made.
    pub payment: Option<String>,
    /// A completed link: the card saved (its payment method id), if one was.
    pub card: Option<String>,
    /// A booking page's checkout: its booking, what its page does and where it returns.
    pub checkout: Option<CheckoutJson>,
}

/// What a checkout's page does, by the booking's payment policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStepJson {
    /// Charge what the policy takes at booking (a deposit, or all of it), and keep the card.
    Charge,
    /// Place a hold for the balance (`authorize_at_booking`), and keep the card.
    Hold,
    /// Only keep the card: the policy takes the money later.
    SaveCard,
}

impl From<CheckoutStep> for CheckoutStepJson {
    fn from(step: CheckoutStep) -> Self {
        match step {
            CheckoutStep::Charge => CheckoutStepJson::Charge,
            CheckoutStep::Hold => CheckoutStepJson::Hold,
            CheckoutStep::SaveCard => CheckoutStepJson::SaveCard,
        }
    }
}

/// A link that is a booking page's checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckoutJson {
    /// The booking checked out.
    pub booking: String,
    /// What the page does.
    pub step: CheckoutStepJson,
    /// Where the page sends the customer back.
    pub return_url: String,
}

impl From<&Checkout> for CheckoutJson {
    fn from(checkout: &Checkout) -> Self {
        CheckoutJson {
            booking: checkout.booking.to_string(),
            step: checkout.step.into(),
            return_url: checkout.return_url.as_str().to_owned(),
        }
    }
}

/// Start a checkout for a booking the customer just made on the business's page.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The booking.
    pub booking: String,
    /// The business's page to return to: an absolute `https` URL (`http` only for
    /// `localhost`), at most 2000 characters. Its origin is the only one that may frame the
    /// checkout's page and receive its result message.
    #[schema(example = "https://shop.example/booking/confirmed")]
    pub return_url: String,
}

/// A checkout just started. Open `url` (or frame it) for the customer; it works for an hour.
/// The page returns to `return_url` with `checkout` and `result` (`paid`, `authorized` or
/// `card_saved`) added to its query, or, framed, posts `{"type": "billing.checkout",
/// "checkout", "result", "booking"}` to the parent page: a hint to act on, not a proof —
/// read the booking (or `GET /v1/links/{id}`) to know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckoutStartedJson {
    /// The checkout's link.
    #[serde(flatten)]
    pub link: LinkJson,
    /// The checkout's page, with its secret token: only ever returned here.
    pub url: String,
    /// What the page does.
    pub step: CheckoutStepJson,
    /// What it charges or holds; `null` when it only keeps the card.
    pub charge: Option<MoneyJson>,
}

impl CheckoutStartedJson {
    /// The checkout just started, as it stands at `now`.
    pub fn new(started: &StartedCheckout, now: DateTime<Utc>) -> Self {
        CheckoutStartedJson {
            link: LinkJson::new(&started.link, now),
            url: started.url.clone(),
            step: started.step.into(),
            charge: started.amount.as_ref().map(MoneyJson::from),
        }
    }
}

impl LinkJson {
    /// The link as it stands at `now` (which tells an open link from an expired one).
    pub fn new(link: &PaymentLink, now: DateTime<Utc>) -> Self {
        let (link_type, amount, bookings) = match &link.purpose {
            LinkPurpose::Payment { amount, bookings } => (
                LinkTypeJson::Payment,
                Some(MoneyJson::from(amount)),
                bookings
                    .iter()
                    .map(|b| LinkedBookingJson {
                        booking: b.booking.to_string(),
                        amount: b.amount.into(),
                        balance_due: b.balance_due.into(),
                    })
                    .collect(),
            ),
            LinkPurpose::CardRequest => (LinkTypeJson::CardRequest, None, Vec::new()),
        };
        let (completed_at, canceled_at, payment, card) = match &link.state {
            LinkState::Open => (None, None, None, None),
            LinkState::Completed { at, payment, card } => (
                Some(*at),
                None,
                payment.as_ref().map(ToString::to_string),
                card.clone(),
            ),
            LinkState::Canceled { at } => (None, Some(*at), None, None),
        };
        LinkJson {
            id: link.id.to_string(),
            link_type,
            customer: link.customer.to_string(),
            status: LinkStatusJson::of(link, now),
            amount,
            bookings,
            created_at: link.created_at,
            expires_at: link.expires_at,
            completed_at,
            canceled_at,
            payment,
            card,
            checkout: link.checkout.as_ref().map(CheckoutJson::from),
        }
    }
}

/// A link just made: the link, its page's URL (shown this once) and the email queued for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedLinkJson {
    /// The link.
    #[serde(flatten)]
    pub link: LinkJson,
    /// The hosted page, with the link's secret token: only ever returned here.
    pub url: String,
    /// The email queued for it, when one was asked for.
    pub notification_id: Option<String>,
    /// The text queued for it, when one was asked for.
    pub text_notification_id: Option<String>,
}

impl IssuedLinkJson {
    /// The link just made, as it stands at `now`.
    pub fn new(issued: &IssuedLink, now: DateTime<Utc>) -> Self {
        IssuedLinkJson {
            link: LinkJson::new(&issued.link, now),
            url: issued.url.clone(),
            notification_id: issued.notification.as_ref().map(|n| n.id.to_string()),
            text_notification_id: issued.text.as_ref().map(|n| n.id.to_string()),
        }
    }
}

/// A customer's links, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkList {
    /// The links.
    pub data: Vec<LinkJson>,
}

/// Make a payment link for some of a customer's bookings.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentLinkRequest {
    /// The customer whose bookings these are.
    pub customer: String,
    /// 1 to 50 of their bookings, each once, in one currency; a partial amount is taken from
    /// them in this order.
    pub bookings: Vec<String>,
    /// A decimal string in the bookings' currency; everything they owe when absent.
    #[serde(default)]
    pub amount: Option<String>,
    /// Email the link to the customer (default true); the URL is returned either way.
    #[serde(default = "yes")]
    pub send_email: bool,
    /// Text the link to the customer's phone number (default false).
    #[serde(default)]
    pub send_text: bool,
}

/// Ask a customer to save a card.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardRequestRequest {
    /// The customer.
    pub customer: String,
    /// Email the link to the customer (default true); the URL is returned either way.
    #[serde(default = "yes")]
    pub send_email: bool,
    /// Text the link to the customer's phone number (default false).
    #[serde(default)]
    pub send_text: bool,
}
