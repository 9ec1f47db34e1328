//! Turns per booking, within one process: commands on the same booking read, decide and commit
//! one after the other.
//!
//! Commits are optimistic: one decided from bookings that moved meanwhile is refused, and read
//! and decided again. That costs nothing when bookings are charged one at a time, as they are;
//! but two hundred requests on one booking at once (a double-clicking crowd, a misbehaving
//! client) would each read, lose, and read again, a storm that grows with the square of the
//! crowd. Queued here, they take turns; between processes, the optimistic commit still decides.
//! A turn covers one read-decide-commit, never a gateway call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_lock::{Mutex as AsyncMutex, MutexGuardArc};

use crate::ids::{BookingId, BusinessId};

type Key = (BusinessId, BookingId);

/// The queues, one per booking someone is using (forgotten when nobody is).
#[derive(Debug, Default)]
pub(super) struct Lanes {
    queues: Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>,
}

/// A turn on some bookings' queues; the next in each queue goes when it is dropped.
#[derive(Debug)]
pub(super) struct Turn<'a> {
    lanes: &'a Lanes,
    keys: Vec<Key>,
    held: Vec<MutexGuardArc<()>>,
}

impl Lanes {
    /// Waits for a turn on every one of `bookings` (taken in id order, so that two commands on
    /// overlapping bookings cannot each wait for the other).
    pub(super) async fn turn(&self, business: &BusinessId, bookings: &[BookingId]) -> Turn<'_> {
        let mut ids = bookings.to_vec();
        ids.sort();
        ids.dedup();
        let keys: Vec<Key> = ids.into_iter().map(|b| (business.clone(), b)).collect();
        let queues: Vec<Arc<AsyncMutex<()>>> = {
            let mut map = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            keys.iter()
                .map(|key| Arc::clone(map.entry(key.clone()).or_default()))
                .collect()
        };
        let mut held = Vec::with_capacity(queues.len());
        for queue in queues {
            held.push(queue.lock_arc().await);
        }
        Turn {
            lanes: self,
            keys,
            held,
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.held.clear();
        let mut map = self
            .lanes
            .queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for key in &self.keys {
            // Only the map holds it: nobody waits or holds a turn on this booking any more.
            if map
                .get(key)
                .is_some_and(|queue| Arc::strong_count(queue) == 1)
            {
                map.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> BookingId {
        BookingId::new(text).expect("id")
    }

    #[tokio::test]
    async fn turns_on_one_booking_follow_each_other_and_are_forgotten() {
        let lanes = Lanes::default();
        let acme = BusinessId::new("acme").expect("id");
        let first = lanes.turn(&acme, &[id("b-1"), id("b-2")]).await;
        // Another booking is free.
        drop(lanes.turn(&acme, &[id("b-3")]).await);
        let b2 = [id("b-2")];
        let waiting = lanes.turn(&acme, &b2);
        futures_util::pin_mut!(waiting);
        assert!(futures_util::poll!(&mut waiting).is_pending());
        drop(first);
        let second = waiting.await;
        drop(second);
        assert!(lanes.queues.lock().expect("map").is_empty());
    }
}
