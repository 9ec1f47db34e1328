//! From the core's [`OutboundMessage`] to an RFC 5322 message, the same for every mailer.

use billing_core::notification::OutboundMessage;
use billing_core::ports::MailError;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};

use crate::MailConfigError;

/// Parses a sender (`billing@example.com` or `Billing <billing@example.com>`).
pub(crate) fn sender(address: &str) -> Result<Mailbox, MailConfigError> {
    address.parse().map_err(
        |e: lettre::address::AddressError| MailConfigError::InvalidSender {
            address: address.to_owned(),
            reason: e.to_string(),
        },
    )
}

/// The message as an email from `from`: the text body alone, or text and HTML as alternatives
/// (text first: clients show the last one they can, so the HTML when they can).
///
/// A message that cannot be an email is [`MailError::Permanent`]: no retry can fix it.
pub(crate) fn email(from: &Mailbox, message: &OutboundMessage) -> Result<Message, MailError> {
    message
        .check()
        .map_err(|e| MailError::Permanent(e.to_string()))?;
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| MailError::Permanent(format!("recipient {:?}: {e}", message.to)))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.as_str())
        // Ours rather than lettre's: lettre would name the host `localhost`.
        .message_id(Some(format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            from.email.domain()
        )))
        .date_now();
    let built = match &message.html_body {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            message.text_body.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(message.text_body.clone()),
    };
    built.map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
}
