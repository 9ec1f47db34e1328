use async_trait::async_trait;

use crate::customer::Business;
use crate::ids::BusinessId;

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

/// The businesses using the engine and their API keys (stored as hashes only).
#[async_trait]
pub trait Businesses: Send + Sync {
    /// Creates a business with one API key hash. [`BusinessesError::AlreadyExists`] when the id
    /// is taken.
    async fn create_business(
        &self,
        business: &Business,
        api_key_hash: &str,
    ) -> Result<(), BusinessesError>;

    /// Adds another API key hash to an existing business (key rotation). `Ok(false)` when the
    /// business does not exist.
    async fn add_api_key(
        &self,
        business: &BusinessId,
        api_key_hash: &str,
    ) -> Result<bool, BusinessesError>;

    /// The business owning an API key hash, if any.
    async fn business_by_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Business>, BusinessesError>;

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
