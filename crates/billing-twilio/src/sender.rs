//! Sending texts through Twilio's Messages resource:
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, with HTTP basic auth.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use billing_core::ports::{OutboundText, TextError, TextReceipt, TextSender, TextStatus};
use serde::Deserialize;

use crate::TwilioConfigError;
use crate::callbacks::text_status;

/// Twilio's API.
pub const TWILIO_API: &str = "https://api.twilio.com";

/// How long a send may take before it counts as a temporary failure.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Who the texts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSender {
    /// A Twilio phone number in E.164, a short code or an alphanumeric sender id (`From`).
    From(String),
    /// A messaging service, which picks the sender from its pool (`MessagingServiceSid`,
    /// `MG…`); its Advanced Opt-Out applies.
    MessagingService(String),
}

/// Sets up a [`TwilioTexts`]; see [`TwilioTexts::builder`].
#[derive(Clone)]
pub struct TwilioTextsBuilder {
    account_sid: String,
    auth_token: String,
    sender: Option<TwilioSender>,
    status_callback: Option<String>,
    api_base: String,
    timeout: Duration,
}

impl fmt::Debug for TwilioTextsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the auth token: builders end up in logs with the rest of the configuration.
        f.debug_struct("TwilioTextsBuilder")
            .field("account_sid", &self.account_sid)
            .field("sender", &self.sender)
            .field("status_callback", &self.status_callback)
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TwilioTextsBuilder {
    /// Sends from a Twilio number, short code or alphanumeric sender id.
    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.sender = Some(TwilioSender::From(from.into()));
        self
    }

    /// Sends through a messaging service (`MG…`).
    pub fn messaging_service(mut self, sid: impl Into<String>) -> Self {
        self.sender = Some(TwilioSender::MessagingService(sid.into()));
        self
    }

    /// Where Twilio posts each message's status changes: the full public URL, which is also
    /// what their signature covers.
    pub fn status_callback(mut self, url: impl Into<String>) -> Self {
        self.status_callback = Some(url.into());
        self
    }

    /// Another base URL for the API ([`TWILIO_API`] by default): a fake server in tests.
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = url.into();
        self
    }

    /// How long one send may take ([`DEFAULT_TIMEOUT`] by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The sender.
    ///
    /// # Errors
    /// [`TwilioConfigError`] when a setting is missing or malformed.
    pub fn build(self) -> Result<TwilioTexts, TwilioConfigError> {
        if !is_sid(&self.account_sid, "AC") {
            return Err(TwilioConfigError::AccountSid(self.account_sid));
        }
        if self.auth_token.trim().is_empty() {
            return Err(TwilioConfigError::MissingAuthToken);
        }
        let sender = self.sender.ok_or(TwilioConfigError::MissingSender)?;
        match &sender {
            TwilioSender::From(from) if from.trim().is_empty() => {
                return Err(TwilioConfigError::MissingSender);
            }
            TwilioSender::MessagingService(sid) if !is_sid(sid, "MG") => {
                return Err(TwilioConfigError::MessagingServiceSid(sid.clone()));
            }
            _ => {}
        }
        let checked_url = |url: &str| {
            url::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| TwilioConfigError::Url(url.to_owned()))
        };
        if let Some(callback) = &self.status_callback {
            checked_url(callback)?;
        }
        let mut endpoint = checked_url(&self.api_base)?;
        endpoint
            .path_segments_mut()
            .map_err(|()| TwilioConfigError::Url(self.api_base.clone()))?
            .pop_if_empty()
            .extend(["2010-04-01", "Accounts", &self.account_sid, "Messages.json"]);
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| TwilioConfigError::Http(e.to_string()))?;
        Ok(TwilioTexts {
            http,
            endpoint,
            account_sid: self.account_sid,
            auth_token: self.auth_token,
            sender,
            status_callback: self.status_callback,
        })
    }
}

/// Twilio's ids: a two-letter prefix and 32 hex digits.
fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == 34 && sid.starts_with(prefix) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Sends texts through Twilio: the core's [`TextSender`].
///
/// Failures are sorted for the worker: a rate limit (429), Twilio's own errors (5xx), a
/// timeout or a refused connection are temporary, and so are refused credentials (401: put
/// right, every text can go); a recipient who replied STOP (error 21610) has opted out; any
/// other refusal (400: an invalid number 21211, a number that cannot take texts 21614, an
/// empty body 21602) is permanent. A timeout after the request left may mean the text was sent:
/// Twilio's Messages resource takes no idempotency key, so a retry may send it twice.
#[derive(Clone)]
pub struct TwilioTexts {
    http: reqwest::Client,
    endpoint: url::Url,
    account_sid: String,
    auth_token: String,
    sender: TwilioSender,
    status_callback: Option<String>,
}

impl fmt::Debug for TwilioTexts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioTexts")
            .field("endpoint", &self.endpoint.as_str())
            .field("sender", &self.sender)
            .field("status_callback", &self.status_callback)
            .finish_non_exhaustive()
    }
}

impl TwilioTexts {
    /// Starts setting up a sender for the account `account_sid` (`AC…`) with its auth token.
    pub fn builder(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
    ) -> TwilioTextsBuilder {
        TwilioTextsBuilder {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            sender: None,
            status_callback: None,
            api_base: TWILIO_API.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The form of the request that sends `message`.
    fn form(&self, message: &OutboundText) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", message.to.as_str());
        match &self.sender {
            TwilioSender::From(from) => form.append_pair("From", from),
            TwilioSender::MessagingService(sid) => form.append_pair("MessagingServiceSid", sid),
        };
        form.append_pair("Body", &message.body);
        if let Some(callback) = &self.status_callback {
            form.append_pair("StatusCallback", callback);
        }
        form.finish()
    }
}

/// The part of a Message resource we read.
#[derive(Debug, Deserialize)]
struct MessageResource {
    sid: String,
    status: String,
}

/// Twilio's error body: `{"code": 21211, "message": "...", "more_info": "...", "status": 400}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    message: Option<String>,
}

#[async_trait]
impl TextSender for TwilioTexts {
    async fn send(&self, message: &OutboundText) -> Result<TextReceipt, TextError> {
        let response = self
            .http
            .post(self.endpoint.clone())
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(self.form(message))
            .send()
            .await
            .map_err(|e| TextError::Temporary(format!("Twilio could not be reached: {e}")))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| TextError::Temporary(format!("Twilio's answer was cut: {e}")))?;
        if status.is_success() {
            let resource: MessageResource = serde_json::from_slice(&body).map_err(|e| {
                // Sending again could send it twice: better one text lost than many sent.
                TextError::Permanent(format!(
                    "Twilio accepted the message ({status}) but its answer is unreadable: {e}"
                ))
            })?;
            return Ok(TextReceipt {
                reference: resource.sid,
                status: text_status(&resource.status).unwrap_or(TextStatus::Queued),
            });
        }
        let error: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        Err(classify(status.as_u16(), error))
    }
}

/// Twilio's error code for a recipient who replied STOP.
pub const UNSUBSCRIBED_RECIPIENT: u32 = 21610;
/// Twilio's error code for too many requests.
const TOO_MANY_REQUESTS: u32 = 20429;

/// A refusal as the port's error kind, from the HTTP status and Twilio's error code.
fn classify(status: u16, error: Option<ErrorBody>) -> TextError {
    let code = error.as_ref().and_then(|e| e.code);
    let said = error
        .and_then(|e| e.message)
        .unwrap_or_else(|| "no message".to_owned());
    let reason = match code {
        Some(code) => format!("Twilio error {code} ({status}): {said}"),
        None => format!("Twilio answered {status}: {said}"),
    };
    match (status, code) {
        (_, Some(UNSUBSCRIBED_RECIPIENT)) => TextError::OptedOut(reason),
        (429, _) | (_, Some(TOO_MANY_REQUESTS)) => TextError::Temporary(reason),
        (401, _) => TextError::Temporary(format!("{reason}; check the account SID and auth token")),
        (500.., _) => TextError::Temporary(reason),
        _ => TextError::Permanent(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: u32) -> Option<ErrorBody> {
        Some(ErrorBody {
            code: Some(code),
            message: Some("said".into()),
        })
    }

    #[test]
    fn refusals_are_sorted_by_what_retrying_can_do() {
        assert!(matches!(
            classify(400, error(21610)),
            TextError::OptedOut(_)
        ));
        assert!(matches!(
            classify(400, error(21211)),
            TextError::Permanent(_)
        ));
        assert!(matches!(
            classify(400, error(21602)),
            TextError::Permanent(_)
        ));
        assert!(matches!(
            classify(400, error(21614)),
            TextError::Permanent(_)
        ));
        assert!(matches!(
            classify(429, error(20429)),
            TextError::Temporary(_)
        ));
        assert!(matches!(
            classify(401, error(20003)),
            TextError::Temporary(_)
        ));
        assert!(matches!(classify(503, None), TextError::Temporary(_)));
        assert!(matches!(classify(404, None), TextError::Permanent(_)));
        assert_eq!(
            classify(400, error(21211)).reason(),
            "Twilio error 21211 (400): said"
        );
    }

    #[test]
    fn settings_are_checked() {
        let sid = "AC0123456789abcdef0123456789abcdef";
        assert!(
            TwilioTexts::builder(sid, "t")
                .from("+14155550100")
                .build()
                .is_ok()
        );
        assert!(matches!(
            TwilioTexts::builder("AC123", "t").from("+1").build(),
            Err(TwilioConfigError::AccountSid(_))
        ));
        assert!(matches!(
            TwilioTexts::builder(sid, "").from("+1").build(),
            Err(TwilioConfigError::MissingAuthToken)
        ));
        assert!(matches!(
            TwilioTexts::builder(sid, "t").build(),
            Err(TwilioConfigError::MissingSender)
        ));
        assert!(matches!(
            TwilioTexts::builder(sid, "t")
                .messaging_service("MG1")
                .build(),
            Err(TwilioConfigError::MessagingServiceSid(_))
        ));
        assert!(matches!(
            TwilioTexts::builder(sid, "t")
                .from("+1")
                .status_callback("/cb")
                .build(),
            Err(TwilioConfigError::Url(_))
        ));
        let texts = TwilioTexts::builder(sid, "secret-token")
            .from("+14155550100")
            .api_base("http://127.0.0.1:9/")
            .build()
            .unwrap();
        assert_eq!(
            texts.endpoint.as_str(),
            format!("http://127.0.0.1:9/2010-04-01/Accounts/{sid}/Messages.json")
        );
        assert!(!format!("{texts:?}").contains("secret-token"));
    }
}
