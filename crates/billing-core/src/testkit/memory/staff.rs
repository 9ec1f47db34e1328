//! The console's people, their invitations and sessions, in memory.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::ids::{BusinessId, StaffId};
use crate::link::TokenHash;
use crate::ports::{StaffAccounts, StaffPurge, StaffRemoval, StaffStoreError};
use crate::staff::StaffRole;
use crate::staff::{StaffMember, StaffSession};

#[derive(Debug, Default)]
pub(super) struct StaffState {
    members: BTreeMap<(BusinessId, StaffId), StaffMember>,
    invitations: HashMap<TokenHash, (BusinessId, StaffId, DateTime<Utc>)>,
    sessions: HashMap<TokenHash, StaffSession>,
}

#[async_trait]
impl StaffAccounts for MemoryStore {
    async fn add_staff(
        &self,
        business: &BusinessId,
        member: &StaffMember,
    ) -> Result<(), StaffStoreError> {
        let mut state = self.state.lock().await;
        let staff = &mut state.staff;
        if staff.members.values().any(|m| m.email == member.email) {
            return Err(StaffStoreError::EmailTaken(member.email.clone()));
        }
        staff
            .members
            .insert((business.clone(), member.id.clone()), member.clone());
        Ok(())
    }

    async fn staff_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(BusinessId, StaffMember)>, StaffStoreError> {
        let state = self.state.lock().await;
        Ok(state
            .staff
            .members
            .iter()
            .find(|(_, m)| m.email == email)
            .map(|((business, _), m)| (business.clone(), m.clone())))
    }

    async fn staff_member(
        &self,
        business: &BusinessId,
        id: &StaffId,
    ) -> Result<Option<StaffMember>, StaffStoreError> {
        let state = self.state.lock().await;
        Ok(state
            .staff
            .members
            .get(&(business.clone(), id.clone()))
            .cloned())
    }

    async fn list_staff(&self, business: &BusinessId) -> Result<Vec<StaffMember>, StaffStoreError> {
        let state = self.state.lock().await;
        let mut members: Vec<StaffMember> = state
            .staff
            .members
            .iter()
            .filter(|((owner, _), _)| owner == business)
            .map(|(_, m)| m.clone())
            .collect();
        members.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(members)
    }

    async fn set_password_hash(
        &self,
        business: &BusinessId,
        id: &StaffId,
        hash: &str,
    ) -> Result<bool, StaffStoreError> {
        let mut state = self.state.lock().await;
        Ok(
            match state.staff.members.get_mut(&(business.clone(), id.clone())) {
                Some(member) => {
                    member.password_hash = Some(hash.to_owned());
                    true
                }
                None => false,
            },
        )
    }

    async fn put_invitation(
        &self,
        business: &BusinessId,
        staff: &StaffId,
        token: &TokenHash,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        let mut state = self.state.lock().await;
        let invitations = &mut state.staff.invitations;
        invitations.retain(|_, (b, s, _)| !(b == business && s == staff));
        invitations.insert(*token, (business.clone(), staff.clone(), expires_at));
        Ok(())
    }

    async fn take_invitation(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(BusinessId, StaffId)>, StaffStoreError> {
        let mut state = self.state.lock().await;
        Ok(state
            .staff
            .invitations
            .remove(token)
            .filter(|(_, _, expires_at)| now < *expires_at)
            .map(|(business, staff, _)| (business, staff)))
    }

    async fn create_session(
        &self,
        token: &TokenHash,
        session: &StaffSession,
    ) -> Result<(), StaffStoreError> {
        let mut state = self.state.lock().await;
        state.staff.sessions.insert(*token, session.clone());
        Ok(())
    }

    async fn staff_session(
        &self,
        token: &TokenHash,
    ) -> Result<Option<StaffSession>, StaffStoreError> {
        let state = self.state.lock().await;
        Ok(state.staff.sessions.get(token).cloned())
    }

    async fn touch_session(
        &self,
        token: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        let mut state = self.state.lock().await;
        if let Some(session) = state.staff.sessions.get_mut(token) {
            session.last_seen_at = session.last_seen_at.max(at);
        }
        Ok(())
    }

    async fn end_session(&self, token: &TokenHash) -> Result<(), StaffStoreError> {
        let mut state = self.state.lock().await;
        state.staff.sessions.remove(token);
        Ok(())
    }

    async fn end_sessions_of(
        &self,
        business: &BusinessId,
        staff: &StaffId,
    ) -> Result<(), StaffStoreError> {
        let mut state = self.state.lock().await;
        state
            .staff
            .sessions
            .retain(|_, s| !(&s.business == business && &s.staff == staff));
        Ok(())
    }

    async fn remove_staff(
        &self,
        business: &BusinessId,
        id: &StaffId,
        at: DateTime<Utc>,
    ) -> Result<StaffRemoval, StaffStoreError> {
        let mut state = self.state.lock().await;
        let staff = &mut state.staff;
        let owners = staff
            .members
            .iter()
            .filter(|((owner, _), m)| {
                owner == business && m.role == StaffRole::Owner && m.is_active()
            })
            .count();
        let Some(member) = staff.members.get_mut(&(business.clone(), id.clone())) else {
            return Ok(StaffRemoval::NotFound);
        };
        if member.is_active() {
            if member.role == StaffRole::Owner && owners <= 1 {
                return Ok(StaffRemoval::LastOwner);
            }
            member.removed_at = Some(at);
        }
        let member = member.clone();
        staff
            .sessions
            .retain(|_, s| !(&s.business == business && &s.staff == id));
        staff
            .invitations
            .retain(|_, (b, s, _)| !(b == business && s == id));
        Ok(StaffRemoval::Removed(member))
    }

    async fn purge_staff_tokens(
        &self,
        seen_by: DateTime<Utc>,
        made_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<StaffPurge, StaffStoreError> {
        let mut state = self.state.lock().await;
        let staff = &mut state.staff;
        let (sessions, invitations) = (staff.sessions.len(), staff.invitations.len());
        staff
            .sessions
            .retain(|_, s| s.last_seen_at > seen_by && s.created_at > made_by);
        staff
            .invitations
            .retain(|_, (_, _, expires_at)| *expires_at > now);
        let gone = |before: usize, after: usize| u64::try_from(before - after).unwrap_or(u64::MAX);
        Ok(StaffPurge {
            sessions: gone(sessions, staff.sessions.len()),
            invitations: gone(invitations, staff.invitations.len()),
        })
    }
}
