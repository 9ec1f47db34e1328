//! The in-memory notification log and payment links.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemoryStore, StoredLink, StoredNotification};
use crate::ids::{BusinessId, CustomerId, LinkId, NotificationId};
use crate::link::{LinkState, PaymentLink, TokenHash};
use crate::notification::{CarrierReport, Channel, DeliveryState, Notification, OutboundMessage};
use crate::phone::PhoneNumber;
use crate::ports::{
    DeliveryFailure, DueNotification, LinkByToken, LinkStoreError, NotificationLog,
    NotificationLogError, PaymentLinks,
};

#[async_trait]
impl NotificationLog for MemoryStore {
    async fn record_queued(
        &self,
        business: &BusinessId,
        notification: &Notification,
        message: &OutboundMessage,
    ) -> Result<(), NotificationLogError> {
        let mut state = self.state.lock().await;
        let log = &mut state
            .tenants
            .entry(business.clone())
            .or_default()
            .notifications;
        if log.contains_key(&notification.id) {
            return Err(NotificationLogError::AlreadyExists(notification.id.clone()));
        }
        log.insert(
            notification.id.clone(),
            StoredNotification {
                notification: notification.clone(),
                message: message.clone(),
                attempts: 0,
                next_attempt: Some(notification.created_at),
            },
        );
        Ok(())
    }

    async fn notification(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<Notification>, NotificationLogError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.notifications.get(id))
            .map(|stored| stored.notification.clone()))
    }

    async fn message(
        &self,
        business: &BusinessId,
        id: &NotificationId,
    ) -> Result<Option<OutboundMessage>, NotificationLogError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.notifications.get(id))
            .map(|stored| stored.message.clone()))
    }

    async fn customer_log(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, NotificationLogError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        let mut log: Vec<&Notification> = tenant
            .notifications
            .values()
            .map(|stored| &stored.notification)
            .filter(|n| &n.customer == customer)
            .collect();
        log.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(log.into_iter().take(limit as usize).cloned().collect())
    }

    async fn claim_due(
        &self,
        business: Option<&BusinessId>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueNotification>, NotificationLogError> {
        let mut state = self.state.lock().await;
        let mut due: Vec<(DateTime<Utc>, BusinessId, NotificationId)> = Vec::new();
        for (owner, tenant) in &state.tenants {
            if business.is_some_and(|b| b != owner) {
                continue;
            }
            for (id, stored) in &tenant.notifications {
                if let Some(at) = stored.next_attempt.filter(|at| *at <= now) {
                    due.push((at, owner.clone(), id.clone()));
                }
            }
        }
        due.sort();
        due.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, owner, id) in due {
            let Some(stored) = state
                .tenants
                .get_mut(&owner)
                .and_then(|t| t.notifications.get_mut(&id))
            else {
                continue;
            };
            stored.next_attempt = Some(lease_until);
            if let DeliveryState::Failed { retry_at, .. } = &mut stored.notification.delivery {
                *retry_at = Some(lease_until);
            }
            claimed.push(DueNotification {
                business: owner,
                notification: stored.notification.clone(),
                message: stored.message.clone(),
                attempts: stored.attempts,
            });
        }
        Ok(claimed)
    }

    async fn mark_sent(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        at: DateTime<Utc>,
        server_reply: &str,
    ) -> Result<(), NotificationLogError> {
        let mut state = self.state.lock().await;
        let stored = state
            .tenants
            .get_mut(business)
            .and_then(|t| t.notifications.get_mut(id))
            .ok_or_else(|| NotificationLogError::NotFound(id.clone()))?;
        stored.notification.delivery = DeliveryState::Sent {
            at,
            server_reply: server_reply.to_owned(),
        };
        stored.next_attempt = None;
        Ok(())
    }

    async fn mark_failed(
        &self,
        business: &BusinessId,
        id: &NotificationId,
        failure: &DeliveryFailure,
    ) -> Result<(), NotificationLogError> {
        let mut state = self.state.lock().await;
        let stored = state
            .tenants
            .get_mut(business)
            .and_then(|t| t.notifications.get_mut(id))
            .ok_or_else(|| NotificationLogError::NotFound(id.clone()))?;
        if matches!(stored.notification.delivery, DeliveryState::Sent { .. }) {
            return Ok(());
        }
        stored.notification.delivery = DeliveryState::Failed {
            at: failure.at,
            reason: failure.reason.clone(),
            attempts: failure.attempts,
            retry_at: failure.retry_at,
        };
        stored.attempts = failure.attempts;
        stored.next_attempt = failure.retry_at;
        Ok(())
    }

    async fn record_carrier_report(
        &self,
        reference: &str,
        report: &CarrierReport,
    ) -> Result<Option<(BusinessId, NotificationId)>, NotificationLogError> {
        let mut state = self.state.lock().await;
        for (business, tenant) in &mut state.tenants {
            let found = tenant.notifications.values_mut().find(|stored| {
                let n = &stored.notification;
                n.channel == Channel::Text
                    && matches!(&n.delivery, DeliveryState::Sent { server_reply, .. } if server_reply == reference)
            });
            if let Some(stored) = found {
                let known = stored.notification.carrier.as_ref();
                if known.is_none_or(|known| report.status.rank() > known.status.rank()) {
                    stored.notification.carrier = Some(report.clone());
                }
                return Ok(Some((business.clone(), stored.notification.id.clone())));
            }
        }
        Ok(None)
    }

    async fn set_text_opt_out(
        &self,
        phone: &PhoneNumber,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> Result<(), NotificationLogError> {
        let mut state = self.state.lock().await;
        let choice = state
            .text_opt_outs
            .entry(phone.as_str().to_owned())
            .or_insert((opted_out, at));
        if at >= choice.1 {
            *choice = (opted_out, at);
        }
        Ok(())
    }

    async fn text_opted_out(&self, phone: &PhoneNumber) -> Result<bool, NotificationLogError> {
        let state = self.state.lock().await;
        Ok(state
            .text_opt_outs
            .get(phone.as_str())
            .is_some_and(|(opted_out, _)| *opted_out))
    }
}

#[async_trait]
impl PaymentLinks for MemoryStore {
    async fn create_link(
        &self,
        business: &BusinessId,
        link: &PaymentLink,
        token_hash: &TokenHash,
    ) -> Result<(), LinkStoreError> {
        let mut state = self.state.lock().await;
        let taken = state.link_tokens.contains_key(token_hash)
            || state
                .tenants
                .get(business)
                .is_some_and(|t| t.links.contains_key(&link.id));
        if taken {
            return Err(LinkStoreError::AlreadyExists(link.id.clone()));
        }
        state
            .link_tokens
            .insert(*token_hash, (business.clone(), link.id.clone()));
        state
            .tenants
            .entry(business.clone())
            .or_default()
            .links
            .insert(
                link.id.clone(),
                StoredLink {
                    link: link.clone(),
                    token_hash: *token_hash,
                },
            );
        Ok(())
    }

    async fn link(
        &self,
        business: &BusinessId,
        id: &LinkId,
    ) -> Result<Option<PaymentLink>, LinkStoreError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.links.get(id))
            .map(|stored| stored.link.clone()))
    }

    async fn link_by_token(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<LinkByToken>, LinkStoreError> {
        let state = self.state.lock().await;
        let Some((business, id)) = state.link_tokens.get(token_hash) else {
            return Ok(None);
        };
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.links.get(id))
            .map(|stored| LinkByToken {
                business: business.clone(),
                link: stored.link.clone(),
                token_hash: stored.token_hash,
            }))
    }

    async fn customer_links(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<PaymentLink>, LinkStoreError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        let mut links: Vec<&PaymentLink> = tenant
            .links
            .values()
            .map(|stored| &stored.link)
            .filter(|link| &link.customer == customer)
            .collect();
        links.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(links.into_iter().take(limit as usize).cloned().collect())
    }

    async fn close_link(
        &self,
        business: &BusinessId,
        id: &LinkId,
        new_state: &LinkState,
    ) -> Result<bool, LinkStoreError> {
        if *new_state == LinkState::Open {
            // Not a close: nothing to move to.
            return Ok(false);
        }
        let mut state = self.state.lock().await;
        let Some(stored) = state
            .tenants
            .get_mut(business)
            .and_then(|t| t.links.get_mut(id))
        else {
            return Ok(false);
        };
        if stored.link.state != LinkState::Open {
            return Ok(false);
        }
        stored.link.state = new_state.clone();
        Ok(true)
    }
}
