//! SMTP on lettre: STARTTLS, implicit TLS or none, credentials, timeouts, and failures sorted
//! into temporary and permanent by the server's reply code.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use billing_core::notification::OutboundMessage;
use billing_core::ports::{MailError, MailReceipt, Mailer};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::MailConfigError;
use crate::message::{email, sender};

/// How long a send may take before it counts as a temporary failure: long enough for a slow
/// server, short enough that a worker's lease outlasts a batch of sends.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain text: only for a relay on the same host or a test server.
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl TlsMode {
    /// The usual port for the mode: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
        }
    }
}

impl FromStr for TlsMode {
    type Err = MailConfigError;

    /// `none`, `starttls` or `tls` (any case), as configuration files say it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(TlsMode::None),
            "starttls" => Ok(TlsMode::StartTls),
            "tls" => Ok(TlsMode::Tls),
            _ => Err(MailConfigError::UnknownTlsMode(text.to_owned())),
        }
    }
}

/// Sets up an [`SmtpMailer`]; see [`SmtpMailer::builder`].
#[derive(Clone)]
pub struct SmtpMailerBuilder {
    host: String,
    port: Option<u16>,
    tls: TlsMode,
    credentials: Option<(String, String)>,
    from: Option<String>,
    timeout: Duration,
    hello_name: Option<String>,
}

impl fmt::Debug for SmtpMailerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password: builders end up in logs with the rest of the configuration.
        f.debug_struct("SmtpMailerBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("hello_name", &self.hello_name)
            .finish()
    }
}

impl SmtpMailerBuilder {
    /// The port; by default the TLS mode's usual one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// How the connection is protected; STARTTLS by default.
    pub fn tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// Logs in with a user name and password (PLAIN or LOGIN, as the server offers).
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// The sender (`billing@example.com` or `Billing <billing@example.com>`). Required.
    pub fn from(mut self, address: impl Into<String>) -> Self {
        self.from = Some(address.into());
        self
    }

    /// How long one send may take; [`DEFAULT_TIMEOUT`] by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The name this client gives in its EHLO greeting; by default its address literal
    /// (`[127.0.0.1]`). Some servers want a real host name.
    pub fn hello_name(mut self, name: impl Into<String>) -> Self {
        self.hello_name = Some(name.into());
        self
    }

    /// The mailer. Fails when the sender is missing or invalid, or TLS cannot be set up for the
    /// host; connects only when sending.
    pub fn build(self) -> Result<SmtpMailer, MailConfigError> {
        let from = sender(self.from.as_deref().ok_or(MailConfigError::MissingSender)?)?;
        let port = self.port.unwrap_or(self.tls.default_port());
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(port)
            .timeout(Some(self.timeout));
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| MailConfigError::Tls(e.to_string()))
        };
        transport = match self.tls {
            TlsMode::None => transport.tls(Tls::None),
            TlsMode::StartTls => transport.tls(Tls::Required(tls(&self.host)?)),
            TlsMode::Tls => transport.tls(Tls::Wrapper(tls(&self.host)?)),
        };
        if let Some((user, password)) = self.credentials {
            transport = transport.credentials(Credentials::new(user, password));
        }
        if let Some(name) = self.hello_name {
            transport = transport.hello_name(ClientId::Domain(name));
        }
        Ok(SmtpMailer {
            transport: transport.build(),
            from,
            host: self.host,
            port,
            tls: self.tls,
        })
    }
}

/// A mailer sending through an SMTP server. One connection per message: a worker sends a few
/// messages now and then, and a fresh connection never fails on a socket the server dropped.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    tls: TlsMode,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Starts setting up a mailer for the server at `host`.
    pub fn builder(host: impl Into<String>) -> SmtpMailerBuilder {
        SmtpMailerBuilder {
            host: host.into(),
            port: None,
            tls: TlsMode::default(),
            credentials: None,
            from: None,
            timeout: DEFAULT_TIMEOUT,
            hello_name: None,
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &OutboundMessage) -> Result<MailReceipt, MailError> {
        let email = email(&self.from, message)?;
        let response = self.transport.send(email).await.map_err(classify)?;
        Ok(MailReceipt {
            server_reply: reply_text(&response),
        })
    }
}

/// The server's final reply as one line: `250 2.0.0 Ok: queued as 4F2A`.
fn reply_text(response: &Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), lines.join(" "))
        .trim_end()
        .to_owned()
}

/// Sorts a failure by what retrying can do. Only a 5xx reply (the server refused this recipient
/// or message) is permanent. A 4xx reply, no connection, a timeout, a TLS failure, or a
/// mismatch between this client's settings and the server (no STARTTLS offered, no common login
/// method) may pass later, once the server or an operator puts it right: those messages wait
/// rather than being given up. A message that could never be an email was refused before
/// connecting.
fn classify(error: lettre::transport::smtp::Error) -> MailError {
    if error.is_permanent() {
        MailError::Permanent(error.to_string())
    } else {
        MailError::Temporary(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_modes_read_from_configuration() {
        assert_eq!("STARTTLS".parse::<TlsMode>().ok(), Some(TlsMode::StartTls));
        assert_eq!("tls".parse::<TlsMode>().ok(), Some(TlsMode::Tls));
        assert_eq!("none".parse::<TlsMode>().ok(), Some(TlsMode::None));
        assert!("ssl".parse::<TlsMode>().is_err());
        assert_eq!(TlsMode::Tls.default_port(), 465);
    }

    #[test]
    fn a_sender_is_required_and_checked() {
        assert!(matches!(
            SmtpMailer::builder("smtp.example.com").build(),
            Err(MailConfigError::MissingSender)
        ));
        assert!(matches!(
            SmtpMailer::builder("smtp.example.com")
                .from("not an address")
                .build(),
            Err(MailConfigError::InvalidSender { .. })
        ));
        let mailer = SmtpMailer::builder("smtp.example.com")
            .tls(TlsMode::Tls)
            .credentials("billing", "hunter2")
            .from("Billing <billing@example.com>")
            .build();
        assert!(mailer.is_ok());
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let builder = SmtpMailer::builder("smtp.example.com").credentials("billing", "hunter2");
        let shown = format!("{builder:?}");
        assert!(shown.contains("billing"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
