use async_trait::async_trait;

use crate::notification::OutboundMessage;

/// Why a message was not sent. The distinction decides whether the worker tries again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth another attempt later: the server could not be reached, timed out, or answered
    /// with a 4xx reply ("mailbox busy", "try again later"); or the outbox could not be written.
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Will fail again however often it is tried: the server refused the recipient or the
    /// message with a 5xx reply, or the message cannot be expressed as an email.
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

impl MailError {
    /// True when another attempt may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, MailError::Temporary(_))
    }

    /// What the server or the mailer said.
    pub fn reason(&self) -> &str {
        match self {
            MailError::Temporary(reason) | MailError::Permanent(reason) => reason,
        }
    }
}

/// The mailer's proof that a message left: kept on the notification as it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailReceipt {
    /// The server's reply (`250 2.0.0 Ok: queued as 4F2A`), or where the outbox wrote the file.
    pub server_reply: String,
}

/// Sends emails: an SMTP client, an outbox folder, a provider's API.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one message, or says why not: [`MailError::Temporary`] when trying again later may
    /// work, [`MailError::Permanent`] when it cannot. Must give up within a bounded time (a
    /// connection or reply timeout), so that a worker never hangs on one message.
    async fn send(&self, message: &OutboundMessage) -> Result<MailReceipt, MailError>;
}

/// A shared mailer is a mailer, so that a service can pick one at start-up
/// (`Arc<dyn Mailer>`).
#[async_trait]
impl<T: Mailer + ?Sized> Mailer for std::sync::Arc<T> {
    async fn send(&self, message: &OutboundMessage) -> Result<MailReceipt, MailError> {
        (**self).send(message).await
    }
}

/// Why an email could not be written from its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("email could not be written: {0}")]
pub struct TemplateError(pub String);

/// Writes emails: the subject, plain-text body and HTML body for what an email says.
pub trait EmailTemplates: Send + Sync {
    /// The message to `to` that says `content`.
    fn render(
        &self,
        to: &str,
        content: &crate::email::EmailContent,
    ) -> Result<OutboundMessage, TemplateError>;
}
