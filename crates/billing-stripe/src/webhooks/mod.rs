//! Stripe's webhook deliveries: the signature checked, the event read into a [`GatewayEvent`].
//!
//! Stripe signs `"{timestamp}.{raw body}"` with HMAC-SHA256 under the endpoint's secret and
//! sends `Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>...]` (several `v1` while a
//! secret is being rolled). The check is made here by hand, over the raw bytes, with the
//! time passed in, so that a test (or a replay tool) controls the clock; the payload is read
//! only after it verified ([`events`]).

mod events;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub(crate) use events::read_event;
pub use events::{
    AccountEvent, ChargeEvent, DisputeEvent, EventInfo, GatewayEvent, IntentEvent,
    RefundChangeEvent, RefundEvent, SetupEvent,
};

/// How far a signature's timestamp may be from now, in seconds (Stripe's libraries: 300).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a delivery was refused. None of these is worth retrying with the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The header has no `t=` timestamp, or not a number.
    #[error("the Stripe-Signature header has no valid timestamp")]
    MissingTimestamp,
    /// The header has no `v1=` signature.
    #[error("the Stripe-Signature header has no v1 signature")]
    MissingSignature,
    /// No `v1` signature matches the payload under the secret (tampered, or another secret).
    #[error("no v1 signature matches the payload")]
    BadSignature,
    /// Signed too long ago (or in the future): possibly a replayed delivery.
    #[error("the event was signed {age} s from now, more than the {TOLERANCE_SECONDS} s tolerated")]
    StaleTimestamp {
        /// Seconds between the signature's timestamp and now (negative: in the future).
        age: i64,
    },
    /// Signed correctly, but not an event this adapter can read.
    #[error("the payload is not a readable Stripe event: {0}")]
    BadPayload(String),
}

/// Checks a delivery's `Stripe-Signature` header against the raw body and the endpoint's
/// secret (`whsec_...`) at `now`, and reads the event.
///
/// # Errors
/// A [`WebhookError`] when the header is malformed, no `v1` signature matches, the
/// timestamp is more than [`TOLERANCE_SECONDS`] from `now`, or the payload is not an event.
pub fn verify_event(
    payload: impl AsRef<[u8]>,
    signature_header: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<GatewayEvent, WebhookError> {
    let payload = payload.as_ref();
    verify_signature(payload, signature_header, secret, now)?;
    events::parse_event(payload)
}

/// The signature check alone.
///
/// # Errors
/// As [`verify_event`], short of reading the payload.
pub fn verify_signature(
    payload: &[u8],
    signature_header: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in signature_header.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        match name {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => signatures.push(value),
            // `v0` is Stripe's test-mode scheme with a fake secret: never trusted.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MissingTimestamp)?;
    if signatures.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    // An empty key would make every signature computable by anyone.
    if secret.trim().is_empty() {
        return Err(WebhookError::BadSignature);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| WebhookError::BadSignature)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    // `verify_slice` compares in constant time; a signature that is not hex cannot match.
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
    });
    if !matches {
        return Err(WebhookError::BadSignature);
    }
    let age = now.timestamp() - timestamp;
    if age.abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::StaleTimestamp { age });
    }
    Ok(())
}

/// A webhook signing secret that cannot be used: with an empty secret anyone could sign an
/// event, so a service configured that way must not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the Stripe webhook signing secret is empty: give the endpoint's secret (whsec_...) from the Stripe Dashboard"
)]
pub struct EmptyWebhookSecret;

/// Stripe's webhook deliveries, checked with the endpoint's secret (`whsec_...`) against the
/// wall clock: the core's [`WebhookVerifier`](billing_core::ports::WebhookVerifier).
///
/// Events of connected accounts (a business's own Stripe account: its payments, its
/// `account.updated`) come from a Connect endpoint with a secret of its own: both endpoints may
/// post to the same URL, and a delivery signed under either secret is taken
/// ([`StripeWebhooks::with_connect_secret`]).
pub struct StripeWebhooks {
    secrets: Vec<String>,
}

impl std::fmt::Debug for StripeWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeWebhooks { secret: whsec_…redacted }")
    }
}

impl StripeWebhooks {
    /// A verifier with the endpoint's secret.
    ///
    /// # Errors
    /// [`EmptyWebhookSecret`] for an empty (or blank) secret.
    pub fn new(secret: impl Into<String>) -> Result<Self, EmptyWebhookSecret> {
        let secret = secret.into();
        if secret.trim().is_empty() {
            return Err(EmptyWebhookSecret);
        }
        Ok(StripeWebhooks {
            secrets: vec![secret],
        })
    }

    /// The same, also taking deliveries signed with the Connect endpoint's secret.
    ///
    /// # Errors
    /// [`EmptyWebhookSecret`] for an empty (or blank) secret.
    pub fn with_connect_secret(
        mut self,
        secret: impl Into<String>,
    ) -> Result<Self, EmptyWebhookSecret> {
        let secret = secret.into();
        if secret.trim().is_empty() {
            return Err(EmptyWebhookSecret);
        }
        self.secrets.push(secret);
        Ok(self)
    }
}

impl billing_core::ports::WebhookVerifier for StripeWebhooks {
    fn verify(
        &self,
        payload: &[u8],
        signature: &str,
    ) -> Result<billing_core::ports::GatewayEvent, billing_core::ports::WebhookRejected> {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        let mut refused = WebhookError::BadSignature;
        for secret in &self.secrets {
            match verify_event(payload, signature, secret, now) {
                Ok(event) => return Ok(event.to_core()),
                // Another secret may match; any other refusal is the delivery's own.
                Err(WebhookError::BadSignature) => {}
                Err(error) => {
                    refused = error;
                    break;
                }
            }
        }
        Err(billing_core::ports::WebhookRejected(refused.to_string()))
    }
}
