//! An in-memory store: a real implementation of every storage port, kept in a map behind one
//! async lock. A commit checks everything under the lock before it writes anything, so a
//! refused commit writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_lock::Mutex;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::booking::BookingAccount;
use crate::customer::{Business, Customer, SavedCard};
use crate::idempotency::IdempotencyKey;
use crate::ids::{BookingId, BusinessId, CustomerId, LinkId, NotificationId, PaymentId};
use crate::link::{PaymentLink, TokenHash};
use crate::money::{Currency, Money};
use crate::notification::{Notification, OutboundMessage};
use crate::payment::{Entry, Payment, PaymentDayTotals, fold};
use crate::ports::{
    BookingFilter, BookingLedger, Committed, CustomerDirectory, CustomerOutstanding,
    DirectoryError, IdempotencyRecord, KeyUpdate, Ledger, LedgerError, LedgerRead, LedgerSnapshot,
    LedgerWrite, OutstandingQuery, OutstandingTotal, PaymentsQuery,
};
use crate::status::BookingSummary;

#[derive(Debug, Default)]
struct Tenant {
    bookings: BTreeMap<BookingId, BookingAccount>,
    versions: BTreeMap<BookingId, u64>,
    entries: Vec<Entry>,
    by_booking: BTreeMap<BookingId, Vec<usize>>,
    by_payment: BTreeMap<PaymentId, Vec<usize>>,
    summaries: BTreeMap<BookingId, BookingSummary>,
    /// The per-day payment totals, kept from the commits' changes as the SQL stores keep them.
    payment_days: BTreeMap<(NaiveDate, Currency), PaymentDayTotals>,
    keys: BTreeMap<IdempotencyKey, IdempotencyRecord>,
    customers: BTreeMap<CustomerId, Customer>,
    cards: BTreeMap<CustomerId, Vec<SavedCard>>,
    notifications: BTreeMap<NotificationId, StoredNotification>,
    links: BTreeMap<LinkId, StoredLink>,
    payment_settings: Option<crate::automation::PaymentSettings>,
    schedules: BTreeMap<BookingId, crate::ports::BookingSchedule>,
    paused_customers: std::collections::BTreeSet<CustomerId>,
    runs: Vec<crate::ports::AutomationRun>,
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
        let version = self.versions.get(id).copied().unwrap_or(0);
        Some(BookingLedger {
            account,
            version,
            entries,
        })
    }

    /// The customer's cards, the default first, then by payment method id.
    fn sorted_cards(&self, customer: &CustomerId) -> Vec<SavedCard> {
        let mut cards = self.cards.get(customer).cloned().unwrap_or_default();
        cards.sort_by(|a, b| {
            b.is_default
                .cmp(&a.is_default)
                .then_with(|| a.payment_method.cmp(&b.payment_method))
        });
        cards
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
    /// Every API key, by its hash.
    api_keys: businesses::KeyState,
    /// Every link's token hash, and whose link it is: the lookup by token spans businesses.
    link_tokens: HashMap<TokenHash, (BusinessId, LinkId)>,
    /// The console's people, their invitations and sessions.
    staff: staff::StaffState,
    /// Each business's connected account.
    connected: BTreeMap<BusinessId, crate::connect::ConnectedAccount>,
    /// Phone numbers' text choices: refused (true) or welcome again, and as of when.
    text_opt_outs: HashMap<String, (bool, DateTime<Utc>)>,
    /// The customer portal's links and sessions, by token hash, with whose they are.
    portal_passes: HashMap<TokenHash, (BusinessId, crate::portal::PortalPass)>,
}

/// The in-memory store. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    /// Commits still to refuse as unavailable, after some to let through.
    outage: Arc<std::sync::Mutex<Outage>>,
}

/// A storage outage a test scripted: `pass` commits land, then `fail` are refused.
#[derive(Debug, Default, Clone, Copy)]
struct Outage {
    pass: u32,
    fail: u32,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets the next `pass` commits land, then refuses the `fail` after them as
    /// [`LedgerError::Unavailable`] (writing nothing): a storage outage at a chosen moment,
    /// such as just after a gateway call.
    pub fn fail_commits(&self, pass: u32, fail: u32) {
        *self
            .outage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Outage { pass, fail };
    }

    /// Whether this commit is refused by a scripted outage.
    fn refuses_commit(&self) -> bool {
        let mut outage = self
            .outage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if outage.pass > 0 {
            outage.pass -= 1;
            false
        } else if outage.fail > 0 {
            outage.fail -= 1;
            true
        } else {
            false
        }
    }
}

#[async_trait]
impl Ledger for MemoryStore {
    async fn read(
        &self,
        business: &BusinessId,
        read: &LedgerRead<'_>,
    ) -> Result<LedgerSnapshot, LedgerError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(LedgerSnapshot::default());
        };
        let ledgers = tenant.ledgers(read.bookings);
        let key = read.key.and_then(|k| tenant.keys.get(k).cloned());
        let payer = if read.payer {
            read.bookings
                .first()
                .and_then(|b| tenant.bookings.get(b))
                .and_then(|account| tenant.customers.get(&account.customer))
                .map(|customer| (customer.clone(), tenant.sorted_cards(&customer.id)))
        } else {
            None
        };
        Ok(LedgerSnapshot {
            ledgers,
            key,
            payer,
        })
    }

    async fn commit(
        &self,
        business: &BusinessId,
        write: &LedgerWrite,
    ) -> Result<Committed, LedgerError> {
        if self.refuses_commit() {
            return Err(LedgerError::Unavailable("scripted storage outage".into()));
        }
        let mut state = self.state.lock().await;
        let tenant = state.tenants.entry(business.clone()).or_default();
        if let Some(claim) = &write.claim
            && let Some(existing) = tenant.keys.get(&claim.key)
        {
            return Ok(Committed::KeyTaken(Box::new(existing.clone())));
        }
        for (booking, version) in &write.read {
            let current = tenant.versions.get(booking).copied().unwrap_or(0);
            if current != *version {
                return Err(LedgerError::Conflict(format!(
                    "booking {booking} is at version {current}, not {version}"
                )));
            }
        }
        let mut batch = std::collections::HashSet::new();
        for entry in &write.entries {
            if tenant.has_entry(&entry.payment, entry.seq)
                || !batch.insert((entry.payment.clone(), entry.seq))
            {
                return Err(LedgerError::Conflict(format!(
                    "entry {}#{} exists",
                    entry.payment, entry.seq
                )));
            }
        }
        let mut payment_days = Vec::with_capacity(write.payment_days.len());
        for change in &write.payment_days {
            let slot = (change.day, change.totals.currency());
            let kept = tenant.payment_days.get(&slot).map(|kept| kept.totals);
            let totals = match kept {
                Some(kept) => kept
                    .checked_add(&change.totals)
                    .map_err(|e| LedgerError::Unavailable(e.to_string()))?,
                None => change.totals,
            };
            payment_days.push((slot, totals));
        }
        // Checked: everything lands now.
        for ((day, currency), totals) in payment_days {
            tenant
                .payment_days
                .insert((day, currency), PaymentDayTotals { day, totals });
        }
        if let Some(claim) = &write.claim {
            tenant.keys.insert(claim.key.clone(), claim.clone());
        }
        for account in &write.bookings {
            tenant.bookings.insert(account.id.clone(), account.clone());
        }
        // Every booking read that is stored (or was just made) is one version further; a
        // booking read but neither stored nor made stays unknown.
        for (booking, version) in &write.read {
            if tenant.bookings.contains_key(booking) {
                tenant.versions.insert(booking.clone(), version + 1);
            }
        }
        for entry in &write.entries {
            let index = tenant.entries.len();
            for booking in &entry.bookings {
                let indexes = tenant.by_booking.entry(booking.clone()).or_default();
                // An entry naming a booking twice links it once.
                if indexes.last() != Some(&index) {
                    indexes.push(index);
                }
            }
            tenant
                .by_payment
                .entry(entry.payment.clone())
                .or_default()
                .push(index);
            tenant.entries.push(entry.clone());
        }
        for summary in &write.summaries {
            tenant
                .summaries
                .insert(summary.booking.clone(), summary.clone());
        }
        match &write.key {
            Some(KeyUpdate::Complete { key, first_answer }) => {
                if let Some(record) = tenant.keys.get_mut(key) {
                    record.completed = true;
                    if record.first_answer.is_none() {
                        record.first_answer.clone_from(first_answer);
                    }
                }
            }
            Some(KeyUpdate::Release(key)) => {
                tenant.keys.remove(key);
            }
            None => {}
        }
        Ok(Committed::Written)
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
            .filter(|s| filter.matches(s))
            .take(filter.limit as usize)
            .cloned()
            .collect())
    }

    async fn payments_created(
        &self,
        business: &BusinessId,
        query: &PaymentsQuery,
    ) -> Result<Vec<Payment>, LedgerError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        // Each payment's opening entry says when it was created.
        let mut opened: Vec<(DateTime<Utc>, &PaymentId)> = tenant
            .by_payment
            .iter()
            .filter_map(|(payment, indexes)| {
                let opening = indexes
                    .iter()
                    .map(|i| &tenant.entries[*i])
                    .find(|e| e.seq == 0)?;
                Some((opening.at, payment))
            })
            .filter(|(at, payment)| {
                *at >= query.from
                    && *at < query.until
                    && query
                        .after
                        .as_ref()
                        .is_none_or(|(after_at, after_id)| (*at, *payment) > (*after_at, after_id))
            })
            .collect();
        opened.sort();
        opened.truncate(query.limit as usize);
        let entries: Vec<Entry> = opened
            .iter()
            .flat_map(|(_, payment)| tenant.by_payment[*payment].iter())
            .map(|i| tenant.entries[*i].clone())
            .collect();
        fold(&entries).map_err(|e| LedgerError::Corrupt(e.to_string()))
    }

    async fn outstanding(
        &self,
        business: &BusinessId,
        query: &OutstandingQuery,
    ) -> Result<Vec<CustomerOutstanding>, LedgerError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        let mut rows: BTreeMap<(CustomerId, Currency), (Money, u64)> = BTreeMap::new();
        for summary in tenant.summaries.values() {
            let due = summary.balance.balance_due;
            let wanted = query
                .customer
                .as_ref()
                .is_none_or(|c| c == &summary.customer)
                && query.after.as_ref().is_none_or(|(customer, currency)| {
                    (&summary.customer, summary.currency.code()) > (customer, currency.code())
                });
            if !due.is_positive() || !wanted {
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
            .take(query.limit as usize)
            .map(
                |((customer, _), (balance_due, bookings))| CustomerOutstanding {
                    customer,
                    balance_due,
                    bookings,
                },
            )
            .collect())
    }

    async fn outstanding_totals(
        &self,
        business: &BusinessId,
    ) -> Result<Vec<OutstandingTotal>, LedgerError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        let mut totals: BTreeMap<&str, OutstandingTotal> = BTreeMap::new();
        for summary in tenant.summaries.values() {
            let due = summary.balance.balance_due;
            if !due.is_positive() {
                continue;
            }
            let total = totals
                .entry(summary.currency.code())
                .or_insert_with(|| OutstandingTotal {
                    balance_due: Money::zero(due.currency()),
                    bookings: 0,
                });
            total.balance_due = total
                .balance_due
                .checked_add(&due)
                .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
            total.bookings += 1;
        }
        Ok(totals.into_values().collect())
    }

    async fn payment_day_totals(
        &self,
        business: &BusinessId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<PaymentDayTotals>, LedgerError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        // Keyed by (day, currency), and currencies order by their code.
        Ok(tenant
            .payment_days
            .values()
            .filter(|row| row.day >= from && row.day < until && !row.totals.is_zero())
            .copied()
            .collect())
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
        Ok(state
            .tenants
            .get(business)
            .map(|t| t.sorted_cards(customer))
            .unwrap_or_default())
    }
}

mod businesses;
mod connect;
mod log;
mod portal;
mod schedules;
mod staff;

#[cfg(test)]
mod conformance {
    use std::sync::Arc;

    use super::MemoryStore;
    use crate::ports::Store;
    use crate::testkit::StoreFixture;

    struct Memory(Arc<dyn Store>);

    #[async_trait::async_trait]
    impl StoreFixture for Memory {
        async fn store(&self) -> Arc<dyn Store> {
            self.0.clone()
        }
        async fn second_handle(&self) -> Arc<dyn Store> {
            self.0.clone()
        }
    }

    crate::store_conformance!(async { Memory(Arc::new(MemoryStore::new())) });
}
