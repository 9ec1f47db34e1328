//! An in-memory store: a real implementation of every storage port, kept in a map behind one
//! async lock. A transaction holds the lock until it commits or is dropped, so transactions are
//! serial; its writes are buffered and applied at commit, so a dropped one writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_lock::{Mutex, MutexGuardArc};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::booking::BookingAccount;
use crate::customer::{Business, Customer, SavedCard};
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, BusinessId, CustomerId, LinkId, NotificationId, PaymentId};
use crate::link::{LinkState, PaymentLink, TokenHash};
use crate::money::Money;
use crate::notification::{DeliveryState, Notification, OutboundMessage};
use crate::payment::Entry;
use crate::ports::{
    BookingFilter, BookingLedger, Businesses, BusinessesError, CustomerDirectory,
    CustomerOutstanding, DeliveryFailure, DirectoryError, DueNotification, IdempotencyRecord,
    Ledger, LedgerError, LedgerTx, LinkByToken, LinkStoreError, NotificationLog,
    NotificationLogError, PaymentLinks, StoredResponse,
};
use crate::status::BookingSummary;

#[derive(Debug, Default)]
struct Tenant {
    bookings: BTreeMap<BookingId, BookingAccount>,
    entries: Vec<Entry>,
    by_booking: BTreeMap<BookingId, Vec<usize>>,
    by_payment: BTreeMap<PaymentId, Vec<usize>>,
    summaries: BTreeMap<BookingId, BookingSummary>,
    keys: BTreeMap<IdempotencyKey, IdempotencyRecord>,
    customers: BTreeMap<CustomerId, Customer>,
    cards: BTreeMap<CustomerId, Vec<SavedCard>>,
    notifications: BTreeMap<NotificationId, StoredNotification>,
    links: BTreeMap<LinkId, StoredLink>,
}

/// A notification, its message, and what the log needs to schedule it.
#[derive(Debug, Clone)]
struct StoredNotification {
    notification: Notification,
    message: OutboundMessage,
    attempts: u32,
    /// When it is due next; `None` once sent or given up.
    next_attempt: Option<DateTime<Utc>>,
}

/// A link and its token's hash.
#[derive(Debug, Clone)]
struct StoredLink {
    link: PaymentLink,
    token_hash: TokenHash,
}

impl Tenant {
    fn ledger(&self, id: &BookingId) -> Option<BookingLedger> {
        let account = self.bookings.get(id)?.clone();
        let entries = self
            .by_booking
            .get(id)
            .map(|indexes| indexes.iter().map(|i| self.entries[*i].clone()).collect())
            .unwrap_or_default();
        Some(BookingLedger { account, entries })
    }

    fn ledgers(&self, ids: &[BookingId]) -> Vec<BookingLedger> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        ids.iter().filter_map(|id| self.ledger(id)).collect()
    }

    fn has_entry(&self, payment: &PaymentId, seq: u32) -> bool {
        self.by_payment
            .get(payment)
            .is_some_and(|indexes| indexes.iter().any(|i| self.entries[*i].seq == seq))
    }
}

#[derive(Debug, Default)]
struct State {
    tenants: BTreeMap<BusinessId, Tenant>,
    businesses: BTreeMap<BusinessId, Business>,
    api_keys: BTreeMap<String, BusinessId>,
    /// Every link's token hash, and whose link it is: the lookup by token spans businesses.
    link_tokens: HashMap<TokenHash, (BusinessId, LinkId)>,
}

/// The in-memory store. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

enum Write {
    Claim(IdempotencyRecord),
    Complete(IdempotencyKey),
    Release(IdempotencyKey),
    Booking(BookingAccount),
    Append(Vec<Entry>, Vec<BookingSummary>),
}

/// A transaction on the in-memory store.
pub struct MemoryTx {
    guard: MutexGuardArc<State>,
    business: BusinessId,
    writes: Vec<Write>,
}

impl std::fmt::Debug for MemoryTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTx")
            .field("business", &self.business)
            .finish_non_exhaustive()
    }
}

impl MemoryTx {
    fn tenant(&self) -> Option<&Tenant> {
        self.guard.tenants.get(&self.business)
    }
}

#[async_trait]
impl LedgerTx for MemoryTx {
    async fn lock(&mut self, bookings: &[BookingId]) -> Result<Vec<BookingLedger>, LedgerError> {
        Ok(self
            .tenant()
            .map(|t| t.ledgers(bookings))
            .unwrap_or_default())
    }

    async fn claim(
        &mut self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, LedgerError> {
        let stored = self.tenant().and_then(|t| t.keys.get(&record.key)).cloned();
        let buffered = self.writes.iter().find_map(|w| match w {
            Write::Claim(r) if r.key == record.key => Some(r.clone()),
            _ => None,
        });
        match stored.or(buffered) {
            Some(existing) => Ok(Some(existing)),
            None => {
                self.writes.push(Write::Claim(record.clone()));
                Ok(None)
            }
        }
    }

    async fn complete(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError> {
        self.writes.push(Write::Complete(key.clone()));
        Ok(())
    }

    async fn release(&mut self, key: &IdempotencyKey) -> Result<(), LedgerError> {
        self.writes.push(Write::Release(key.clone()));
        Ok(())
    }

    async fn put_booking(&mut self, account: &BookingAccount) -> Result<(), LedgerError> {
        self.writes.push(Write::Booking(account.clone()));
        Ok(())
    }

    async fn append(
        &mut self,
        entries: &[Entry],
        summaries: &[BookingSummary],
    ) -> Result<(), LedgerError> {
        for entry in entries {
            let buffered = self.writes.iter().any(|w| {
                matches!(w, Write::Append(es, _) if es.iter().any(|e| e.payment == entry.payment && e.seq == entry.seq))
            });
            if buffered
                || self
                    .tenant()
                    .is_some_and(|t| t.has_entry(&entry.payment, entry.seq))
            {
                return Err(LedgerError::Conflict(format!(
                    "entry {}#{} exists",
                    entry.payment, entry.seq
                )));
            }
        }
        self.writes
            .push(Write::Append(entries.to_vec(), summaries.to_vec()));
        Ok(())
    }

    async fn commit(mut self) -> Result<(), LedgerError> {
        let writes = std::mem::take(&mut self.writes);
        let tenant = self.guard.tenants.entry(self.business.clone()).or_default();
        for write in writes {
            match write {
                Write::Claim(record) => {
                    tenant.keys.insert(record.key.clone(), record);
                }
                Write::Complete(key) => {
                    if let Some(record) = tenant.keys.get_mut(&key) {
                        record.completed = true;
                    }
                }
                Write::Release(key) => {
                    tenant.keys.remove(&key);
                }
                Write::Booking(account) => {
                    tenant.bookings.insert(account.id.clone(), account);
                }
                Write::Append(entries, summaries) => {
                    for entry in entries {
                        let index = tenant.entries.len();
                        for booking in &entry.bookings {
                            tenant
                                .by_booking
                                .entry(booking.clone())
                                .or_default()
                                .push(index);
                        }
                        tenant
                            .by_payment
                            .entry(entry.payment.clone())
                            .or_default()
                            .push(index);
                        tenant.entries.push(entry);
                    }
                    for summary in summaries {
                        tenant.summaries.insert(summary.booking.clone(), summary);
                    }
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Ledger for MemoryStore {
    type Tx = MemoryTx;

    async fn begin(&self, business: &BusinessId) -> Result<MemoryTx, LedgerError> {
        let guard = self.state.lock_arc().await;
        Ok(MemoryTx {
            guard,
            business: business.clone(),
            writes: Vec::new(),
        })
    }

    async fn load(
        &self,
        business: &BusinessId,
        bookings: &[BookingId],
    ) -> Result<Vec<BookingLedger>, LedgerError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .map(|t| t.ledgers(bookings))
            .unwrap_or_default())
    }

    async fn payment_bookings(
        &self,
        business: &BusinessId,
        payment: &PaymentId,
    ) -> Result<Option<Vec<BookingId>>, LedgerError> {
        let state = self.state.lock().await;
        Ok(state.tenants.get(business).and_then(|t| {
            let first = t.by_payment.get(payment)?.first()?;
            Some(t.entries[*first].bookings.clone())
        }))
    }

    async fn summary(
        &self,
        business: &BusinessId,
        booking: &BookingId,
    ) -> Result<Option<BookingSummary>, LedgerError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.summaries.get(booking).cloned()))
    }

    async fn list_summaries(
        &self,
        business: &BusinessId,
        filter: &BookingFilter,
    ) -> Result<Vec<BookingSummary>, LedgerError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        Ok(tenant
            .summaries
            .values()
            .filter(|s| filter.after.as_ref().is_none_or(|after| &s.booking > after))
            .filter(|s| filter.customer.as_ref().is_none_or(|c| &s.customer == c))
            .filter(|s| filter.status.is_none_or(|status| s.status.status == status))
            .filter(|s| {
                filter
                    .pending
                    .is_none_or(|pending| s.status.pending == pending)
            })
            .take(filter.limit as usize)
            .cloned()
            .collect())
    }

    async fn outstanding(
        &self,
        business: &BusinessId,
        customer: Option<&CustomerId>,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        let mut rows: BTreeMap<(CustomerId, crate::money::Currency), (Money, u64)> =
            BTreeMap::new();
        for summary in tenant.summaries.values() {
            let due = summary.balance.balance_due;
            if !due.is_positive() || customer.is_some_and(|c| c != &summary.customer) {
                continue;
            }
            let row = rows
                .entry((summary.customer.clone(), due.currency()))
                .or_insert((Money::zero(due.currency()), 0));
            row.0 = row
                .0
                .checked_add(&due)
                .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
            row.1 += 1;
        }
        Ok(rows
            .into_iter()
            .map(
                |((customer, _), (balance_due, bookings))| CustomerOutstanding {
                    customer,
                    balance_due,
                    bookings,
                },
            )
            .collect())
    }

    async fn idempotency(
        &self,
        business: &BusinessId,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyRecord>, LedgerError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.keys.get(key).cloned()))
    }

    async fn save_response(
        &self,
        business: &BusinessId,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<bool, LedgerError> {
        let mut state = self.state.lock().await;
        let Some(record) = state
            .tenants
            .get_mut(business)
            .and_then(|t| t.keys.get_mut(key))
        else {
            return Ok(false);
        };
        if !record.completed || record.response.is_some() {
            return Ok(false);
        }
        record.response = Some(response.clone());
        Ok(true)
    }
}

#[async_trait]
impl CustomerDirectory for MemoryStore {
    async fn put_customer(
        &self,
        business: &BusinessId,
        customer: &Customer,
    ) -> Result<(), DirectoryError> {
        let mut state = self.state.lock().await;
        let tenant = state.tenants.entry(business.clone()).or_default();
        tenant
            .customers
            .insert(customer.id.clone(), customer.clone());
        Ok(())
    }

    async fn customer(
        &self,
        business: &BusinessId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, DirectoryError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.customers.get(id).cloned()))
    }

    async fn list_customers(
        &self,
        business: &BusinessId,
        after: Option<&CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, DirectoryError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .map(|t| {
                t.customers
                    .values()
                    .filter(|c| after.is_none_or(|after| &c.id > after))
                    .take(limit as usize)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn put_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        card: &SavedCard,
    ) -> Result<(), DirectoryError> {
        let mut state = self.state.lock().await;
        let cards = state
            .tenants
            .entry(business.clone())
            .or_default()
            .cards
            .entry(customer.clone())
            .or_default();
        if card.is_default {
            for other in cards.iter_mut() {
                other.is_default = false;
            }
        }
        cards.retain(|c| c.payment_method != card.payment_method);
        cards.push(card.clone());
        Ok(())
    }

    async fn remove_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<bool, DirectoryError> {
        let mut state = self.state.lock().await;
        let Some(cards) = state
            .tenants
            .get_mut(business)
            .and_then(|t| t.cards.get_mut(customer))
        else {
            return Ok(false);
        };
        let before = cards.len();
        cards.retain(|c| c.payment_method != payment_method);
        Ok(cards.len() != before)
    }

    async fn cards(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<Vec<SavedCard>, DirectoryError> {
        let state = self.state.lock().await;
        let mut cards = state
            .tenants
            .get(business)
            .and_then(|t| t.cards.get(customer).cloned())
            .unwrap_or_default();
        cards.sort_by(|a, b| {
            b.is_default
                .cmp(&a.is_default)
                .then_with(|| a.payment_method.cmp(&b.payment_method))
        });
        Ok(cards)
    }
}

#[async_trait]
impl Businesses for MemoryStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key_hash: &str,
    ) -> Result<(), BusinessesError> {
        let mut state = self.state.lock().await;
        if state.businesses.contains_key(&business.id) {
            return Err(BusinessesError::AlreadyExists(business.id.clone()));
        }
        state
            .businesses
            .insert(business.id.clone(), business.clone());
        state
            .api_keys
            .insert(api_key_hash.to_owned(), business.id.clone());
        Ok(())
    }

    async fn add_api_key(
        &self,
        business: &BusinessId,
        api_key_hash: &str,
    ) -> Result<bool, BusinessesError> {
        let mut state = self.state.lock().await;
        if !state.businesses.contains_key(business) {
            return Ok(false);
        }
        state
            .api_keys
            .insert(api_key_hash.to_owned(), business.clone());
        Ok(true)
    }

    async fn business_by_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Business>, BusinessesError> {
        let state = self.state.lock().await;
        Ok(state
            .api_keys
            .get(api_key_hash)
            .and_then(|id| state.businesses.get(id))
            .cloned())
    }

    async fn business(&self, id: &BusinessId) -> Result<Option<Business>, BusinessesError> {
        Ok(self.state.lock().await.businesses.get(id).cloned())
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

#[cfg(test)]
mod conformance {
    use super::MemoryStore;
    use crate::testkit::StoreFixture;

    struct Memory(MemoryStore);

    #[async_trait::async_trait]
    impl StoreFixture for Memory {
        type Store = MemoryStore;
        async fn store(&self) -> MemoryStore {
            self.0.clone()
        }
        async fn second_handle(&self) -> MemoryStore {
            self.0.clone()
        }
    }

    crate::store_conformance!(async { Memory(MemoryStore::new()) });
}
