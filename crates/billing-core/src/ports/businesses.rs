use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::customer::Business;
use crate::ids::{ApiKeyId, BusinessId};

/// Why the business store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessesError {
    /// A business with that id already exists.
    #[error("business {0} already exists")]
    AlreadyExists(BusinessId),
    /// The store could not be reached or the operation failed; nothing was written.
    #[error("business store unavailable: {0}")]
    Unavailable(String),
}

/// An API key of a business as the store keeps and lists it: never its text. The key's
/// SHA-256 hash is stored beside it, and is what a request's key is looked up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Its id (named by the engine; not secret).
    pub id: ApiKeyId,
    /// What the business calls it ("Booking site"), 1 to 100 characters.
    pub label: String,
    /// What lets a person recognise the key without revealing it: its kind and its last four
    /// characters (`bk_live_…3f9a`). `None` for a key made before keys were listed.
    pub hint: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked: from then on it authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    /// True while the key authenticates (it was not revoked).
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// What revoking an API key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRevocation {
    /// The key, revoked: now, or at its first revocation (revoking again writes nothing).
    Revoked(ApiKeyRecord),
    /// The business has no key with that id.
    NotFound,
    /// It is the business's last active key; nothing was written (a business always keeps a
    /// key that works).
    LastActiveKey,
}

/// The businesses using the engine and their API keys (stored as hashes only).
#[async_trait]
pub trait Businesses: Send + Sync {
    /// Creates a business with its first API key, given with its hash, in one write: a
    /// business never exists without a key. [`BusinessesError::AlreadyExists`] when the id is
    /// taken; nothing is written then.
    async fn create_business(
        &self,
        business: &Business,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<(), BusinessesError>;

    /// Adds another API key to an existing business, with its hash (key rotation). `Ok(false)`
    /// when the business does not exist. A hash is unique: stored again (which random keys
    /// never are), it moves to this key.
    async fn add_api_key(
        &self,
        business: &BusinessId,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<bool, BusinessesError>;

    /// The business owning an active (not revoked) API key hash, if any.
    async fn business_by_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Business>, BusinessesError>;

    /// A business's API keys, revoked ones included, oldest first (then by id).
    async fn api_keys(&self, business: &BusinessId) -> Result<Vec<ApiKeyRecord>, BusinessesError>;

    /// Revokes a business's key at `at`, unless it is the business's last active one: the
    /// check and the write are one step, so that two revocations at once never leave a
    /// business without a working key.
    async fn revoke_api_key(
        &self,
        business: &BusinessId,
        key: &ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<KeyRevocation, BusinessesError>;

    /// A business by id.
    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError>;

    /// The business whose connected gateway account this is (`acct_...`), if any.
    async fn business_by_account(
        &self,
        gateway_account: &str,
    ) -> Result<Option<Business>, BusinessesError>;

    /// Every business, ordered by id (for the reconciler and automation).
    async fn list_businesses(&self) -> Result<Vec<Business>, BusinessesError>;
}
