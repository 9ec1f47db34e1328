//! Notifications: the emails queued about a customer, and where their delivery stands.

use billing_core::notification::{
    CarrierReport, Channel, DeliveryState, Notification, NotificationKind,
};
use billing_core::ports::TextStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an email is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKindJson {
    /// To the customer: a payment link.
    PaymentLink,
    /// To the customer: a card request.
    CardRequest,
    /// To the customer: a receipt.
    Receipt,
    /// To the business: a customer paid.
    BusinessPaymentNotice,
    /// To the business: a customer saved a card.
    BusinessCardSavedNotice,
    /// To the customer: a charge did not go through.
    PaymentFailed,
    /// To the customer: an automatic charge or hold is coming.
    UpcomingCharge,
    /// To the business: automation needs someone to act on a booking.
    BusinessAutomationNotice,
    /// To the customer: a link into their portal.
    PortalLink,
}

impl From<NotificationKind> for NotificationKindJson {
    fn from(kind: NotificationKind) -> Self {
        match kind {
            NotificationKind::PaymentLink => NotificationKindJson::PaymentLink,
            NotificationKind::CardRequest => NotificationKindJson::CardRequest,
            NotificationKind::Receipt => NotificationKindJson::Receipt,
            NotificationKind::BusinessPaymentNotice => NotificationKindJson::BusinessPaymentNotice,
            NotificationKind::BusinessCardSavedNotice => {
                NotificationKindJson::BusinessCardSavedNotice
            }
            NotificationKind::PaymentFailed => NotificationKindJson::PaymentFailed,
            NotificationKind::UpcomingCharge => NotificationKindJson::UpcomingCharge,
            NotificationKind::BusinessAutomationNotice => {
                NotificationKindJson::BusinessAutomationNotice
            }
            NotificationKind::PortalLink => NotificationKindJson::PortalLink,
        }
    }
}

/// Where an email's delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryJson {
    /// Waiting for its first attempt.
    Queued,
    /// The mail server accepted it. Final.
    Sent {
        /// When.
        at: DateTime<Utc>,
        /// What the server answered (`250 2.0.0 queued as 4F2A`): the proof of delivery to the
        /// mail server.
        server_reply: String,
    },
    /// The last attempt failed.
    Failed {
        /// When the last attempt failed.
        at: DateTime<Utc>,
        /// Why, as the mail server or the mailer put it.
        reason: String,
        /// How many attempts were made so far.
        attempts: u32,
        /// When the next attempt may start; `null` when there will be none.
        retry_at: Option<DateTime<Utc>>,
    },
}

impl From<&DeliveryState> for DeliveryJson {
    fn from(state: &DeliveryState) -> Self {
        match state {
            DeliveryState::Queued => DeliveryJson::Queued,
            DeliveryState::Sent { at, server_reply } => DeliveryJson::Sent {
                at: *at,
                server_reply: server_reply.clone(),
            },
            DeliveryState::Failed {
                at,
                reason,
                attempts,
                retry_at,
            } => DeliveryJson::Failed {
                at: *at,
                reason: reason.clone(),
                attempts: *attempts,
                retry_at: *retry_at,
            },
        }
    }
}

/// How a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelJson {
    /// By email.
    Email,
    /// By text message.
    Text,
}

/// Where a text stands at the carrier, once the provider took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarrierStatusJson {
    /// The provider holds it.
    Queued,
    /// Handed to the carrier.
    Sent,
    /// The handset received it.
    Delivered,
    /// The carrier could not deliver it.
    Undelivered,
    /// The provider could not send it.
    Failed,
}

/// What the carrier reported of a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CarrierJson {
    /// Where it stands.
    pub status: CarrierStatusJson,
    /// The provider's error code when it was not delivered (`30003`).
    pub error_code: Option<String>,
    /// When the report came.
    pub at: DateTime<Utc>,
}

impl From<&CarrierReport> for CarrierJson {
    fn from(report: &CarrierReport) -> Self {
        CarrierJson {
            status: match report.status {
                TextStatus::Queued => CarrierStatusJson::Queued,
                TextStatus::Sent => CarrierStatusJson::Sent,
                TextStatus::Delivered => CarrierStatusJson::Delivered,
                TextStatus::Undelivered => CarrierStatusJson::Undelivered,
                TextStatus::Failed => CarrierStatusJson::Failed,
            },
            error_code: report.error_code.clone(),
            at: report.at,
        }
    }
}

/// An email or a text queued about a customer, and where its delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationJson {
    /// Its id.
    pub id: String,
    /// What it is about.
    pub kind: NotificationKindJson,
    /// By email or by text.
    pub channel: ChannelJson,
    /// The customer it is about (notices to the business name the customer who paid).
    pub customer: String,
    /// The address (or, for a text, the E.164 number) it goes to.
    pub to: String,
    /// Its subject line.
    pub subject: String,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// Where its delivery stands (for a text, `sent` is the provider's acceptance, with its
    /// message id as the reply).
    pub delivery: DeliveryJson,
    /// For a text the provider took: what the carrier reported since, if anything.
    pub carrier: Option<CarrierJson>,
}

impl From<&Notification> for NotificationJson {
    fn from(n: &Notification) -> Self {
        NotificationJson {
            id: n.id.to_string(),
            kind: n.kind.into(),
            channel: match n.channel {
                Channel::Email => ChannelJson::Email,
                Channel::Text => ChannelJson::Text,
            },
            customer: n.customer.to_string(),
            to: n.to.clone(),
            subject: n.subject.clone(),
            queued_at: n.created_at,
            delivery: (&n.delivery).into(),
            carrier: n.carrier.as_ref().map(CarrierJson::from),
        }
    }
}

/// A customer's notifications, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationList {
    /// The notifications.
    pub data: Vec<NotificationJson>,
}
