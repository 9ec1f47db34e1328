//! Test doubles that are real implementations, for embedders and adapter crates: an in-memory
//! store, a scripted gateway, a scripted mailer, a settable clock, sequential ids, and the
//! conformance suite every storage adapter runs.

mod gateway;
mod mail;
mod memory;
mod onboarding;

pub use gateway::{GatewayCall, Scripted, ScriptedGateway};
pub use mail::{PlainTemplates, ScriptedMailer};
pub use onboarding::{SCRIPTED_REQUIREMENTS, ScriptedOnboarding};

/// Page addresses for tests: `{base}/pay/{token}` and `{base}/cards/{token}`, and the pages
/// the gateway sends the customer back to, `{base}/pay/{token}/return` and
/// `{base}/cards/{token}/return`.
#[derive(Debug, Clone)]
pub struct PlainPages(pub String);

impl PlainPages {
    fn page(&self, page: &str, token: &crate::link::LinkToken) -> String {
        format!("{}/{page}/{}", self.0.trim_end_matches('/'), token.expose())
    }
}

impl crate::ports::PageAddresses for PlainPages {
    fn link_url(
        &self,
        purpose: &crate::link::LinkPurpose,
        token: &crate::link::LinkToken,
    ) -> String {
        let page = match purpose {
            crate::link::LinkPurpose::Payment { .. } => "pay",
            crate::link::LinkPurpose::CardRequest => "cards",
        };
        self.page(page, token)
    }

    fn payment_return(&self, token: &crate::link::LinkToken) -> String {
        format!("{}/return", self.page("pay", token))
    }

    fn card_return(&self, token: &crate::link::LinkToken) -> String {
        format!("{}/return", self.page("cards", token))
    }

    fn portal_url(&self, token: &crate::link::LinkToken) -> String {
        self.page("portal", token)
    }
}
pub use memory::MemoryStore;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::ids::{NotificationId, PaymentId};
use crate::ports::{Clock, IdGenerator};

/// A clock that stands still until a test moves it, or something sleeps on it.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock at `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        FixedClock {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Default for FixedClock {
    /// 2026-01-15 09:00 UTC.
    fn default() -> Self {
        FixedClock::at(
            Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }
}

#[async_trait::async_trait]
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the clock to `at` (never back) and returns at once: a test's days pass in no time.
    async fn sleep_until(&self, at: DateTime<Utc>) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *now < at {
            *now = at;
        }
    }
}

/// Payment ids `pay_000001`, `pay_000002`... and notification ids `ntf_000001`... with an
/// optional prefix so that several generators sharing one store never collide.
#[derive(Debug, Default)]
pub struct SequentialIds {
    prefix: String,
    next: AtomicU64,
    next_notification: AtomicU64,
}

impl SequentialIds {
    /// Ids with a prefix (`pay_<prefix>_000001`).
    pub fn with_prefix(prefix: &str) -> Self {
        SequentialIds {
            prefix: format!("{prefix}_"),
            next: AtomicU64::new(0),
            next_notification: AtomicU64::new(0),
        }
    }
}

impl IdGenerator for SequentialIds {
    fn payment_id(&self) -> PaymentId {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        PaymentId::new(format!("pay_{}{n:06}", self.prefix))
            .expect("a prefix of id characters and digits is a valid id")
    }

    fn notification_id(&self) -> NotificationId {
        let n = self.next_notification.fetch_add(1, Ordering::Relaxed) + 1;
        NotificationId::new(format!("ntf_{}{n:06}", self.prefix))
            .expect("a prefix of id characters and digits is a valid id")
    }
}
/// Token secrets for tests: each call gives the next counter value's bytes. Predictable, so
/// never for production, where secrets come from the OS generator.
#[derive(Debug, Default)]
pub struct SequentialSecrets {
    next: AtomicU64,
}

impl crate::ports::SecretSource for SequentialSecrets {
    fn secret_bytes(&self) -> [u8; 32] {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut bytes = [0_u8; 32];
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        bytes
    }
}

/// A password "hasher" for tests: `plain:` and the password, checked in no time. Never for
/// production, where the console hashes with argon2id.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainPasswords;

#[async_trait::async_trait]
impl crate::ports::PasswordHasher for PlainPasswords {
    async fn hash(&self, password: &str) -> Result<String, crate::ports::PasswordHashError> {
        Ok(format!("plain:{password}"))
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        hash.and_then(|h| h.strip_prefix("plain:")) == Some(password)
    }
}

pub mod conformance;
pub use conformance::StoreFixture;
pub mod gateway_contract;

/// Stores a customer who already has a gateway customer (`cus_1`) and a default card on file
/// (`pm_card_visa`, a Visa ending 4242), without any gateway call: the usual start of a test.
pub async fn seed_customer_with_card<S: crate::ports::CustomerDirectory + ?Sized>(
    store: &S,
    business: &crate::ids::BusinessId,
    customer: &crate::ids::CustomerId,
) -> Result<(), crate::ports::DirectoryError> {
    let profile = crate::customer::Customer {
        id: customer.clone(),
        name: "Ada Lovelace".into(),
        email: Some("ada@example.com".into()),
        phone: None,
        gateway_customer: Some("cus_1".into()),
    };
    store.put_customer(business, &profile).await?;
    let card = crate::customer::SavedCard {
        payment_method: "pm_card_visa".into(),
        brand: "visa".into(),
        last4: "4242".into(),
        exp_month: 12,
        exp_year: 2034,
        is_default: true,
    };
    store.put_card(business, customer, &card).await
}

/// An active API key's record for tests that store a business directly: labelled
/// [`FIRST_KEY_LABEL`](crate::billing::FIRST_KEY_LABEL), made at the test clock's start.
///
/// # Panics
/// When `id` is not a valid id.
pub fn api_key_record(id: &str) -> crate::ports::ApiKeyRecord {
    crate::ports::ApiKeyRecord {
        id: crate::ids::ApiKeyId::new(id).expect("a valid API key id"),
        label: crate::billing::FIRST_KEY_LABEL.to_owned(),
        hint: None,
        created_at: FixedClock::default().now(),
        revoked_at: None,
    }
}
