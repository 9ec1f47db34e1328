//! Charging many bookings at once: in parallel up to a bound, paced under the gateway's rate
//! limit, each booking with its own result.

use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;

use super::Billing;
use super::commands::{CardPayment, PaymentSource};
use super::moves::Opened;
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::IdempotencyKey;
use crate::ids::BookingId;
use crate::payment::Origin;
use crate::ports::{Clock, GatewayError};
use crate::receipt::Receipt;

/// How bulk charges share the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPacing {
    /// How many bookings of one bulk charge are charged at once.
    pub concurrency: usize,
    /// At most this many gateway calls a second for bulk charges, across every bulk charge of
    /// the service: a token bucket that waits rather than refuses, so that a batch of hundreds
    /// stays under the gateway's rate limit instead of being refused by it half-way.
    pub rate_per_second: NonZeroU32,
    /// How many times one booking's charge is sent when the gateway refuses it as rate limited
    /// (such a refusal did nothing: it goes again after the next token).
    pub attempts: u32,
    /// The most bookings one bulk charge takes.
    pub max_bookings: usize,
}

impl Default for BulkPacing {
    /// 8 at once, 25 a second (Stripe's test-mode limit), 4 attempts, 1,000 bookings.
    fn default() -> Self {
        BulkPacing {
            concurrency: 8,
            rate_per_second: NonZeroU32::new(25).unwrap_or(NonZeroU32::MIN),
            attempts: 4,
            max_bookings: 1000,
        }
    }
}

/// Charge several bookings, each for its balance due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkCharge {
    /// The bookings, each named once.
    pub bookings: Vec<BookingId>,
    /// Which card of each booking's customer.
    pub source: PaymentSource,
    /// The client's key; each booking's charge runs under the key's part for that booking
    /// (`{key}/{booking}`), so the same batch sent again charges nothing twice.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// One booking's result in a bulk charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkChargeResult {
    /// The booking.
    pub booking: BookingId,
    /// Its charge's receipt, or why it was not charged.
    pub result: Result<Receipt, BillingError>,
}

/// The token bucket of bulk charges, on the service's clock.
#[derive(Debug)]
pub(super) struct Pacer {
    rate: f64,
    bucket: Mutex<Option<(f64, DateTime<Utc>)>>,
}

impl Pacer {
    pub(super) fn new(pacing: &BulkPacing) -> Self {
        Pacer {
            rate: f64::from(pacing.rate_per_second.get()),
            bucket: Mutex::new(None),
        }
    }

    /// Takes a token at `now`, or says how long until one is there. The bucket starts full.
    fn try_take(&self, now: DateTime<Utc>) -> Result<(), Duration> {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = bucket.unwrap_or((self.rate, now));
        let elapsed = (now - last).num_microseconds().unwrap_or(i64::MAX).max(0);
        #[allow(clippy::cast_precision_loss)]
        let refilled = (tokens + elapsed as f64 / 1e6 * self.rate).min(self.rate);
        if refilled >= 1.0 {
            *bucket = Some((refilled - 1.0, now));
            Ok(())
        } else {
            *bucket = Some((refilled, now));
            #[allow(clippy::cast_possible_truncation)]
            let wait = ((1.0 - refilled) / self.rate * 1e6).ceil() as i64;
            Err(Duration::microseconds(wait.max(1)))
        }
    }

    /// Waits for a token.
    pub(super) async fn acquire(&self, clock: &dyn Clock) {
        loop {
            let now = clock.now();
            match self.try_take(now) {
                Ok(()) => return,
                Err(wait) => clock.sleep_until(now + wait).await,
            }
        }
    }
}

impl Billing {
    /// Charges several bookings, each for what can be charged, a bounded number at once and
    /// paced under the gateway's rate limit ([`BulkPacing`]). Every booking gets its own
    /// result, in the order asked: one decline does not stop the others. A booking with
    /// nothing to charge, or whose charge is a replay, never waits for the gateway's pace.
    pub async fn charge_many(
        &self,
        business: &Business,
        command: BulkCharge,
    ) -> Result<Vec<BulkChargeResult>, BillingError> {
        self.charge_many_as(business, command, Origin::Command)
            .await
    }

    /// [`Billing::charge_many`] on behalf of `origin` (a staff member of the console): each
    /// charge's history says who made it.
    pub async fn charge_many_as(
        &self,
        business: &Business,
        command: BulkCharge,
        origin: Origin,
    ) -> Result<Vec<BulkChargeResult>, BillingError> {
        let count = command.bookings.len();
        if count == 0 || count > self.policy.bulk.max_bookings {
            return Err(BillingError::InvalidInput(
                "a bulk charge takes 1 to the service's most bookings (1,000 by default)",
            ));
        }
        let mut unique = command.bookings.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != count {
            return Err(BillingError::InvalidInput(
                "a bulk charge names each booking once",
            ));
        }
        let source = &command.source;
        let key = command.idempotency_key.as_ref();
        let origin = &origin;
        Ok(futures_util::stream::iter(command.bookings)
            .map(|booking| async move {
                let result = self
                    .charge_paced(business, &booking, source, key, origin)
                    .await;
                BulkChargeResult { booking, result }
            })
            // `buffered` keeps the order asked while running up to `concurrency` at once.
            .buffered(self.policy.bulk.concurrency.max(1))
            .collect()
            .await)
    }

    /// One booking of a bulk charge: opened first (a booking with nothing to charge is refused
    /// at once), then sent when the pace allows, and sent again after a rate-limited refusal.
    async fn charge_paced(
        &self,
        business: &Business,
        booking: &BookingId,
        source: &PaymentSource,
        batch_key: Option<&IdempotencyKey>,
        origin: &Origin,
    ) -> Result<Receipt, BillingError> {
        let key = batch_key.map(|k| k.part(booking.as_str()));
        let payment = CardPayment {
            booking,
            amount: None,
            source,
            key: key.as_ref(),
            hold: false,
            refuse_duplicates: key.is_none(),
            origin: origin.clone(),
            replacing: None,
            tip: None,
        };
        self.send_paced(business, &payment).await
    }

    /// A charge or hold opened, then sent when the gateway's pace allows, and sent again after
    /// a rate-limited refusal: bulk charges and automation share the pace.
    pub(super) async fn send_paced(
        &self,
        business: &Business,
        payment: &CardPayment<'_>,
    ) -> Result<Receipt, BillingError> {
        let key = payment.key;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let open = match self.open_card_payment(business, payment).await? {
                Opened::Replay(record, fingerprint) => {
                    return self.replay(business, record, &fingerprint).await;
                }
                Opened::New(open) => *open,
            };
            self.pacer.acquire(self.clock.as_ref()).await;
            let result = self.send_opened(business, open, key).await;
            let rate_limited = matches!(
                result,
                Err(BillingError::Gateway {
                    error: GatewayError::RateLimited,
                    ..
                })
            );
            if !rate_limited || attempt >= self.policy.bulk.attempts {
                return result;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_serves_its_rate_then_asks_to_wait() {
        let pacer = Pacer::new(&BulkPacing {
            rate_per_second: NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN),
            ..BulkPacing::default()
        });
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let served = (0..10).filter(|_| pacer.try_take(start).is_ok()).count();
        assert_eq!(served, 4);
        let wait = pacer.try_take(start).err().unwrap_or_default();
        assert!(
            wait > Duration::zero() && wait <= Duration::milliseconds(250),
            "{wait}"
        );
        assert!(pacer.try_take(start + Duration::milliseconds(300)).is_ok());
    }
}
