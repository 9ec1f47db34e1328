//! The webhook campaign: the same changes made at Stripe (captures whole and in two parts, a
//! release, refunds, disputes lost and won, in its dashboard; a hold running out) and the same
//! link payments (one of them authenticated with 3-D Secure by a customer who never comes back
//! to the page), once with every event delivered twice, shuffled and up to 2 s late, and once
//! delivered in order; webhooks are the only way the changes reach `billingd` (its background
//! sweep is off). Both runs must end with the same ledger, each equal to the fake's records,
//! with every link completed once and its emails in the outbox once.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::api::{Api, Fake, dollars};
use super::crash::{self, notifications};
use super::process::{Binaries, FakeProcess, POLL, ServiceConfig, free_port};
use super::rng::Rng;
use super::steps::{self, CUSTOMERS};
use super::{Fallible, ledger};

/// How long the fake may take to deliver every event (late, retried).
const DELIVERY_DEADLINE: Duration = Duration::from_secs(120);

/// How the fake delivers events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Each event twice, in a random order, up to 2 s late.
    Disordered,
    /// Each event once, as it comes.
    InOrder,
}

/// What the webhook campaign found.
#[derive(Debug, Clone, Default)]
pub struct WebhookOutcome {
    /// Its seed.
    pub seed: u64,
    /// Events the fake emitted in the disordered run.
    pub events: usize,
    /// Deliveries (first attempts, repeats included) in the disordered run.
    pub deliveries: usize,
    /// Deliveries that repeated an event already delivered.
    pub repeats: usize,
    /// Deliveries that came before an event emitted earlier.
    pub out_of_order: usize,
    /// Where a run disagrees with the fake's records or with the other run, or a side effect
    /// happened twice.
    pub discrepancies: Vec<String>,
    /// How long both runs took.
    pub elapsed: Duration,
}

/// What one run ended with.
struct RunEnd {
    outline: Vec<String>,
    attempts: Vec<Value>,
    /// The fake's events, oldest first.
    events: Vec<Value>,
}

/// Runs the campaign of `seed` in `dir`: a disordered run, then an in-order one.
pub async fn run(binaries: &Binaries, seed: u64, dir: &Path) -> Fallible<WebhookOutcome> {
    let started = Instant::now();
    let mut outcome = WebhookOutcome {
        seed,
        ..WebhookOutcome::default()
    };
    let disordered = one_run(
        binaries,
        seed,
        &dir.join("disordered"),
        Delivery::Disordered,
        &mut outcome.discrepancies,
    )
    .await?;
    let in_order = one_run(
        binaries,
        seed,
        &dir.join("in-order"),
        Delivery::InOrder,
        &mut outcome.discrepancies,
    )
    .await?;
    for (a, b) in disordered.outline.iter().zip(&in_order.outline) {
        if a != b {
            outcome.discrepancies.push(format!(
                "delivered disordered: {a}\n    delivered in order: {b}"
            ));
        }
    }
    if disordered.outline.len() != in_order.outline.len() {
        outcome.discrepancies.push(format!(
            "{} bookings delivered disordered, {} in order",
            disordered.outline.len(),
            in_order.outline.len()
        ));
    }
    // Each delivery's first attempt, in the order they were made (a repeat is a delivery of
    // an event already delivered), against the order the events were emitted in.
    let emitted: Vec<&str> = disordered
        .events
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    let firsts: Vec<&str> = disordered
        .attempts
        .iter()
        .filter(|a| a["attempt"] == 1)
        .filter_map(|a| a["event_id"].as_str())
        .collect();
    let mut seen: Vec<&str> = Vec::new();
    let mut latest = None;
    for event in &firsts {
        if seen.contains(event) {
            outcome.repeats += 1;
            continue;
        }
        let order = emitted.iter().position(|e| e == event);
        // Delivered after an event emitted later than it.
        if order < latest {
            outcome.out_of_order += 1;
        }
        latest = latest.max(order);
        seen.push(event);
    }
    if seen.len() != emitted.len() {
        outcome.discrepancies.push(format!(
            "delivered disordered: {} events emitted, {} delivered",
            emitted.len(),
            seen.len()
        ));
    }
    outcome.events = emitted.len();
    outcome.deliveries = firsts.len();
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// One run: the changes, the deliveries, then the comparisons.
async fn one_run(
    binaries: &Binaries,
    seed: u64,
    dir: &Path,
    delivery: Delivery,
    problems: &mut Vec<String>,
) -> Fallible<RunEnd> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let port = free_port()?;
    let webhook_url = format!("http://127.0.0.1:{port}/v1/webhooks/stripe");
    let fake_process =
        FakeProcess::start(&binaries.fake, &webhook_url, seed, &dir.join("fake.log"))?;
    let fake = Fake::new(&fake_process.base)?;
    let settings = match delivery {
        Delivery::Disordered => {
            json!({"duplicate_rate": 1.0, "max_delay_ms": 2000, "retry_base_ms": 50, "retry_max_ms": 500})
        }
        Delivery::InOrder => {
            json!({"duplicate_rate": 0.0, "max_delay_ms": 0, "retry_base_ms": 50, "retry_max_ms": 500})
        }
    };
    fake.post("webhooks", settings).await?;
    let config = ServiceConfig {
        binary: binaries.billingd.clone(),
        port,
        data_dir: dir.to_path_buf(),
        database_url: format!("sqlite://{}/billing.db?mode=rwc", dir.display()),
        stripe_api_base: fake_process.base.clone(),
        stripe_secret_key: fake_process.secret_key.clone(),
        webhook_secret: fake_process.webhook_secret.clone(),
        // No sweep: what happens at Stripe reaches the ledger by webhooks alone.
        extra: vec![
            "--reconcile-every-secs".into(),
            "0".into(),
            "--mail-poll-ms".into(),
            "100".into(),
        ],
    };
    config.run(&["migrate"], false)?;
    let created = config.run(
        &[
            "business",
            "create",
            "Webhook Cleaning",
            "--email",
            "owner@webhooks.example",
        ],
        false,
    )?;
    let key = created
        .split_whitespace()
        .find(|w| w.starts_with("bk_"))
        .ok_or_else(|| format!("no API key in {created:?}"))?
        .to_owned();
    let api = Api::new(&config.base(), &key)?;
    let running = config.start(None, "billingd").await?;
    steps::customers(&api).await?;
    let links = changes(&api, &fake, &mut Rng::new(seed), delivery).await?;

    all_delivered(&fake).await?;
    let bookings = api.bookings().await?;
    let state = fake.state().await?;
    crash::keep(dir, "ledger.json", &Value::from(bookings.clone()))?;
    crash::keep(dir, "stripe-state.json", &state)?;
    let label = match delivery {
        Delivery::Disordered => "delivered disordered",
        Delivery::InOrder => "delivered in order",
    };
    for problem in ledger::compare(&bookings, &state)? {
        problems.push(format!("{label}: {problem}"));
    }
    for problem in side_effects_once(&api, dir, &links).await? {
        problems.push(format!("{label}: {problem}"));
    }
    let attempts = fake.delivery_attempts().await?;
    let events = fake.events(&fake_process.secret_key).await?;
    running.stop().await?;
    Ok(RunEnd {
        outline: bookings.iter().map(ledger::outline).collect(),
        attempts,
        events,
    })
}

/// A booking, and the payment a command made on it with its gateway id.
async fn paid(
    api: &Api,
    booking: &str,
    customer: &str,
    price: i64,
    route: &str,
) -> Fallible<(String, String)> {
    api.booking(booking, customer, price).await?;
    let answer = api
        .post(&format!("/v1/bookings/{booking}/{route}"), json!({}))
        .await?
        .expect_ok(route)?;
    let payment = &answer.json["payment"];
    match (
        payment["id"].as_str(),
        payment["gateway_reference"].as_str(),
    ) {
        (Some(id), Some(pi)) => Ok((id.to_owned(), pi.to_owned())),
        _ => Err(format!("{route} of {booking}: {}", answer.text)),
    }
}

/// The changes of a run, the same for a seed: what is done at Stripe (captures, a release,
/// refunds, disputes, a hold running out), and link payments (one refunded in the dashboard
/// afterwards, one authenticated at the card's bank by a customer who never comes back to the
/// page, so that only the webhook completes it). The links made,
/// with their customers.
async fn changes(
    api: &Api,
    fake: &Fake,
    rng: &mut Rng,
    delivery: Delivery,
) -> Fallible<Vec<(String, String)>> {
    let price = |rng: &mut Rng| rng.between(40, 300) * 100 + rng.between(0, 99);
    let who = CUSTOMERS[0].0;
    // In order: every event of a change is delivered before the next change is made (the
    // fake delivers concurrently, so two changes' events could otherwise cross).
    let delivered = || async {
        match delivery {
            Delivery::InOrder => all_delivered(fake).await,
            Delivery::Disordered => Ok(()),
        }
    };

    // A hold captured whole in the dashboard.
    let p = price(rng);
    let (_, pi) = paid(api, "w-captured", who, p, "authorizations").await?;
    delivered().await?;
    fake.post("dashboard/capture", json!({"payment_intent": pi}))
        .await?;

    // A hold captured in two parts there, the second one final.
    let p = price(rng);
    let (_, pi) = paid(api, "w-two-parts", who, p, "authorizations").await?;
    let first = rng.between(50, p / 2);
    delivered().await?;
    fake.post(
        "dashboard/capture",
        json!({"payment_intent": pi, "amount": first, "final_capture": false}),
    )
    .await?;
    let second = rng.between(50, p - first);
    delivered().await?;
    fake.post(
        "dashboard/capture",
        json!({"payment_intent": pi, "amount": second, "final_capture": true}),
    )
    .await?;

    // A hold released there.
    let p = price(rng);
    let (_, pi) = paid(api, "w-released", who, p, "authorizations").await?;
    delivered().await?;
    fake.post("dashboard/cancel", json!({"payment_intent": pi}))
        .await?;

    // A charge refunded in part there, then in part by staff.
    let p = price(rng);
    let (payment, pi) = paid(api, "w-refunded", who, p, "charges").await?;
    let theirs = rng.between(50, p / 2);
    delivered().await?;
    fake.post(
        "dashboard/refund",
        json!({"payment_intent": pi, "amount": theirs}),
    )
    .await?;
    let ours = rng.between(50, p - theirs);
    delivered().await?;
    api.post(
        &format!("/v1/payments/{payment}/refunds"),
        json!({"amount": dollars(ours)}),
    )
    .await?
    .expect_ok("a staff refund")?;

    // Disputes: one lost, one won.
    for (booking, outcome) in [("w-dispute-lost", "lost"), ("w-dispute-won", "won")] {
        let p = price(rng);
        let (_, pi) = paid(api, booking, who, p, "charges").await?;
        delivered().await?;
        let dispute = fake
            .post(
                "disputes",
                json!({"payment": pi, "reason": "product_not_received"}),
            )
            .await?;
        let id = dispute["id"]
            .as_str()
            .ok_or_else(|| format!("a dispute without an id: {dispute}"))?;
        delivered().await?;
        fake.post(&format!("disputes/{id}/close"), json!({"outcome": outcome}))
            .await?;
    }

    // Link payments: the second refunded whole in the dashboard; the third asks for 3-D
    // Secure, and its customer authenticates at the bank but never comes back to the page.
    let mut links = Vec::new();
    for n in 1..=3 {
        let customer = format!("cust-webhook-link-{n}");
        let booking = format!("w-link-{n}");
        let body = json!({"id": customer, "name": "Link Payer", "email": format!("{customer}@example.com")});
        api.post("/v1/customers", body)
            .await?
            .expect_ok("a link's customer")?;
        api.booking(&booking, &customer, price(rng)).await?;
        let issued = api
            .post(
                "/v1/payment-links",
                json!({"customer": customer, "bookings": [booking], "send_email": false}),
            )
            .await?
            .expect_ok("a payment link")?;
        let (Some(link), Some(url)) = (issued.json["id"].as_str(), issued.json["url"].as_str())
        else {
            return Err(format!(
                "a payment link without an id or URL: {}",
                issued.text
            ));
        };
        let card = if n == 3 {
            "pm_card_threeDSecure2Required"
        } else {
            "pm_card_visa"
        };
        delivered().await?;
        let page = api.pay_link(url, card).await?;
        let expected = if n == 3 { 202 } else { 200 };
        if page.status != expected {
            return Err(format!(
                "link {link}: the pay page answered {}, not {expected}",
                page.status
            ));
        }
        if n > 1 {
            let pi = link_intent(api, &booking, link).await?;
            delivered().await?;
            if n == 2 {
                fake.post("dashboard/refund", json!({"payment_intent": pi}))
                    .await?;
            } else {
                fake.post("authenticate", json!({"intent": pi, "success": true}))
                    .await?;
            }
        }
        links.push((link.to_owned(), customer));
    }

    // A hold left to run out: Stripe's clock moves past its 7 days, last, since every hold
    // still open would run out with it.
    let p = price(rng);
    paid(api, "w-expired", who, p, "authorizations").await?;
    delivered().await?;
    fake.post("clock/advance", json!({"seconds": 8 * 24 * 60 * 60}))
        .await?;
    Ok(links)
}

/// The PaymentIntent of the payment made on `link`'s page for `booking`.
async fn link_intent(api: &Api, booking: &str, link: &str) -> Fallible<String> {
    let shown = api
        .get(&format!("/v1/bookings/{booking}"))
        .await?
        .expect_ok("a link's booking")?;
    shown.json["payments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["link"] == link)
        .and_then(|p| p["gateway_reference"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| format!("link {link}: no payment with a gateway id on {booking}"))
}

/// Waits until the fake has no delivery left to make (late or retried), within
/// [`DELIVERY_DEADLINE`].
async fn all_delivered(fake: &Fake) -> Fallible<()> {
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    while fake.deliveries_pending().await? > 0 {
        if Instant::now() > deadline {
            return Err(format!(
                "the fake did not deliver every event within {} s",
                DELIVERY_DEADLINE.as_secs()
            ));
        }
        tokio::time::sleep(POLL * 4).await;
    }
    Ok(())
}

/// Every link completed, once; one receipt and one business notice queued per link, and each
/// email written to the outbox once.
async fn side_effects_once(
    api: &Api,
    dir: &Path,
    links: &[(String, String)],
) -> Fallible<Vec<String>> {
    let mut problems = Vec::new();
    for (link, customer) in links {
        let shown = api
            .get(&format!("/v1/links/{link}"))
            .await?
            .expect_ok("a link")?;
        if shown.json["status"] != "completed" {
            problems.push(format!("link {link} is {}", shown.json["status"]));
        }
        for kind in ["receipt", "business_payment_notice"] {
            let queued = notifications(api, customer, kind).await?;
            if queued != 1 {
                problems.push(format!("link {link}: {queued} {kind} email(s) queued"));
            }
        }
    }
    let expected = links.len() * 2;
    let outbox = dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut written = eml_files(&outbox);
    while written < expected && Instant::now() < deadline {
        tokio::time::sleep(POLL * 4).await;
        written = eml_files(&outbox);
    }
    if written != expected {
        problems.push(format!(
            "{written} email(s) in the outbox, {expected} expected"
        ));
    }
    Ok(problems)
}

/// How many `.eml` files the outbox holds.
fn eml_files(outbox: &Path) -> usize {
    std::fs::read_dir(outbox)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}
