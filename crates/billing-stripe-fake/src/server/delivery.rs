//! Delivering events to a webhook endpoint as Stripe does: each event is POSTed, signed
//! (`Stripe-Signature`), in the background, retried with a growing backoff until the endpoint
//! answers 2xx. Deliveries run concurrently, so they can arrive out of order; with
//! [`DeliverySettings`] they can also be delayed at random and repeated, as Stripe may.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::{FakeStripe, Shared, lock};
use crate::state::unix_now;
use crate::webhook::signature_header;

/// How events are delivered to the webhook endpoint (see [`FakeStripe::set_delivery`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// The wait after the first failed attempt; each further failure doubles it.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub retry_max: Duration,
    /// How many attempts an event gets before the fake gives up on it.
    pub max_attempts: u32,
    /// The probability (0 to 1) that an event delivered once is delivered again.
    pub duplicate_rate: f64,
    /// Each delivery (and each repeat) waits a random time up to this before its first
    /// attempt, which shuffles the order in which events arrive.
    pub max_delay: Duration,
    /// How long one attempt may take (connect, send, first line of the answer).
    pub attempt_timeout: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_millis(250),
            retry_max: Duration::from_secs(10),
            max_attempts: 20,
            duplicate_rate: 0.0,
            max_delay: Duration::ZERO,
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// One attempt to deliver an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The event's id (`evt_...`).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// 1 for the first attempt of a delivery, counting up on retries.
    pub attempt: u32,
    /// The status the endpoint answered; `None` when it did not answer.
    pub status: Option<u16>,
    /// Why the attempt failed without an answer (connection refused, timeout, ...).
    pub error: Option<String>,
}

/// Where events go: an `http://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> std::io::Result<Target> {
        let invalid = |why: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("webhook URL {url:?}: {why}"),
            )
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// URLs are delivered to"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let parse_port = |p: &str| p.parse::<u16>().map_err(|_| invalid("invalid port"));
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed ["))?;
                match after.strip_prefix(':') {
                    Some(p) => (host, parse_port(p)?),
                    None if after.is_empty() => (host, 80),
                    None => return Err(invalid("invalid port")),
                }
            }
            None => match authority.split_once(':') {
                Some((host, p)) => (host, parse_port(p)?),
                None => (authority, 80),
            },
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        Ok(Target {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug)]
struct Inner {
    target: Target,
    secret: String,
    settings: Mutex<DeliverySettings>,
    rng: Mutex<StdRng>,
    attempts: Mutex<Vec<DeliveryAttempt>>,
    pending: AtomicUsize,
    shutdown: watch::Receiver<bool>,
}

/// The background delivery of a fake's events.
#[derive(Debug)]
pub(super) struct Delivery {
    queue: mpsc::UnboundedSender<Value>,
    inner: Arc<Inner>,
}

impl Delivery {
    /// Starts delivering to `url`. Must run inside a Tokio runtime.
    pub(super) fn start(
        url: &str,
        secret: String,
        seed: u64,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<Delivery> {
        let inner = Arc::new(Inner {
            target: Target::parse(url)?,
            secret,
            settings: Mutex::new(DeliverySettings::default()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            attempts: Mutex::new(Vec::new()),
            pending: AtomicUsize::new(0),
            shutdown,
        });
        let (queue, mut events) = mpsc::unbounded_channel::<Value>();
        let worker = Arc::clone(&inner);
        tokio::spawn(async move {
            let mut stop = worker.shutdown.clone();
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(event) => {
                            tokio::spawn(deliver(Arc::clone(&worker), event));
                        }
                        None => break,
                    },
                    _ = stop.wait_for(|stopped| *stopped) => break,
                }
            }
        });
        Ok(Delivery { queue, inner })
    }

    /// Queues an event for delivery.
    pub(super) fn enqueue(&self, event: Value) {
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(event).is_err() {
            self.inner.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Inner {
    fn settings(&self) -> DeliverySettings {
        lock(&self.settings).clone()
    }

    fn random_delay(&self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        lock(&self.rng).random_range(Duration::ZERO..=max)
    }

    fn chance(&self, rate: f64) -> bool {
        let rate = rate.clamp(0.0, 1.0);
        rate > 0.0 && lock(&self.rng).random_bool(rate)
    }

    /// Sleeps unless the fake stops first; answers whether it is still running.
    async fn pause(&self, wait: Duration) -> bool {
        let mut stop = self.shutdown.clone();
        if *stop.borrow() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => true,
            _ = stop.wait_for(|stopped| *stopped) => false,
        }
    }
}

/// Delivers one event: after a random delay, attempts until the endpoint takes it, then
/// perhaps once more (a duplicate).
async fn deliver(inner: Arc<Inner>, event: Value) {
    let settings = inner.settings();
    let delivered =
        inner.pause(inner.random_delay(settings.max_delay)).await && attempt(&inner, &event).await;
    if delivered
        && inner.chance(settings.duplicate_rate)
        && inner.pause(inner.random_delay(settings.max_delay)).await
    {
        attempt(&inner, &event).await;
    }
    inner.pending.fetch_sub(1, Ordering::SeqCst);
}

/// Attempts a delivery until it succeeds, the attempts run out or the fake stops.
async fn attempt(inner: &Inner, event: &Value) -> bool {
    let payload = event.to_string();
    let event_id = event["id"].as_str().unwrap_or_default().to_owned();
    let event_type = event["type"].as_str().unwrap_or_default().to_owned();
    let mut backoff = inner.settings().retry_base;
    for number in 1.. {
        let settings = inner.settings();
        // Signed at each attempt, with the time of sending, as Stripe does.
        let signature = signature_header(&payload, &inner.secret, unix_now());
        let result = post(
            &inner.target,
            &payload,
            &signature,
            settings.attempt_timeout,
        )
        .await;
        let (status, error) = match &result {
            Ok(status) => (Some(*status), None),
            Err(err) => (None, Some(err.clone())),
        };
        lock(&inner.attempts).push(DeliveryAttempt {
            event_id: event_id.clone(),
            event_type: event_type.clone(),
            attempt: number,
            status,
            error,
        });
        if matches!(result, Ok(200..=299)) {
            return true;
        }
        if number >= settings.max_attempts {
            tracing::debug!("FakeStripe gave up delivering {event_id} after {number} attempts");
            return false;
        }
        // Full backoff, less a random part of up to a half, so that retries spread out.
        let wait = backoff.saturating_sub(inner.random_delay(backoff / 2));
        if !inner.pause(wait).await {
            return false;
        }
        backoff = backoff.saturating_mul(2).min(settings.retry_max);
    }
    false
}

/// One HTTP/1.1 POST; answers the status of the answer.
async fn post(
    target: &Target,
    payload: &str,
    signature: &str,
    timeout: Duration,
) -> Result<u16, String> {
    let exchange = async {
        let mut stream = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\nAccept: */*; q=0.5, application/xml\r\nCache-Control: no-cache\r\nContent-Type: application/json; charset=utf-8\r\nStripe-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            target.path,
            target.host_header(),
            payload.len()
        );
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        stream
            .write_all(payload.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 1024];
        while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < 8192 {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
        }
        status_of(&answer).ok_or_else(|| "no HTTP answer".to_owned())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

/// The status code of `HTTP/1.1 200 OK\r\n...`.
fn status_of(answer: &[u8]) -> Option<u16> {
    let line = answer.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    words.next().filter(|w| w.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

impl Shared {
    /// The delivery settings, when there is a webhook endpoint.
    pub(super) fn delivery_settings(&self) -> Option<DeliverySettings> {
        self.delivery.as_ref().map(|d| d.inner.settings())
    }

    pub(super) fn set_delivery(&self, settings: DeliverySettings) {
        if let Some(delivery) = &self.delivery {
            *lock(&delivery.inner.settings) = settings;
        }
    }

    pub(super) fn delivery_attempts(&self) -> Vec<DeliveryAttempt> {
        match &self.delivery {
            Some(delivery) => lock(&delivery.inner.attempts).clone(),
            None => Vec::new(),
        }
    }

    pub(super) fn deliveries_pending(&self) -> usize {
        match &self.delivery {
            Some(delivery) => delivery.inner.pending.load(Ordering::SeqCst),
            None => 0,
        }
    }
}

/// Webhook delivery, when the fake was started with a webhook URL.
impl FakeStripe {
    /// Changes how events are delivered to the webhook endpoint (no effect without one).
    pub fn set_delivery(&self, settings: DeliverySettings) {
        self.shared.set_delivery(settings);
    }

    /// Every delivery attempt so far, in the order they ended.
    pub fn delivery_attempts(&self) -> Vec<DeliveryAttempt> {
        self.shared.delivery_attempts()
    }

    /// How many events are still being delivered (queued, delayed or retried).
    pub fn deliveries_pending(&self) -> usize {
        self.shared.deliveries_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let t = Target::parse("http://127.0.0.1:8080/stripe/webhooks?x=1").expect("url");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 8080, "/stripe/webhooks?x=1")
        );
        assert_eq!(t.host_header(), "127.0.0.1:8080");
        let t = Target::parse("http://localhost").expect("url");
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        let t = Target::parse("http://[::1]:9000/hook").expect("url");
        assert_eq!((t.host.as_str(), t.port), ("::1", 9000));
        assert_eq!(t.host_header(), "[::1]:9000");
        assert!(Target::parse("https://example.com/").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://host:port/").is_err());
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_of(b"HTTP/1.1 204 No Content\r\n\r\n"), Some(204));
        assert_eq!(status_of(b"HTTP/1.0 500 Oops\r\n"), Some(500));
        assert_eq!(status_of(b"garbage"), None);
        assert_eq!(status_of(b""), None);
    }
}
