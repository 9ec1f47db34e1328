//! Businesses' connected accounts, in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::connect::ConnectedAccount;
use crate::ids::BusinessId;
use crate::ports::{AccountConnection, BusinessesError, ConnectedAccounts};

#[async_trait]
impl ConnectedAccounts for MemoryStore {
    async fn connected_account(
        &self,
        business: &BusinessId,
    ) -> Result<Option<ConnectedAccount>, BusinessesError> {
        Ok(self.state.lock().await.connected.get(business).cloned())
    }

    async fn connect_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<AccountConnection, BusinessesError> {
        let mut state = self.state.lock().await;
        if let Some(stored) = state.connected.get(business) {
            return Ok(AccountConnection::Connected(stored.clone()));
        }
        let Some(owner) = state.businesses.get_mut(business) else {
            return Ok(AccountConnection::UnknownBusiness);
        };
        match &owner.gateway_account {
            Some(other) if other != account.id() => {
                return Ok(AccountConnection::OtherAccount(other.clone()));
            }
            _ => owner.gateway_account = Some(account.id().to_owned()),
        }
        state.connected.insert(business.clone(), account.clone());
        Ok(AccountConnection::Connected(account.clone()))
    }

    async fn update_connected_account(
        &self,
        business: &BusinessId,
        account: &ConnectedAccount,
    ) -> Result<bool, BusinessesError> {
        let mut state = self.state.lock().await;
        match state.connected.get_mut(business) {
            Some(stored) if stored.id() == account.id() && stored.as_of <= account.as_of => {
                *stored = account.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
