//! One run of the crash campaign: a fake Stripe of its own, one database, and `billingd`
//! killed (`kill -9`) at every recovery point of every operation, once each, in a seeded
//! order; restarted on the same database after each kill; at the end, reconciled until
//! nothing is pending and compared with the fake's records.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::api::{Api, Fake};
use super::process::{Binaries, FakeProcess, POLL, ServiceConfig, free_port, log_tail};
use super::rng::Rng;
use super::steps::{self, Kind, Point, Prepared};
use super::{Fallible, ledger};

/// How long an armed `billingd` may take to reach its pause once asked.
const MARKER_DEADLINE: Duration = Duration::from_secs(45);
/// How long a client's repeat of a killed request may take to be answered.
const RETRY_DEADLINE: Duration = Duration::from_secs(60);
/// How long the end of a run may take to settle everything (a link's payment never sent to
/// the gateway can only be given up past Stripe's search lag, a minute).
const SETTLE_DEADLINE: Duration = Duration::from_secs(240);

/// One kill.
#[derive(Debug, Clone)]
pub struct Kill {
    /// The operation running.
    pub kind: Kind,
    /// The point armed.
    pub point: Point,
    /// The marker `billingd` printed (`after_gateway capture #1 (pay_...)`).
    pub marker: String,
    /// Whether the call that paused was the step's own request (not a reconciler's resend or
    /// a webhook's sync of an earlier payment).
    pub own: bool,
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// Every kill.
    pub kills: Vec<Kill>,
    /// Steps whose pause never came (the campaign's own failure).
    pub missed: Vec<String>,
    /// Where the ledger and the gateway disagree, or a side effect happened twice.
    pub discrepancies: Vec<String>,
    /// How many payments the ledger ended with.
    pub payments: usize,
    /// Steps whose request the client sent again after the restart.
    pub retries: usize,
    /// How long it took.
    pub elapsed: Duration,
}

/// Every (operation, point) once, in a seeded order; the link payment left before the gateway
/// goes first, since it can only be given up a minute after it was made.
fn schedule(rng: &mut Rng) -> Vec<(Kind, Point)> {
    let mut plan: Vec<(Kind, Point)> = Kind::ALL
        .iter()
        .flat_map(|k| Point::ALL.iter().map(move |p| (*k, *p)))
        .collect();
    rng.shuffle(&mut plan);
    if let Some(at) = plan
        .iter()
        .position(|s| *s == (Kind::LinkPayment, Point::BeforeGateway))
    {
        let first = plan.remove(at);
        plan.insert(0, first);
    }
    plan
}

/// Runs one crash run of `seed` in `dir`.
pub async fn run(binaries: &Binaries, seed: u64, dir: &Path) -> Fallible<RunOutcome> {
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let port = free_port()?;
    let webhook_url = format!("http://127.0.0.1:{port}/v1/webhooks/stripe");
    let fake_process =
        FakeProcess::start(&binaries.fake, &webhook_url, seed, &dir.join("fake.log"))?;
    let fake = Fake::new(&fake_process.base)?;
    // Deliveries are late (up to 300 ms), so that most reach a process after the kill, and
    // retried every half second at most while `billingd` is down.
    fake.post(
        "webhooks",
        json!({"retry_base_ms": 50, "retry_max_ms": 500, "max_attempts": 10_000, "max_delay_ms": rng.between(0, 300)}),
    )
    .await?;
    // Random gateway latency and lost answers on every API request `billingd` makes.
    fake.post(
        "chaos",
        json!({"latency_min_ms": 0, "latency_max_ms": rng.between(5, 40), "lost_response_rate": 0.1, "seed": rng.next_u64() % 1_000_000}),
    )
    .await?;
    let config = ServiceConfig {
        binary: binaries.billingd.clone(),
        port,
        data_dir: dir.to_path_buf(),
        database_url: format!("sqlite://{}/billing.db?mode=rwc", dir.display()),
        stripe_api_base: fake_process.base.clone(),
        stripe_secret_key: fake_process.secret_key.clone(),
        webhook_secret: fake_process.webhook_secret.clone(),
        // The background sweep stays on its defaults: what matters here is what a restart,
        // webhooks and `billingd reconcile` settle.
        extra: Vec::new(),
    };
    config.run(&["migrate"], false)?;
    let created = config.run(
        &[
            "business",
            "create",
            "Chaos Cleaning",
            "--email",
            "owner@chaos.example",
        ],
        false,
    )?;
    let key = created
        .split_whitespace()
        .find(|w| w.starts_with("bk_"))
        .ok_or_else(|| format!("no API key in {created:?}"))?
        .to_owned();
    let api = Api::new(&config.base(), &key)?;

    let plan = schedule(&mut rng);
    let mut outcome = RunOutcome::default();
    let mut running = config.start(None, "billingd-00-start").await?;
    steps::customers(&api).await?;
    let mut prepared = Vec::new();
    let mut next = Some(steps::prepare(&api, &mut rng, 1, plan[0].0, plan[0].1).await?);
    let mut number = 0;
    while let Some(step) = next.take() {
        number += 1;
        running.stop().await?;
        let kill = kill_at(&config, &api, &step, number, &mut outcome).await?;
        outcome.kills.extend(kill);
        // Restarted without the variable: it recovers, and prepares the next step.
        running = config
            .start(None, &format!("billingd-{number:02}-restart"))
            .await?;
        // Half the time the client, which got no answer, sends the same request again (the
        // same Idempotency-Key; the customer presses "Pay" again): the restarted process
        // must settle or refuse it, never move the money a second time.
        if rng.chance(50) {
            outcome.retries += 1;
            if let Some(problem) = retry(&api, &step, number).await {
                outcome.discrepancies.push(problem);
            }
        }
        if let Some((kind, point)) = plan.get(number) {
            next = Some(steps::prepare(&api, &mut rng, number + 1, *kind, *point).await?);
        }
        prepared.push(step);
    }
    let settled = settle(&config, &api, &fake).await;
    let bookings = api.bookings().await?;
    let state = fake.state().await?;
    let links = links_once(&api, &prepared, &bookings).await?;
    running.stop().await?;
    keep(dir, "ledger.json", &Value::from(bookings.clone()))?;
    keep(dir, "stripe-state.json", &state)?;
    if let Err(error) = settled {
        outcome.discrepancies.push(error);
    }
    outcome
        .discrepancies
        .extend(ledger::compare(&bookings, &state)?);
    outcome.discrepancies.extend(links);
    for kill in &mut outcome.kills {
        kill.own = paused_own_call(kill, &prepared, &bookings);
    }
    outcome.payments = bookings
        .iter()
        .map(|b| b["payments"].as_array().map_or(0, Vec::len))
        .sum();
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Writes what was compared into the run's folder, to read when a run disagrees.
pub fn keep(dir: &Path, name: &str, value: &Value) -> Fallible<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts `billingd` armed for the step, sends its request, waits for the marker, and kills
/// the process there. `None` (and a missed step) when the pause never came.
async fn kill_at(
    config: &ServiceConfig,
    api: &Api,
    step: &Prepared,
    number: usize,
    outcome: &mut RunOutcome,
) -> Fallible<Option<Kill>> {
    let pause = step.pause();
    let mut armed = config
        .start(Some(&pause), &format!("billingd-{number:02}-armed"))
        .await?;
    let request = {
        let (api, step) = (api.clone(), step.clone());
        tokio::spawn(async move { step.send(&api).await })
    };
    let marker = armed.marker(MARKER_DEADLINE).await;
    let answered = request.is_finished();
    request.abort();
    let log = armed.log().to_path_buf();
    armed.kill();
    Ok(match marker {
        Some(marker) => Some(Kill {
            kind: step.kind,
            point: step.point,
            marker,
            own: false,
        }),
        None => {
            outcome.missed.push(format!(
                "step {number} ({} {}, {pause}): no pause within {} s (request answered: {answered}):\n{}",
                step.kind.label(),
                step.point.name(),
                MARKER_DEADLINE.as_secs(),
                log_tail(&log)
            ));
            None
        }
    })
}

/// Sends a killed step's request again to the restarted process: any answer but a server
/// error will do (the comparison at the end judges the money); a problem otherwise.
async fn retry(api: &Api, step: &Prepared, number: usize) -> Option<String> {
    let what = format!(
        "step {number} ({} {})",
        step.kind.label(),
        step.point.name()
    );
    match tokio::time::timeout(RETRY_DEADLINE, step.send(api)).await {
        Ok(Ok(answer)) if answer.status >= 500 => Some(format!(
            "{what}: the client's repeat was answered {} {}",
            answer.status, answer.text
        )),
        Ok(Ok(_)) => None,
        Ok(Err(error)) => Some(format!("{what}: the client's repeat: {error}")),
        Err(_) => Some(format!(
            "{what}: the client's repeat had no answer within {} s",
            RETRY_DEADLINE.as_secs()
        )),
    }
}

/// Reconciles until no payment is pending and the fake has delivered every event, with
/// `billingd reconcile` (every payment, however recent) beside the running service.
async fn settle(config: &ServiceConfig, api: &Api, fake: &Fake) -> Fallible<()> {
    let deadline = Instant::now() + SETTLE_DEADLINE;
    let mut last_reconcile = String::new();
    loop {
        let pending = pending_payments(api).await?;
        let deliveries = fake.deliveries_pending().await?;
        if pending.is_empty() && deliveries == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not settled within {} s: pending {pending:?}, {deliveries} webhook deliveries to go; last `billingd reconcile`: {last_reconcile}",
                SETTLE_DEADLINE.as_secs()
            ));
        }
        if !pending.is_empty() {
            last_reconcile = match config.run(&["reconcile", "--older-than-secs", "0"], true) {
                Ok(out) | Err(out) => out,
            };
        }
        // Each `billingd reconcile` is a process of its own: not more than one every 2 s.
        tokio::time::sleep(POLL * 80).await;
    }
}

/// The payments the ledger still has in flight.
async fn pending_payments(api: &Api) -> Fallible<Vec<String>> {
    let page = api
        .get("/v1/bookings?pending=true&limit=500")
        .await?
        .expect_ok("the pending bookings")?;
    let mut pending = Vec::new();
    for summary in page.json["data"].as_array().into_iter().flatten() {
        let id = summary["id"].as_str().unwrap_or_default();
        let booking = api
            .get(&format!("/v1/bookings/{id}"))
            .await?
            .expect_ok("a booking")?;
        for p in booking.json["payments"].as_array().into_iter().flatten() {
            if matches!(p["state"].as_str(), Some("pending" | "requires_action"))
                && p["kind"] != "dispute"
            {
                pending.push(p["id"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    Ok(pending)
}

/// A link is completed exactly when its payment succeeded, and its customer got one receipt
/// (and the business one notice) for it, or none.
async fn links_once(api: &Api, steps: &[Prepared], bookings: &[Value]) -> Fallible<Vec<String>> {
    let mut problems = Vec::new();
    for step in steps {
        let Some(link) = &step.link else { continue };
        let Some(booking) = bookings.iter().find(|b| b["id"] == step.bookings[0]) else {
            problems.push(format!("link {link}: its booking is gone"));
            continue;
        };
        let succeeded: Vec<&Value> = booking["payments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["link"] == link.as_str() && p["state"] == "succeeded")
            .collect();
        let answer = api
            .get(&format!("/v1/links/{link}"))
            .await?
            .expect_ok("a link")?;
        let completed = answer.json["status"] == "completed";
        let customer = booking["customer"].as_str().unwrap_or_default();
        let receipts = notifications(api, customer, "receipt").await?;
        let notices = notifications(api, customer, "business_payment_notice").await?;
        let expected = usize::from(completed);
        if completed != (succeeded.len() == 1) || succeeded.len() > 1 {
            problems.push(format!(
                "link {link} is {} with {} succeeded payment(s)",
                answer.json["status"],
                succeeded.len()
            ));
        }
        if receipts != expected || notices != expected {
            problems.push(format!(
                "link {link} ({}): {receipts} receipt(s) and {notices} business notice(s), {expected} of each expected",
                answer.json["status"]
            ));
        }
    }
    Ok(problems)
}

/// How many emails of `kind` were queued about `customer`.
pub async fn notifications(api: &Api, customer: &str, kind: &str) -> Fallible<usize> {
    let answer = api
        .get(&format!("/v1/customers/{customer}/notifications"))
        .await?
        .expect_ok("notifications")?;
    Ok(answer.json["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == kind)
        .count())
}

/// Whether the call that paused named a payment of the step's own bookings (the marker ends
/// with the payment's id, or the hold's gateway id for a release).
fn paused_own_call(kill: &Kill, steps: &[Prepared], bookings: &[Value]) -> bool {
    let Some(subject) = kill
        .marker
        .rsplit_once('(')
        .map(|(_, s)| s.trim_end_matches(')'))
    else {
        return false;
    };
    let Some(step) = steps
        .iter()
        .find(|s| s.kind == kill.kind && s.point == kill.point)
    else {
        return false;
    };
    bookings
        .iter()
        .filter(|b| {
            step.bookings
                .iter()
                .any(|id| b["id"].as_str() == Some(id.as_str()))
        })
        .flat_map(|b| b["payments"].as_array().into_iter().flatten())
        .any(|p| p["id"] == subject || p["gateway_reference"] == subject)
}
