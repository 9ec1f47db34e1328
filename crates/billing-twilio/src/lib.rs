//! # billing-twilio
//!
//! Text messages for the billing engine on Twilio's REST API.
//!
//! - [`TwilioTexts`] implements the core's [`TextSender`](billing_core::ports::TextSender):
//!   `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form-encoded `To`, `From` or
//!   `MessagingServiceSid`, `Body`, `StatusCallback`; basic auth with the account SID and auth
//!   token), with Twilio's refusals sorted into temporary, permanent and opted out.
//! - [`TwilioCallbacks`] implements the core's
//!   [`TextCallbacks`](billing_core::ports::TextCallbacks): checks the `X-Twilio-Signature` of
//!   the status callbacks and incoming texts Twilio posts, and reads them into the core's
//!   [`TextEvent`](billing_core::ports::TextEvent).
//! - [`signature`]: the signing scheme itself; [`reply_intent`]: Twilio's opt-out, opt-in and
//!   help keywords.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use billing_core::phone::PhoneNumber;
//! use billing_core::ports::{OutboundText, TextSender};
//! use billing_twilio::TwilioTexts;
//!
//! let texts = TwilioTexts::builder("AC0123456789abcdef0123456789abcdef", "auth token")
//!     .from("+14155550100")
//!     .status_callback("https://billing.example.com/texts/status")
//!     .build()?;
//! let receipt = texts
//!     .send(&OutboundText {
//!         to: PhoneNumber::from_e164("+14155552671")?,
//!         body: "Acme Cleaning: pay 215.50 USD at https://billing.example.com/pay/…".into(),
//!     })
//!     .await?;
//! println!("{}", receipt.reference);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callbacks;
mod sender;
pub mod signature;

pub use callbacks::{TwilioCallbacks, form_params, read_callback, reply_intent, text_status};
pub use sender::{
    DEFAULT_TIMEOUT, TWILIO_API, TwilioSender, TwilioTexts, TwilioTextsBuilder,
    UNSUBSCRIBED_RECIPIENT,
};

/// Why a Twilio sender could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioConfigError {
    /// The account SID is not `AC` and 32 hex digits.
    #[error("invalid Twilio account SID {0:?} (AC followed by 32 hex digits)")]
    AccountSid(String),
    /// No auth token was given.
    #[error("a Twilio auth token is required")]
    MissingAuthToken,
    /// Neither a sender (`From`) nor a messaging service was given.
    #[error("a sender (a Twilio number) or a messaging service SID is required")]
    MissingSender,
    /// The messaging service SID is not `MG` and 32 hex digits.
    #[error("invalid messaging service SID {0:?} (MG followed by 32 hex digits)")]
    MessagingServiceSid(String),
    /// A URL (the API's, the status callback's) is not an absolute http(s) URL.
    #[error("{0:?} is not an absolute http(s) URL")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
}
