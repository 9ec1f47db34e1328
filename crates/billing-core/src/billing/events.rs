//! What the gateway tells us (webhook events, or the events read back by the sweep): a verified
//! event about one of our payments brings it in line with the gateway's record
//! ([`Billing::sync_payment`]). Syncing is idempotent, so a repeated, late or out-of-order
//! delivery has no second effect; recent event ids are also remembered to skip the work.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::PaymentId;
use crate::ports::{EventSubject, GatewayError, GatewayEvent};

/// How many recent event ids are remembered.
const SEEN_EVENTS: usize = 10_000;

/// What handling an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventHandled {
    /// The event was handled moments ago (a redelivery): nothing done again.
    Duplicate,
    /// Not about one of our payments (another event type, another platform's payment, an
    /// unknown business): acknowledged, so that the gateway stops sending it.
    Ignored,
    /// The payment it concerns was brought in line with the gateway's record.
    Reconciled,
}

impl EventHandled {
    /// A stable name for logs and acknowledgements.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventHandled::Duplicate => "duplicate",
            EventHandled::Ignored => "ignored",
            EventHandled::Reconciled => "reconciled",
        }
    }
}

/// The latest event ids handled, to skip redeliveries within this process. Bounded: the oldest
/// are forgotten first (reconciling is idempotent anyway, so forgetting is safe).
#[derive(Debug, Default)]
pub(super) struct SeenEvents {
    inner: Mutex<(VecDeque<String>, HashSet<String>)>,
}

impl SeenEvents {
    fn contains(&self, id: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.1.contains(id)
    }

    fn insert(&self, id: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (order, set) = &mut *inner;
        if !set.insert(id.to_owned()) {
            return;
        }
        order.push_back(id.to_owned());
        while order.len() > SEEN_EVENTS {
            if let Some(oldest) = order.pop_front() {
                set.remove(&oldest);
            }
        }
    }
}

impl Billing {
    /// Acts on a verified gateway event: the payment it is about — named by our id, or by the
    /// gateway's (whose record names ours) — is brought in line with the gateway's record
    /// ([`Billing::sync_payment`]) for the business the event names (by its metadata, its
    /// connected account, or — on the platform's own account — the business whose ledger has
    /// the payment).
    ///
    /// # Errors
    /// A payment the gateway could not settle yet ([`BillingError::Gateway`]) or a storage
    /// failure: the gateway should deliver the event again.
    pub async fn handle_event(&self, event: &GatewayEvent) -> Result<EventHandled, BillingError> {
        if self.seen_events.contains(&event.id) {
            return Ok(EventHandled::Duplicate);
        }
        let handled = self.act_on(event).await?;
        self.seen_events.insert(&event.id);
        Ok(handled)
    }

    async fn act_on(&self, event: &GatewayEvent) -> Result<EventHandled, BillingError> {
        let payment = match &event.subject {
            EventSubject::Other => return Ok(EventHandled::Ignored),
            EventSubject::Account { state, created } => {
                return self.account_changed(state, *created).await;
            }
            EventSubject::Payment(payment) | EventSubject::RefundsOf(payment) => payment.clone(),
            EventSubject::GatewayPayment(reference) => {
                match self.ours_at_gateway(event, reference).await? {
                    Some(payment) => payment,
                    None => return Ok(EventHandled::Ignored),
                }
            }
        };
        let Some(business) = self.business_of(event, &payment).await? else {
            return Ok(EventHandled::Ignored);
        };
        match self.sync_payment(&business, &payment).await {
            Ok(_) => Ok(EventHandled::Reconciled),
            Err(BillingError::PaymentNotFound(_)) => Ok(EventHandled::Ignored),
            Err(error) => Err(error),
        }
    }

    /// Our payment id, from the gateway's record of a payment it names by its own id; `None`
    /// for a payment the gateway does not have or we did not make.
    async fn ours_at_gateway(
        &self,
        event: &GatewayEvent,
        reference: &str,
    ) -> Result<Option<PaymentId>, BillingError> {
        let account = match &event.business {
            Some(id) => self
                .store
                .business(id)
                .await?
                .and_then(|b| b.gateway_account)
                .or_else(|| event.account.clone()),
            None => event.account.clone(),
        };
        match self.gateway.payment_record(account, reference).await {
            Ok(record) => Ok(record.payment.payment),
            Err(GatewayError::NotFound(_)) => Ok(None),
            Err(error) => Err(BillingError::Gateway {
                payment: None,
                error,
            }),
        }
    }

    /// The business an event is for.
    async fn business_of(
        &self,
        event: &GatewayEvent,
        payment: &PaymentId,
    ) -> Result<Option<Business>, BillingError> {
        if let Some(id) = &event.business {
            return Ok(self.store.business(id).await?);
        }
        if let Some(account) = &event.account {
            return Ok(self.store.business_by_account(account).await?);
        }
        for business in self
            .store
            .list_businesses()
            .await?
            .into_iter()
            .filter(|b| b.gateway_account.is_none())
        {
            if self
                .store
                .payment_bookings(&business.id, payment)
                .await?
                .is_some()
            {
                return Ok(Some(business));
            }
        }
        Ok(None)
    }
}
