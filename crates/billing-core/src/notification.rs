//! Notifications: the emails (and texts) a business's customers and the business itself receive
//! about payments — payment links, card requests, receipts, notices — and where each one stands.
//!
//! An email never holds up or undoes a payment: a use case only *queues* a notification (a row
//! in the [`NotificationLog`](crate::ports::NotificationLog)), and a worker delivers it later
//! through the [`Mailer`](crate::ports::Mailer) port, retrying with backoff when the mail server
//! is unwell. See [`Notifier`](crate::notifier::Notifier).

use chrono::{DateTime, Utc};

use crate::ids::{CustomerId, NotificationId};
use crate::phone::PhoneNumber;
use crate::ports::TextStatus;

/// How a notification reaches its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// An email, through the [`Mailer`](crate::ports::Mailer).
    Email,
    /// A text message (SMS), through the [`TextSender`](crate::ports::TextSender).
    Text,
}

impl Channel {
    /// `email` or `text`: the stable name stores and APIs use.
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Text => "text",
        }
    }

    /// The channel with that [`as_str`](Channel::as_str) name.
    pub fn parse(name: &str) -> Option<Channel> {
        [Channel::Email, Channel::Text]
            .into_iter()
            .find(|channel| channel.as_str() == name)
    }
}

/// What the carrier last reported of a text after the provider took it: the provider's
/// acceptance is [`DeliveryState::Sent`]; this says whether it then reached the handset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierReport {
    /// Where the text stands.
    pub status: TextStatus,
    /// The provider's error code when it was not delivered (Twilio's `30003`, unreachable).
    pub error_code: Option<String>,
    /// When the report was received.
    pub at: DateTime<Utc>,
}

/// What an email is about, which decides its template and who reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationKind {
    /// To the customer: a link to a hosted page where they pay what their bookings owe.
    PaymentLink,
    /// To the customer: a link to a hosted page where they save a card for later charges.
    CardRequest,
    /// To the customer: what they paid, with which card, for which bookings.
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
    /// To the customer: a link into their portal (their bookings, payments and cards).
    PortalLink,
}

impl NotificationKind {
    /// Every kind, in declaration order.
    pub const ALL: [NotificationKind; 9] = [
        NotificationKind::PaymentLink,
        NotificationKind::CardRequest,
        NotificationKind::Receipt,
        NotificationKind::BusinessPaymentNotice,
        NotificationKind::BusinessCardSavedNotice,
        NotificationKind::PaymentFailed,
        NotificationKind::UpcomingCharge,
        NotificationKind::BusinessAutomationNotice,
        NotificationKind::PortalLink,
    ];

    /// The stable snake_case name stores and APIs use.
    pub fn as_str(&self) -> &'static str {
        match self {
            NotificationKind::PaymentLink => "payment_link",
            NotificationKind::CardRequest => "card_request",
            NotificationKind::Receipt => "receipt",
            NotificationKind::BusinessPaymentNotice => "business_payment_notice",
            NotificationKind::BusinessCardSavedNotice => "business_card_saved_notice",
            NotificationKind::PaymentFailed => "payment_failed",
            NotificationKind::UpcomingCharge => "upcoming_charge",
            NotificationKind::BusinessAutomationNotice => "business_automation_notice",
            NotificationKind::PortalLink => "portal_link",
        }
    }

    /// The kind with that [`as_str`](NotificationKind::as_str) name.
    pub fn parse(name: &str) -> Option<NotificationKind> {
        NotificationKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// True when the email goes to the business rather than to its customer.
    pub fn is_for_business(&self) -> bool {
        matches!(
            self,
            NotificationKind::BusinessPaymentNotice
                | NotificationKind::BusinessCardSavedNotice
                | NotificationKind::BusinessAutomationNotice
        )
    }
}

/// Where a notification's delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Queued,
    /// The mail server (or the outbox) accepted it. Final.
    Sent {
        /// When it was accepted.
        at: DateTime<Utc>,
        /// What the server answered (an SMTP reply such as `250 2.0.0 queued as 4F2A`, or the
        /// outbox file written): the proof to show when a customer says they got nothing.
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
        /// When the next attempt may start; `None` when there will be none (the server refused
        /// the message for good, or the attempts ran out).
        retry_at: Option<DateTime<Utc>>,
    },
}

impl DeliveryState {
    /// `queued`, `sent` or `failed`: the stable name stores use.
    pub fn name(&self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent { .. } => "sent",
            DeliveryState::Failed { .. } => "failed",
        }
    }

    /// True when no attempt will follow: sent, or failed without a retry.
    pub fn is_final(&self) -> bool {
        match self {
            DeliveryState::Queued => false,
            DeliveryState::Sent { .. } => true,
            DeliveryState::Failed { retry_at, .. } => retry_at.is_none(),
        }
    }
}

/// One email or text queued for a business, as its log shows it. The message itself is kept beside it
/// in the log (see [`NotificationLog::message`](crate::ports::NotificationLog::message)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// The customer it is about (for notices to the business: the customer who paid or saved a
    /// card), so that a customer's page can list every email about them.
    pub customer: CustomerId,
    /// What it is about.
    pub kind: NotificationKind,
    /// By email or by text.
    pub channel: Channel,
    /// The address (or, for a text, the E.164 number) it goes to.
    pub to: String,
    /// Its subject line (for a text: what the log calls it).
    pub subject: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Where its delivery stands: for a text, `Sent` is the provider's acceptance, with its
    /// message id as the reply.
    pub delivery: DeliveryState,
    /// For a text the provider took: what the carrier reported of it since, if anything.
    pub carrier: Option<CarrierReport>,
}

impl Notification {
    /// A queued email of `message`: its address and subject are the message's.
    pub fn queued(
        id: NotificationId,
        customer: CustomerId,
        kind: NotificationKind,
        message: &OutboundMessage,
        created_at: DateTime<Utc>,
    ) -> Notification {
        Notification::queued_by(Channel::Email, id, customer, kind, message, created_at)
    }

    /// A queued notification of `message` by `channel`.
    pub fn queued_by(
        channel: Channel,
        id: NotificationId,
        customer: CustomerId,
        kind: NotificationKind,
        message: &OutboundMessage,
        created_at: DateTime<Utc>,
    ) -> Notification {
        Notification {
            id,
            customer,
            kind,
            channel,
            to: message.to.clone(),
            subject: message.subject.clone(),
            created_at,
            delivery: DeliveryState::Queued,
            carrier: None,
        }
    }
}

/// Why a message cannot be queued. Checked before anything is stored, so that a worker never
/// retries a message no server could ever accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The recipient is not one plain email address (`name@domain`).
    #[error("{0:?} is not an email address")]
    InvalidRecipient(String),
    /// The subject is empty, too long, or has line breaks or other control characters (which
    /// would let it forge mail headers).
    #[error("the subject must be 1 to {MAX_SUBJECT} characters on one line")]
    InvalidSubject,
    /// The plain-text body is empty, or a body is larger than [`MAX_BODY`] bytes.
    #[error("a message needs a plain-text body, and no body may exceed {MAX_BODY} bytes")]
    InvalidBody,
    /// A text's body is empty, longer than [`MAX_TEXT`] characters, or the text has an HTML
    /// body.
    #[error("a text needs a body of 1 to {MAX_TEXT} characters and no HTML")]
    InvalidText,
}

/// The longest text accepted, in characters: Twilio's limit (ten segments of 160 GSM-7
/// characters), which no notice of ours comes near.
pub const MAX_TEXT: usize = 1600;

/// The longest subject accepted, in characters (RFC 5322 advises lines under 78; mail clients
/// cut long subjects anyway).
pub const MAX_SUBJECT: usize = 250;

/// The largest body accepted, in bytes: far above any receipt, small enough for every store.
pub const MAX_BODY: usize = 512 * 1024;

/// An email to send: one recipient, a subject, and a plain-text body with an optional HTML
/// alternative (mail clients show the HTML one when they can).
///
/// A text is kept in the same shape, so that the log stores and retries both alike (the
/// notification says which it is): its `to` is an E.164 number, its `subject` what the log
/// calls it, its `text_body` what the text says, and it has no HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    /// The recipient's address (`name@domain`, without a display name), or a text's E.164
    /// number.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
    /// The HTML body, if any.
    pub html_body: Option<String>,
}

impl OutboundMessage {
    /// A text to `to` saying `body`, which the log calls `label`.
    pub fn text(to: &PhoneNumber, label: &str, body: String) -> OutboundMessage {
        OutboundMessage {
            to: to.as_str().to_owned(),
            subject: label.to_owned(),
            text_body: body,
            html_body: None,
        }
    }

    /// Checks the email can be sent: one plain address, a one-line subject, a text body,
    /// bodies of reasonable size.
    pub fn check(&self) -> Result<(), MessageError> {
        self.check_as(Channel::Email)
    }

    /// Checks the message can be sent by `channel`: for a text, a valid E.164 number, a body
    /// of at most [`MAX_TEXT`] characters and no HTML.
    pub fn check_as(&self, channel: Channel) -> Result<(), MessageError> {
        let reachable = match channel {
            Channel::Email => is_plain_address(&self.to),
            Channel::Text => PhoneNumber::from_e164(&self.to).is_ok(),
        };
        if !reachable {
            return Err(MessageError::InvalidRecipient(self.to.clone()));
        }
        let subject_chars = self.subject.chars().count();
        if self.subject.trim().is_empty()
            || subject_chars > MAX_SUBJECT
            || self.subject.chars().any(char::is_control)
        {
            return Err(MessageError::InvalidSubject);
        }
        let blank = self.text_body.trim().is_empty();
        match channel {
            Channel::Email
                if blank
                    || self.text_body.len() > MAX_BODY
                    || self.html_body.as_ref().is_some_and(|h| h.len() > MAX_BODY) =>
            {
                Err(MessageError::InvalidBody)
            }
            Channel::Text
                if blank
                    || self.text_body.chars().count() > MAX_TEXT
                    || self.html_body.is_some() =>
            {
                Err(MessageError::InvalidText)
            }
            _ => Ok(()),
        }
    }
}

/// True for `local@domain` with nothing that could smuggle a second address or a header in: no
/// spaces, control characters, angle brackets, commas, semicolons or quotes; a dotted domain.
pub fn is_plain_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let allowed = |c: char| !c.is_control() && !c.is_whitespace() && !"<>,;\"()[]\\@".contains(c);
    address.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && local.chars().all(allowed)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.chars().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(to: &str, subject: &str) -> OutboundMessage {
        OutboundMessage {
            to: to.into(),
            subject: subject.into(),
            text_body: "Hello".into(),
            html_body: None,
        }
    }

    #[test]
    fn kinds_have_stable_names() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotificationKind::parse("sms"), None);
        assert!(NotificationKind::BusinessPaymentNotice.is_for_business());
        assert!(!NotificationKind::Receipt.is_for_business());
    }

    #[test]
    fn messages_are_checked_before_they_are_queued() {
        assert_eq!(message("ada@example.com", "Receipt").check(), Ok(()));
        for bad in [
            "ada",
            "@example.com",
            "ada@localhost",
            "ada@example.com, eve@example.com",
            "Ada <ada@example.com>",
            "ada@example.com\r\nBcc: eve@example.com",
            "a@b@example.com",
        ] {
            assert!(
                matches!(
                    message(bad, "Receipt").check(),
                    Err(MessageError::InvalidRecipient(_))
                ),
                "{bad:?}"
            );
        }
        for bad in [
            "",
            "  ",
            "Receipt\r\nBcc: eve@example.com",
            &"x".repeat(251),
        ] {
            assert_eq!(
                message("ada@example.com", bad).check(),
                Err(MessageError::InvalidSubject),
                "{bad:?}"
            );
        }
        let mut empty = message("ada@example.com", "Receipt");
        empty.text_body = " ".into();
        assert_eq!(empty.check(), Err(MessageError::InvalidBody));
    }

    #[test]
    fn texts_are_checked_as_texts() {
        let phone = PhoneNumber::from_e164("+14155550123").unwrap();
        let text = OutboundMessage::text(&phone, "Payment link", "Pay here".into());
        assert_eq!(text.check_as(Channel::Text), Ok(()));
        // A number is no email address, and an address is no number.
        assert!(matches!(
            text.check(),
            Err(MessageError::InvalidRecipient(_))
        ));
        assert!(matches!(
            message("ada@example.com", "Receipt").check_as(Channel::Text),
            Err(MessageError::InvalidRecipient(_))
        ));
        let long = OutboundMessage::text(&phone, "Payment link", "x".repeat(MAX_TEXT + 1));
        assert_eq!(long.check_as(Channel::Text), Err(MessageError::InvalidText));
        let exact = OutboundMessage::text(&phone, "Payment link", "é".repeat(MAX_TEXT));
        assert_eq!(exact.check_as(Channel::Text), Ok(()));
        let mut html = text.clone();
        html.html_body = Some("<p>Pay</p>".into());
        assert_eq!(html.check_as(Channel::Text), Err(MessageError::InvalidText));
        for channel in [Channel::Email, Channel::Text] {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(Channel::parse("sms"), None);
    }

    #[test]
    fn only_sent_and_abandoned_deliveries_are_final() {
        let at = DateTime::<Utc>::default();
        assert!(!DeliveryState::Queued.is_final());
        assert!(
            DeliveryState::Sent {
                at,
                server_reply: "250 OK".into()
            }
            .is_final()
        );
        let failed = |retry_at| DeliveryState::Failed {
            at,
            reason: "451".into(),
            attempts: 1,
            retry_at,
        };
        assert!(!failed(Some(at)).is_final());
        assert!(failed(None).is_final());
    }
}
