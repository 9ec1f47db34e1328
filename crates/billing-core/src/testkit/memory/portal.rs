//! The customer portal's links and sessions, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::ids::BusinessId;
use crate::link::TokenHash;
use crate::portal::PortalPass;
use crate::ports::{PortalPassByToken, PortalPasses, PortalStoreError};

#[async_trait]
impl PortalPasses for MemoryStore {
    async fn create_portal_pass(
        &self,
        business: &BusinessId,
        pass: &PortalPass,
        token_hash: &TokenHash,
    ) -> Result<(), PortalStoreError> {
        let mut state = self.state.lock().await;
        if state.portal_passes.contains_key(token_hash) {
            return Err(PortalStoreError::AlreadyExists);
        }
        state
            .portal_passes
            .insert(*token_hash, (business.clone(), pass.clone()));
        Ok(())
    }

    async fn portal_pass(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<PortalPassByToken>, PortalStoreError> {
        let state = self.state.lock().await;
        Ok(state
            .portal_passes
            .get(token_hash)
            .map(|(business, pass)| PortalPassByToken {
                business: business.clone(),
                pass: pass.clone(),
                token_hash: *token_hash,
            }))
    }

    async fn use_portal_pass(
        &self,
        token_hash: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<bool, PortalStoreError> {
        let mut state = self.state.lock().await;
        match state.portal_passes.get_mut(token_hash) {
            Some((_, pass)) if pass.used_at.is_none() => {
                pass.used_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn purge_portal_passes(
        &self,
        expired_by: DateTime<Utc>,
    ) -> Result<u64, PortalStoreError> {
        let mut state = self.state.lock().await;
        let before = state.portal_passes.len();
        state
            .portal_passes
            .retain(|_, (_, pass)| pass.expires_at > expired_by);
        Ok(u64::try_from(before - state.portal_passes.len()).unwrap_or(u64::MAX))
    }
}
