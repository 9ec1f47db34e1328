//! The adapter's settings, and the secret key kept out of logs.

use std::fmt;
use std::time::Duration;

/// A Stripe secret key (`sk_...` or a restricted `rk_...`). Its `Debug` never shows it, so a
/// config can be logged whole; [`SecretKey::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        SecretKey(key.into())
    }

    /// The key itself, for the HTTP client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sk_…redacted")
    }
}

impl From<String> for SecretKey {
    fn from(key: String) -> Self {
        SecretKey(key)
    }
}

impl From<&str> for SecretKey {
    fn from(key: &str) -> Self {
        SecretKey(key.to_owned())
    }
}

/// How the adapter talks to Stripe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeConfig {
    /// The platform's secret key.
    pub secret_key: SecretKey,
    /// Another API base (a fake Stripe, localstripe), `http://host:port/`. `None` for
    /// `https://api.stripe.com/`.
    pub base_url: Option<String>,
    /// How long one HTTP attempt may take. A call that times out is not retried: its outcome
    /// is reported unknown at once and the reconciler settles it, so a slow Stripe cannot
    /// hold a caller for several timeouts in a row.
    pub timeout: Duration,
    /// How many times a call is sent again, under the same idempotency key, after a 409, 424,
    /// 429, 5xx or a broken connection.
    pub max_retries: u32,
    /// The first backoff; it doubles at every retry, with jitter.
    pub backoff_base: Duration,
    /// Restricts PaymentIntents and SetupIntents to cards
    /// (`allowed_payment_method_types[]=card`), so that a saved-card flow never meets a
    /// redirect-based method. On by default; localstripe refuses the parameter, so its tests
    /// turn it off.
    pub card_only: bool,
}

impl StripeConfig {
    /// Stripe's API with a key and the default timeout (30 s), retries (3) and backoff
    /// (250 ms, doubling).
    pub fn new(secret_key: impl Into<SecretKey>) -> Self {
        StripeConfig {
            secret_key: secret_key.into(),
            base_url: None,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            card_only: true,
        }
    }

    /// The same settings against another API base.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The same settings with another per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same settings with or without the restriction to cards (see
    /// [`StripeConfig::card_only`]).
    pub fn with_card_only(mut self, card_only: bool) -> Self {
        self.card_only = card_only;
        self
    }

    /// The same settings with another retry budget and first backoff.
    pub fn with_retries(mut self, max_retries: u32, backoff_base: Duration) -> Self {
        self.max_retries = max_retries;
        self.backoff_base = backoff_base;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_shows_in_debug() {
        let config = StripeConfig::new("sk_test_supersecret123");
        let printed = format!("{config:?}");
        assert!(!printed.contains("supersecret"), "{printed}");
        assert!(printed.contains("sk_…redacted"), "{printed}");
        assert_eq!(config.secret_key.expose(), "sk_test_supersecret123");
    }
}
