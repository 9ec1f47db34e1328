//! The notification use cases: [`Notifier`] queues emails and delivers the ones that are due.
//!
//! Queueing and delivering are two steps on purpose. A payment use case only queues (one row
//! in the log, no network), so a slow or broken mail server can never hold up or roll back a
//! payment. A worker calls [`Notifier::deliver_due`] now and then; a message the server refuses
//! for now is tried again later, each wait twice the last ([`DeliveryPolicy`]), until it is
//! sent, refused for good, or out of attempts.

#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::ids::{BusinessId, CustomerId, NotificationId};
use crate::notification::{
    Channel, DeliveryState, MessageError, Notification, NotificationKind, OutboundMessage,
};
use crate::phone::PhoneNumber;
use crate::ports::{
    Clock, DeliveryFailure, DueNotification, IdGenerator, MailError, Mailer, NotificationLog,
    NotificationLogError, OutboundText, TextError, TextSender,
};

/// Why queueing or delivering failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The message could not be sent by any server; nothing was queued.
    #[error("the message cannot be sent: {0}")]
    InvalidMessage(#[from] MessageError),
    /// The notification log failed.
    #[error(transparent)]
    Log(#[from] NotificationLogError),
}

/// How deliveries are paced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// The wait after the first failed attempt; each later wait is twice the one before.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub max_retry: Duration,
    /// How long a claimed message is kept from other workers. It must outlast a batch of sends
    /// (`batch` × the mailer's timeout), or another worker could send a message twice.
    pub lease: Duration,
    /// How many due messages one claim takes.
    pub batch: u32,
}

impl Default for DeliveryPolicy {
    /// Retries after 1, 2, 4, 8... minutes, at most 6 hours apart; batches of 10 under a
    /// 10-minute lease (room for 10 sends of a minute each).
    fn default() -> Self {
        DeliveryPolicy {
            first_retry: Duration::minutes(1),
            max_retry: Duration::hours(6),
            lease: Duration::minutes(10),
            batch: 10,
        }
    }
}

impl DeliveryPolicy {
    /// The wait after `attempts` failed attempts (at least one): `first_retry` doubled for each
    /// attempt after the first, never more than `max_retry`.
    pub fn retry_delay(&self, attempts: u32) -> Duration {
        // 2^30 minutes is beyond any sensible cap; stopping there keeps the multiplication in
        // range.
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_retry
            .checked_mul(1_i32 << doublings)
            .map_or(self.max_retry, |delay| delay.min(self.max_retry))
    }
}

/// What one delivery run did to one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The business it belongs to.
    pub business: BusinessId,
    /// The notification.
    pub notification: NotificationId,
    /// Where its delivery stands now: sent, failed with a retry, or failed for good.
    pub delivery: DeliveryState,
}

/// What a delivery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Every attempt, in the order made.
    pub attempts: Vec<DeliveryAttempt>,
}

impl DeliveryReport {
    /// How many messages were sent.
    pub fn sent(&self) -> usize {
        self.count(|d| matches!(d, DeliveryState::Sent { .. }))
    }

    /// How many failed and will be tried again.
    pub fn retrying(&self) -> usize {
        self.count(|d| {
            matches!(
                d,
                DeliveryState::Failed {
                    retry_at: Some(_),
                    ..
                }
            )
        })
    }

    /// How many failed for good (refused, or out of attempts).
    pub fn given_up(&self) -> usize {
        self.count(|d| matches!(d, DeliveryState::Failed { retry_at: None, .. }))
    }

    fn count(&self, matches: impl Fn(&DeliveryState) -> bool) -> usize {
        self.attempts
            .iter()
            .filter(|a| matches(&a.delivery))
            .count()
    }
}

/// The notification service, over a [`NotificationLog`], a [`Mailer`] and, for texts, a
/// [`TextSender`].
#[derive(Clone)]
pub struct Notifier {
    log: Arc<dyn NotificationLog>,
    mailer: Arc<dyn Mailer>,
    texts: Option<Arc<dyn TextSender>>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    policy: DeliveryPolicy,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier over its ports, with the default [`DeliveryPolicy`].
    pub fn new(
        log: Arc<dyn NotificationLog>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Notifier {
            log,
            mailer,
            texts: None,
            clock,
            ids,
            policy: DeliveryPolicy::default(),
        }
    }

    /// The same notifier, sending texts through `sender`. Without one, a queued text fails
    /// for good ("texts are not set up") rather than waiting forever.
    pub fn with_texts(mut self, sender: Arc<dyn TextSender>) -> Self {
        self.texts = Some(sender);
        self
    }

    /// The same notifier with another policy.
    pub fn with_policy(mut self, policy: DeliveryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Queues a message about `customer` for delivery; nothing is sent now. Refuses
    /// ([`NotifyError::InvalidMessage`]) a message no server could accept, storing nothing.
    pub async fn queue(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        kind: NotificationKind,
        message: OutboundMessage,
    ) -> Result<Notification, NotifyError> {
        message.check()?;
        let notification = Notification::queued(
            self.ids.notification_id(),
            customer.clone(),
            kind,
            &message,
            self.clock.now(),
        );
        self.log
            .record_queued(business, &notification, &message)
            .await?;
        Ok(notification)
    }

    /// A customer's notifications, newest first, at most `limit`.
    pub async fn customer_log(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> Result<Vec<Notification>, NotifyError> {
        Ok(self.log.customer_log(business, customer, limit).await?)
    }

    /// Sends every message due at `now` — of `business`, or of every business — a batch at a
    /// time, and records each outcome at `now`: sent with the server's reply; failed for now,
    /// to be tried again after the policy's backoff; or failed for good, when the server refused
    /// it permanently or `max_attempts` attempts (at least one) have been made.
    ///
    /// A message whose outcome cannot be recorded (the log failed) stays claimed until its lease
    /// runs out and is then sent again: a rare duplicate email is better than a lost receipt.
    pub async fn deliver_due(
        &self,
        business: Option<&BusinessId>,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<DeliveryReport, NotifyError> {
        let max_attempts = max_attempts.max(1);
        let batch = self.policy.batch.max(1);
        let mut report = DeliveryReport::default();
        loop {
            // Claimed messages are leased past `now`, so each round gets new ones and the loop
            // ends when nothing is due.
            let due = self
                .log
                .claim_due(business, now, now + self.policy.lease, batch)
                .await?;
            let last_round = due.len() < batch as usize;
            for item in due {
                let delivery = self.attempt(&item, now, max_attempts).await?;
                report.attempts.push(DeliveryAttempt {
                    business: item.business,
                    notification: item.notification.id,
                    delivery,
                });
            }
            if last_round {
                return Ok(report);
            }
        }
    }

    /// One attempt at one claimed message, recorded in the log.
    async fn attempt(
        &self,
        item: &DueNotification,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<DeliveryState, NotifyError> {
        let id = &item.notification.id;
        if item.attempts >= max_attempts {
            // Attempts ran out under an earlier, larger limit: give up without sending.
            let failure = DeliveryFailure {
                at: now,
                reason: format!("gave up after {} attempts", item.attempts),
                attempts: item.attempts,
                retry_at: None,
            };
            self.log.mark_failed(&item.business, id, &failure).await?;
            return Ok(failed(failure));
        }
        let attempts = item.attempts + 1;
        let sent = match item.notification.channel {
            Channel::Email => self.send_email(&item.message).await,
            Channel::Text => self.send_text(&item.message, now).await?,
        };
        let failure = match sent {
            Ok(reply) => {
                self.log.mark_sent(&item.business, id, now, &reply).await?;
                return Ok(DeliveryState::Sent {
                    at: now,
                    server_reply: reply,
                });
            }
            Err(Refusal::ForNow(reason)) => DeliveryFailure {
                at: now,
                reason,
                attempts,
                retry_at: (attempts < max_attempts)
                    .then(|| now + self.policy.retry_delay(attempts)),
            },
            Err(Refusal::ForGood(reason)) => DeliveryFailure {
                at: now,
                reason,
                attempts,
                retry_at: None,
            },
        };
        self.log.mark_failed(&item.business, id, &failure).await?;
        Ok(failed(failure))
    }

    /// Sends an email: the server's reply, or why not.
    async fn send_email(&self, message: &OutboundMessage) -> Result<String, Refusal> {
        match self.mailer.send(message).await {
            Ok(receipt) => Ok(receipt.server_reply),
            Err(MailError::Temporary(reason)) => Err(Refusal::ForNow(reason)),
            Err(MailError::Permanent(reason)) => Err(Refusal::ForGood(reason)),
        }
    }

    /// Sends a text, unless its number refused texts: the provider's message id, or why not.
    /// A provider that says the number opted out is believed, and remembered.
    async fn send_text(
        &self,
        message: &OutboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Result<String, Refusal>, NotifyError> {
        let Some(sender) = &self.texts else {
            return Ok(Err(Refusal::ForGood("texts are not set up".to_owned())));
        };
        let Ok(to) = PhoneNumber::from_e164(&message.to) else {
            return Ok(Err(Refusal::ForGood(format!(
                "{:?} is not a phone number",
                message.to
            ))));
        };
        if self.log.text_opted_out(&to).await? {
            return Ok(Err(Refusal::ForGood(OPTED_OUT.to_owned())));
        }
        let text = OutboundText {
            to: to.clone(),
            body: message.text_body.clone(),
        };
        Ok(match sender.send(&text).await {
            Ok(receipt) => Ok(receipt.reference),
            Err(TextError::Temporary(reason)) => Err(Refusal::ForNow(reason)),
            Err(TextError::Permanent(reason)) => Err(Refusal::ForGood(reason)),
            Err(TextError::OptedOut(reason)) => {
                self.log.set_text_opt_out(&to, true, now).await?;
                Err(Refusal::ForGood(format!("{OPTED_OUT} ({reason})")))
            }
        })
    }
}

/// Why a text is not sent to a number that replied STOP.
const OPTED_OUT: &str = "the customer replied STOP to texts";

/// Why one attempt did not deliver, whatever the channel.
enum Refusal {
    /// Worth trying again later.
    ForNow(String),
    /// Will never succeed.
    ForGood(String),
}

fn failed(failure: DeliveryFailure) -> DeliveryState {
    DeliveryState::Failed {
        at: failure.at,
        reason: failure.reason,
        attempts: failure.attempts,
        retry_at: failure.retry_at,
    }
}
