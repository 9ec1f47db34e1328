//! # billing-mail
//!
//! Email for the billing engine: two implementations of the core's
//! [`Mailer`](billing_core::ports::Mailer) port, and the templates of the emails about
//! payments.
//!
//! - [`OutboxMailer`], the embedded default: writes each message as an RFC 5322 `.eml` file
//!   (plain text with an HTML alternative) into an outbox folder, whole or not at all, for a
//!   relay, a pickup directory or a person to read. Nothing to configure, nothing to reach.
//! - [`SmtpMailer`]: sends through an SMTP server (plain, STARTTLS or implicit TLS on rustls,
//!   with credentials), and tells temporary refusals (4xx, no answer) from permanent ones (5xx)
//!   so that the worker retries only what may pass later.
//! - [`templates::render`]: the plain-text and HTML bodies and the subject of each
//!   [`NotificationKind`](billing_core::notification::NotificationKind), from typed data; user
//!   text is HTML-escaped, amounts are printed exactly.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use billing_core::ports::Mailer;
//! use billing_mail::{OutboxMailer, SmtpMailer, TlsMode};
//!
//! let outbox = OutboxMailer::new("/var/spool/billing/outbox", "Billing <billing@example.com>")?;
//! let smtp = SmtpMailer::builder("smtp.example.com")
//!     .tls(TlsMode::StartTls)
//!     .credentials("billing", "secret")
//!     .from("Billing <billing@example.com>")
//!     .build()?;
//! let message = billing_core::notification::OutboundMessage {
//!     to: "ada@example.com".into(),
//!     subject: "Acme Cleaning: receipt for 215.50 USD".into(),
//!     text_body: "Thank you for your payment of 215.50 USD.".into(),
//!     html_body: None,
//! };
//! outbox.send(&message).await?;
//! let receipt = smtp.send(&message).await?;
//! println!("{}", receipt.server_reply);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod message;
mod outbox;
mod smtp;
pub mod templates;

pub use outbox::OutboxMailer;
pub use smtp::{DEFAULT_TIMEOUT, SmtpMailer, SmtpMailerBuilder, TlsMode};
pub use templates::MailTemplates;

/// Why a mailer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// The sender is not an address (`billing@example.com` or `Name <billing@example.com>`).
    #[error("invalid sender {address:?}: {reason}")]
    InvalidSender {
        /// The address given.
        address: String,
        /// Why it was refused.
        reason: String,
    },
    /// No sender was given.
    #[error("a sender address is required")]
    MissingSender,
    /// The TLS mode is not `none`, `starttls` or `tls`.
    #[error("unknown TLS mode {0:?} (none, starttls or tls)")]
    UnknownTlsMode(String),
    /// TLS could not be set up for the host.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The outbox folder could not be created.
    #[error("outbox {path}: {source}")]
    Outbox {
        /// The folder.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}
