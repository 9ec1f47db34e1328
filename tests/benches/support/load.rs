//! Load generators: a closed loop (each client sends its next request when the last one
//! answered) and an open loop (requests launched at fixed times whatever the others do, latency
//! counted from the time each was due), both charging one booking per request with its own
//! `Idempotency-Key`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use serde_json::Value;

/// One `billingd` as a business sees it.
#[derive(Debug, Clone)]
pub struct Target {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Target {
    /// The service at `base` (`http://127.0.0.1:PORT`) with a business's API key.
    pub fn new(base: &str, api_key: &str) -> Target {
        Target {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("client"),
            base: base.to_owned(),
            key: api_key.to_owned(),
        }
    }

    /// Charges a booking its balance (`POST /v1/bookings/{id}/charges`), under `key`: the status,
    /// and the body when it is not 201.
    pub async fn charge(&self, booking: &str, key: &str) -> Result<StatusCode, String> {
        let answer = self
            .client
            .post(format!("{}/v1/bookings/{booking}/charges", self.base))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = answer.status();
        let body = answer.bytes().await.map_err(|e| e.to_string())?;
        if status == StatusCode::CREATED {
            Ok(status)
        } else {
            Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
        }
    }

    /// Sends a JSON request (with a key when given): the status and the body as JSON.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.expect("the service answers");
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A GET: the status, the time it took, and the body's length.
    pub async fn timed_get(&self, path: &str) -> (StatusCode, Duration, usize) {
        let started = Instant::now();
        let answer = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .expect("the service answers");
        let status = answer.status();
        let body = answer.bytes().await.expect("a body");
        (status, started.elapsed(), body.len())
    }
}

/// Customers with a saved card (`pm_card_visa`), made through HTTP, at most `concurrency` at a
/// time. With a concurrency of 1, a fresh sandbox gives the same gateway ids to the same
/// sequence of customers in any process.
pub async fn customers_with_cards(target: &Target, ids: &[String], concurrency: usize) {
    futures_util::stream::iter(ids)
        .map(|id| async move {
            let (status, body) = target
                .send(
                    reqwest::Method::POST,
                    "/v1/customers",
                    Some(&serde_json::json!({
                        "id": id, "name": format!("Customer {id}"),
                        "email": format!("{id}@example.com"),
                    })),
                    None,
                )
                .await;
            assert!(status.is_success(), "customer {id}: {status} {body}");
            let (status, body) = target
                .send(
                    reqwest::Method::POST,
                    &format!("/v1/customers/{id}/payment-methods"),
                    Some(&serde_json::json!({"payment_method": "pm_card_visa"})),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "card of {id}: {body}");
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<()>>()
        .await;
}

/// Clients sending requests to one service, each charging the next booking of its lane's list.
#[derive(Debug)]
pub struct Lane {
    /// The service.
    pub target: Target,
    /// The bookings to charge, one per request, in order.
    pub bookings: Vec<String>,
    /// How many clients.
    pub clients: usize,
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Run {
    /// Latencies of the requests answered 201, sorted.
    pub latencies: Vec<Duration>,
    /// Requests answered otherwise (or not at all), with the first few answers.
    pub errors: usize,
    /// A few of the errors.
    pub error_samples: Vec<String>,
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Whether a lane ran out of bookings before the time was up.
    pub ran_out: bool,
}

impl Run {
    /// Charges answered 201.
    pub fn charges(&self) -> u64 {
        self.latencies.len() as u64
    }

    /// Charges per second.
    pub fn rate(&self) -> f64 {
        self.charges() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs the lanes' clients for `seconds` (or until their bookings run out). Each request uses
/// the key `{key_prefix}{booking}`.
pub async fn closed_loop(lanes: Vec<Lane>, seconds: f64, key_prefix: &str) -> Run {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let ran_out = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for lane in lanes {
        let bookings = Arc::new(lane.bookings);
        let next = Arc::new(AtomicUsize::new(0));
        for _ in 0..lane.clients {
            let (target, bookings, next) = (lane.target.clone(), bookings.clone(), next.clone());
            let ran_out = ran_out.clone();
            let key_prefix = key_prefix.to_owned();
            clients.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(booking) = bookings.get(n) else {
                        ran_out.store(true, Ordering::Relaxed);
                        break;
                    };
                    let sent = Instant::now();
                    match target
                        .charge(booking, &format!("{key_prefix}{booking}"))
                        .await
                    {
                        Ok(_) => latencies.push(sent.elapsed()),
                        Err(error) => errors.push(error),
                    }
                }
                (latencies, errors)
            }));
        }
    }
    let mut run = Run::default();
    for client in clients {
        let (latencies, errors) = client.await.expect("client task");
        run.latencies.extend(latencies);
        run.errors += errors.len();
        run.error_samples
            .extend(errors.into_iter().take(3 - run.error_samples.len().min(3)));
    }
    run.elapsed = started.elapsed();
    run.latencies.sort();
    run.ran_out = ran_out.load(Ordering::Relaxed);
    run
}

/// What an open-loop run measured.
#[derive(Debug, Default)]
pub struct OpenRun {
    /// Requests launched.
    pub requests: usize,
    /// From the time each was due to its answer, for those answered 201, sorted.
    pub latencies: Vec<Duration>,
    /// Requests answered otherwise.
    pub errors: usize,
    /// A few of the errors.
    pub error_samples: Vec<String>,
    /// Requests whose task began more than a millisecond after it was due.
    pub late: usize,
    /// The longest delay between a request's due time and its task's start.
    pub worst_launch: Duration,
}

/// Launches one charge per booking at `rate` a second, each at its due time in a task of its own
/// (a pacing thread spawns them; a slow answer delays nothing else), and measures each from the
/// time it was due (no coordinated omission).
pub async fn open_loop(
    target: &Target,
    bookings: Vec<String>,
    rate: f64,
    key_prefix: &str,
) -> OpenRun {
    let handle = tokio::runtime::Handle::current();
    let rate = rate.max(0.1);
    let target = target.clone();
    let key_prefix = key_prefix.to_owned();
    let requests = bookings.len();
    let tasks = tokio::task::spawn_blocking(move || {
        let start = Instant::now() + Duration::from_millis(10);
        let mut tasks = Vec::with_capacity(bookings.len());
        for (i, booking) in bookings.into_iter().enumerate() {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                // Pacing: the one place a benchmark sleeps.
                std::thread::sleep(due - now);
            }
            let (target, key) = (target.clone(), format!("{key_prefix}{booking}"));
            tasks.push(handle.spawn(async move {
                let launched = Instant::now().saturating_duration_since(due);
                let answer = target.charge(&booking, &key).await;
                (
                    launched,
                    Instant::now().saturating_duration_since(due),
                    answer,
                )
            }));
        }
        tasks
    })
    .await
    .expect("pacer");
    let mut run = OpenRun {
        requests,
        ..OpenRun::default()
    };
    for task in tasks {
        let (launched, latency, answer) = task.await.expect("request task");
        if launched > Duration::from_millis(1) {
            run.late += 1;
        }
        run.worst_launch = run.worst_launch.max(launched);
        match answer {
            Ok(_) => run.latencies.push(latency),
            Err(error) => {
                run.errors += 1;
                if run.error_samples.len() < 3 {
                    run.error_samples.push(error);
                }
            }
        }
    }
    run.latencies.sort();
    run
}

/// Reads back two preloaded bookings through the service (one paid by check, one not), so that
/// a loader writing rows the store cannot read fails here rather than skews the figures.
pub async fn check_preloaded(target: &Target) {
    let (status, paid) = target
        .send(reqwest::Method::GET, "/v1/bookings/p-0000000", None, None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a preloaded booking reads back: {paid}"
    );
    assert_eq!(paid["status"], "charged_in_full", "{paid}");
    assert_eq!(paid["payments"][0]["state"], "succeeded", "{paid}");
    assert_eq!(paid["paid"], paid["price"], "{paid}");
    let (status, unpaid) = target
        .send(reqwest::Method::GET, "/v1/bookings/p-0000001", None, None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a preloaded booking reads back: {unpaid}"
    );
    assert_eq!(unpaid["status"], "not_charged", "{unpaid}");
    assert_eq!(unpaid["balance_due"], unpaid["price"], "{unpaid}");
}
