//! Text messages (SMS): sending one, and reading what the provider reports back about it (a
//! delivery status) or about the customer (a reply, a STOP).

use async_trait::async_trait;

use crate::phone::PhoneNumber;

/// A text to send: to whom and what it says. Who it is sent from (a number, a sender id, a
/// messaging service) is the provider's configuration, not the message's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundText {
    /// The recipient.
    pub to: PhoneNumber,
    /// What it says, plain text. Providers split long texts into segments (160 GSM-7
    /// characters, 70 with any other character), each billed.
    pub body: String,
}

/// Why a text was not sent. The distinction decides whether the worker tries again, and
/// whether the customer is to be marked as having opted out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Worth another attempt later: the provider could not be reached, timed out, limited our
    /// rate or failed on its side; or our credentials or outbox need putting right.
    #[error("temporary text failure: {0}")]
    Temporary(String),
    /// Will fail again however often it is tried: the number cannot receive texts, the
    /// message was refused.
    #[error("permanent text failure: {0}")]
    Permanent(String),
    /// The recipient has told the provider to stop (they replied STOP): no text may go to
    /// them until they opt in again. Never tried again.
    #[error("the recipient opted out of texts: {0}")]
    OptedOut(String),
}

impl TextError {
    /// True when another attempt may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, TextError::Temporary(_))
    }

    /// What the provider or the sender said.
    pub fn reason(&self) -> &str {
        match self {
            TextError::Temporary(reason)
            | TextError::Permanent(reason)
            | TextError::OptedOut(reason) => reason,
        }
    }
}

/// The sender's proof that a text left: kept on the notification as it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextReceipt {
    /// The provider's id of the message (Twilio's `SM…` sid), by which its later status
    /// reports name it; or, for the outbox, where the file was written.
    pub reference: String,
    /// Where the message stands at the provider now (most often `Queued`).
    pub status: TextStatus,
}

/// Sends texts: a provider's API (Twilio), an outbox folder.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait TextSender: Send + Sync {
    /// Sends one text, or says why not: [`TextError::Temporary`] when trying again later may
    /// work, [`TextError::Permanent`] when it cannot, [`TextError::OptedOut`] when the
    /// recipient refused texts. Must give up within a bounded time, so that a worker never
    /// hangs on one message.
    async fn send(&self, message: &OutboundText) -> Result<TextReceipt, TextError>;
}

/// A shared sender is a sender, so that a service can pick one at start-up
/// (`Arc<dyn TextSender>`).
#[async_trait]
impl<T: TextSender + ?Sized> TextSender for std::sync::Arc<T> {
    async fn send(&self, message: &OutboundText) -> Result<TextReceipt, TextError> {
        (**self).send(message).await
    }
}

/// Where a sent text stands, as the provider reports it. Reports may arrive late, twice or
/// out of order: [`TextStatus::rank`] orders them, so that a late `Sent` never hides a
/// `Delivered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextStatus {
    /// Accepted by the provider, not yet handed to a carrier.
    Queued,
    /// Handed to the carrier.
    Sent,
    /// The carrier confirmed the handset received it.
    Delivered,
    /// The carrier could not deliver it (a handset off for too long, a blocked number).
    Undelivered,
    /// The provider could not send it at all.
    Failed,
}

impl TextStatus {
    /// Every status, from the first a text has to the last.
    pub const ALL: [TextStatus; 5] = [
        TextStatus::Queued,
        TextStatus::Sent,
        TextStatus::Delivered,
        TextStatus::Undelivered,
        TextStatus::Failed,
    ];

    /// The stable snake_case name stores and APIs use (Twilio's own names).
    pub fn as_str(self) -> &'static str {
        match self {
            TextStatus::Queued => "queued",
            TextStatus::Sent => "sent",
            TextStatus::Delivered => "delivered",
            TextStatus::Undelivered => "undelivered",
            TextStatus::Failed => "failed",
        }
    }

    /// The status with that [`as_str`](TextStatus::as_str) name.
    pub fn parse(name: &str) -> Option<TextStatus> {
        TextStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
    }

    /// True when no later report will change it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TextStatus::Delivered | TextStatus::Undelivered | TextStatus::Failed
        )
    }

    /// How far along a status is: a report of a lower rank than the one known is stale.
    pub fn rank(self) -> u8 {
        match self {
            TextStatus::Queued => 0,
            TextStatus::Sent => 1,
            TextStatus::Delivered | TextStatus::Undelivered | TextStatus::Failed => 2,
        }
    }
}

/// A provider's report on a text sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextStatusReport {
    /// The message's provider id, as in its [`TextReceipt::reference`].
    pub reference: String,
    /// Where it stands.
    pub status: TextStatus,
    /// The provider's error code when it was not delivered (Twilio's `30003` "unreachable").
    pub error_code: Option<String>,
}

/// What a customer's reply asks for, read from its keyword as the provider reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyIntent {
    /// Stop all texts (STOP, UNSUBSCRIBE, …): the provider itself refuses further texts.
    OptOut,
    /// Texts are welcome again (START, UNSTOP, YES).
    OptIn,
    /// Asks for help (HELP, INFO); the provider answers it.
    Help,
    /// Anything else: a message for the business.
    Message,
}

/// A text a customer sent to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundText {
    /// The provider's id of the message.
    pub reference: String,
    /// Who sent it.
    pub from: PhoneNumber,
    /// What it says.
    pub body: String,
    /// What it asks for.
    pub intent: ReplyIntent,
}

/// What a provider's signed callback tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextEvent {
    /// News of a text we sent.
    Status(TextStatusReport),
    /// A text a customer sent.
    Inbound(InboundText),
}

/// Why a provider's callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TextCallbackRejected(pub String);

/// Checks a text provider's signed callback and reads it. The provider's adapter implements it
/// (Twilio's signing scheme); the driving adapter that receives the callbacks hands each to it
/// as it came, and the event on to the core.
pub trait TextCallbacks: Send + Sync {
    /// The request header that carries the signature (`X-Twilio-Signature`).
    fn signature_header(&self) -> &'static str;

    /// Verifies a callback delivered to `url` (the full public URL it was sent to, query
    /// included: the signature covers it) with the raw request `body` and the signature
    /// header's value, and reads what it tells.
    ///
    /// # Errors
    /// [`TextCallbackRejected`] when the signature does not verify or the callback is
    /// unreadable.
    fn verify(
        &self,
        url: &str,
        body: &[u8],
        signature: &str,
    ) -> Result<TextEvent, TextCallbackRejected>;
}
