//! The businesses and their API keys, in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::customer::Business;
use crate::ids::{ApiKeyId, BusinessId};
use crate::ports::{ApiKeyRecord, Businesses, BusinessesError, KeyRevocation};

/// Every key by its hash, and whose it is: the lookup by hash spans businesses.
#[derive(Debug, Default)]
pub(super) struct KeyState {
    by_hash: BTreeMap<String, (BusinessId, ApiKeyRecord)>,
}

impl KeyState {
    /// Keeps a key; a hash stored again moves to this key.
    fn insert(&mut self, business: &BusinessId, key: &ApiKeyRecord, hash: &str) {
        self.by_hash
            .insert(hash.to_owned(), (business.clone(), key.clone()));
    }

    fn of<'a>(
        &'a mut self,
        business: &'a BusinessId,
    ) -> impl Iterator<Item = &'a mut ApiKeyRecord> + 'a {
        self.by_hash
            .values_mut()
            .filter(move |(owner, _)| owner == business)
            .map(|(_, key)| key)
    }
}

#[async_trait]
impl Businesses for MemoryStore {
    async fn create_business(
        &self,
        business: &Business,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<(), BusinessesError> {
        let mut state = self.state.lock().await;
        if state.businesses.contains_key(&business.id) {
            return Err(BusinessesError::AlreadyExists(business.id.clone()));
        }
        state
            .businesses
            .insert(business.id.clone(), business.clone());
        state.api_keys.insert(&business.id, key, key_hash);
        Ok(())
    }

    async fn add_api_key(
        &self,
        business: &BusinessId,
        key: &ApiKeyRecord,
        key_hash: &str,
    ) -> Result<bool, BusinessesError> {
        let mut state = self.state.lock().await;
        if !state.businesses.contains_key(business) {
            return Ok(false);
        }
        state.api_keys.insert(business, key, key_hash);
        Ok(true)
    }

    async fn business_by_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        let state = self.state.lock().await;
        Ok(state
            .api_keys
            .by_hash
            .get(api_key_hash)
            .filter(|(_, key)| key.is_active())
            .and_then(|(id, _)| state.businesses.get(id))
            .cloned())
    }

    async fn api_keys(&self, business: &BusinessId) -> Result<Vec<ApiKeyRecord>, BusinessesError> {
        let mut state = self.state.lock().await;
        let mut keys: Vec<ApiKeyRecord> = state.api_keys.of(business).map(|k| k.clone()).collect();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        business: &BusinessId,
        key: &ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<KeyRevocation, BusinessesError> {
        let mut state = self.state.lock().await;
        let active = state
            .api_keys
            .of(business)
            .filter(|k| k.is_active())
            .count();
        let Some(found) = state.api_keys.of(business).find(|k| &k.id == key) else {
            return Ok(KeyRevocation::NotFound);
        };
        if found.is_active() {
            if active <= 1 {
                return Ok(KeyRevocation::LastActiveKey);
            }
            found.revoked_at = Some(at);
        }
        Ok(KeyRevocation::Revoked(found.clone()))
    }

    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError> {
        Ok(self.state.lock().await.businesses.get(id).cloned())
    }

    async fn business_by_account(
        &self,
        gateway_account: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        Ok(self
            .state
            .lock()
            .await
            .businesses
            .values()
            .find(|b| b.gateway_account.as_deref() == Some(gateway_account))
            .cloned())
    }

    async fn list_businesses(&self) -> Result<Vec<Business>, BusinessesError> {
        Ok(self
            .state
            .lock()
            .await
            .businesses
            .values()
            .cloned()
            .collect())
    }
}
