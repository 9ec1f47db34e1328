//! `cargo bench -p billing-blackbox --bench console`: every Ops Console page, signed in as an
//! owner, with `BENCH_CONSOLE_BOOKINGS` (10,000) bookings in the business, ten to a customer.
//! A tenth of them belong to customers with a card (made through HTTP) and are charged through
//! the API in a mix (partly, in full, in full then refunded, held, not at all; one booking has
//! four payments); the rest are preloaded straight into the store, half paid by check. Each page
//! is asked for `BENCH_REQUESTS` (30) times in a row over loopback, measured on the client (an
//! upper bound of the server's time): median and p99 per page. Target: p99 <= 50 ms. A page
//! whose requests took `BENCH_PAGE_SECONDS` (20) in all stops there, after at least 3 (a page
//! that slow misses by far, and the run stays within minutes).
//!
//! On SQLite (the embedded default `billingd serve` runs on), then on a private durable
//! Postgres right after loading (before any ANALYZE, autovacuum off) and after ANALYZE; for a
//! page that misses there, the statements that took the most time during its requests
//! (`pg_stat_statements`). `-- sqlite` or `-- postgres` runs one store only. A page answering
//! 404 (not built yet) is skipped with a note.
//!
//! Quick check: `BENCH_CONSOLE_BOOKINGS=2000 BENCH_REQUESTS=5 cargo bench -p billing-blackbox
//! --bench console -- sqlite`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use billing_blackbox::{Service, Tenant};
use futures_util::StreamExt as _;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use support::load::{Target, check_preloaded, customers_with_cards};
use support::{Settings, ms, percentile, pg, seed, sqlite};

const TARGET: Duration = Duration::from_millis(50);
const PASSWORD: &str = "bench-owner-password-1";
/// Price of the bookings charged through the API, in cents (100.00).
const PRICE: i64 = 10_000;
/// Bookings selected for "Charge selected".
const SELECTED: usize = 50;

/// An owner signed in to the console: the session cookie and the forms' CSRF token.
struct Console {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Console {
    /// Sets the invited owner's password (`POST` to the invitation, answered 303 with the
    /// session cookie), then reads the CSRF token from the bookings list.
    async fn sign_in(service: &Service, tenant: &Tenant) -> Console {
        let invitation = service.add_staff(tenant, "owner@bench.example", "owner");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client");
        let answer = client
            .post(&invitation)
            .header(header::ORIGIN, &service.base_url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("password={PASSWORD}"))
            .send()
            .await
            .expect("the invitation answers");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "the invitation");
        let cookie = answer
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("console_session="))
            .and_then(|v| v.split(';').next())
            .expect("a console_session cookie")
            .to_owned();
        let mut console = Console {
            client,
            base: service.base_url.clone(),
            cookie,
            csrf: String::new(),
        };
        let (status, _, page) = console.get("/console/bookings").await;
        assert_eq!(status, StatusCode::OK, "the bookings list, signed in");
        console.csrf = attribute_after(&page, "name=\"csrf\" value=\"")
            .next()
            .expect("a csrf field in the bookings list");
        console
    }

    /// A GET: the status, the time to the body's last byte, and the body.
    async fn get(&self, path: &str) -> (StatusCode, Duration, String) {
        let request = self.client.get(format!("{}{path}", self.base));
        self.timed(request).await
    }

    /// A form POST (from the console's own origin): the status, the time, and the body.
    async fn post(&self, path: &str, form: &str) -> (StatusCode, Duration, String) {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header(header::ORIGIN, &self.base)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.to_owned());
        self.timed(request).await
    }

    async fn timed(&self, request: reqwest::RequestBuilder) -> (StatusCode, Duration, String) {
        let started = Instant::now();
        let answer = request
            .header(header::COOKIE, &self.cookie)
            .send()
            .await
            .expect("the console answers");
        let status = answer.status();
        let body = answer.text().await.expect("a body");
        (status, started.elapsed(), body)
    }
}

/// The values that follow `prefix` in `page`, each up to its closing quote.
fn attribute_after<'a>(page: &'a str, prefix: &'a str) -> impl Iterator<Item = String> + 'a {
    page.match_indices(prefix).filter_map(move |(at, _)| {
        let rest = &page[at + prefix.len()..];
        rest.find('"').map(|end| rest[..end].to_owned())
    })
}

/// A page to time.
struct Page {
    name: String,
    path: String,
    /// The form of a POST.
    form: Option<String>,
    /// Grows with the data: timed for information.
    information: bool,
}

impl Page {
    fn get(name: &str, path: &str) -> Page {
        Page {
            name: name.to_owned(),
            path: path.to_owned(),
            form: None,
            information: false,
        }
    }
}

/// What one page measured: its sorted times and its size, or why it was skipped.
struct Measured {
    page: Page,
    times: Vec<Duration>,
    bytes: usize,
    skipped: Option<String>,
    /// For a page that misses on Postgres: the statements that took the most time.
    statements: Vec<pg::Counted>,
}

/// The bookings charged through the API: customers `k-0`.. (a card each), bookings `b-0`..
/// (booking `b-i` of customer `k-(i % customers)`), each priced 100.00.
fn api_counts(bookings: u64) -> (u64, u64) {
    let charged = (bookings / 10).max(10);
    (charged, (charged / 10).max(1))
}

/// Charges the API bookings in a mix, two of each per customer: 40.00 (partially charged), in
/// full, in full then refunded, held, none. Booking `b-0` also gets a second charge, a partial
/// refund and a cash collection: four payments in its history.
async fn charge_mix(target: &Target, charged: u64, customers: u64) {
    let charge = |path: String, body: Value| async move {
        let (status, answer) = target.send(Method::POST, &path, Some(&body), None).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
        answer["payment"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    futures_util::stream::iter(0..charged)
        .map(|i| async move {
            let booking = format!("b-{i}");
            let charges = format!("/v1/bookings/{booking}/charges");
            match (i + i / customers) % 5 {
                0 => {
                    let first = charge(charges.clone(), json!({"amount": "40.00"})).await;
                    if i == 0 {
                        charge(charges, json!({"amount": "20.00", "allow_duplicate": true})).await;
                        charge(
                            format!("/v1/payments/{first}/refunds"),
                            json!({"amount": "10.00", "reason": "a window not cleaned"}),
                        )
                        .await;
                        charge(
                            format!("/v1/bookings/{booking}/collections"),
                            json!({"amount": "5.00", "method": "cash"}),
                        )
                        .await;
                    }
                }
                1 => {
                    charge(charges, json!({})).await;
                }
                2 => {
                    let payment = charge(charges, json!({})).await;
                    charge(format!("/v1/payments/{payment}/refunds"), json!({})).await;
                }
                3 => {
                    charge(format!("/v1/bookings/{booking}/authorizations"), json!({})).await;
                }
                _ => {}
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// The pages, once the owner is signed in: the ids they name come from the data.
async fn pages(console: &Console, preloaded: u64) -> Vec<Page> {
    // The deepest full page of the list: the preloaded bookings come last (`p-` after `b-`).
    let deep = preloaded.saturating_sub(60);
    // A fragment of one id only: the search reads the whole list to find it.
    let last = format!("{:07}", preloaded.saturating_sub(1));
    let fragment = &last[2..];
    let (status, _, first) = console.get("/console/bookings").await;
    assert_eq!(status, StatusCode::OK);
    let selected: Vec<String> = attribute_after(&first, "name=\"booking\" value=\"")
        .take(SELECTED)
        .collect();
    assert_eq!(selected.len(), SELECTED, "a first page of {SELECTED}");
    let mut form = format!("csrf={}", console.csrf);
    for booking in &selected {
        form.push_str(&format!("&booking={booking}"));
    }
    let mut pages = vec![
        Page::get("bookings, first page", "/console/bookings"),
        Page::get(
            "bookings, status partially charged",
            "/console/bookings?status=partially_charged",
        ),
        Page::get(
            &format!("bookings, search `{fragment}` (one match)"),
            &format!("/console/bookings?q={fragment}"),
        ),
        Page::get(
            &format!("bookings, deep page (after p-{deep:07})"),
            &format!("/console/bookings?after=p-{deep:07}"),
        ),
        Page::get("a booking with 4 payments (b-0)", "/console/bookings/b-0"),
        Page::get("customers, first page", "/console/customers"),
        Page::get(
            "a customer's profile (k-0: 10 bookings, a card)",
            "/console/customers/k-0",
        ),
        Page::get("reports (the last 30 days)", "/console/reports"),
        Page {
            information: true,
            ..Page::get(
                "reports, outstanding.csv (grows with the data)",
                "/console/reports/outstanding.csv",
            )
        },
        Page::get("settings", "/console/settings"),
    ];
    pages.push(Page {
        name: format!("\"Charge selected\" preview, {SELECTED} bookings (POST)"),
        path: "/console/bookings/bulk".to_owned(),
        form: Some(form),
        information: false,
    });
    pages
}

/// Times each page `requests` times in a row (after one request that checks it answers);
/// on Postgres (`statements` names its database), the statements of a page that misses.
async fn measure(
    console: &Console,
    pages: Vec<Page>,
    (requests, budget): (u64, Duration),
    statements: Option<&str>,
) -> Vec<Measured> {
    let mut measured = Vec::new();
    for page in pages {
        let send = || async {
            match &page.form {
                Some(form) => console.post(&page.path, form).await,
                None => console.get(&page.path).await,
            }
        };
        let (status, _, body) = send().await;
        if status == StatusCode::NOT_FOUND {
            eprintln!("{}: 404, skipped (not built yet?)", page.path);
            measured.push(Measured {
                page,
                times: Vec::new(),
                bytes: 0,
                skipped: Some("answered 404: skipped".to_owned()),
                statements: Vec::new(),
            });
            continue;
        }
        assert_eq!(status, StatusCode::OK, "{}: {body}", page.path);
        if let Some(url) = statements {
            pg::reset_statements(url).await;
        }
        let mut times = Vec::new();
        let started = Instant::now();
        while (times.len() as u64) < requests && (times.len() < 3 || started.elapsed() < budget) {
            let (status, took, _) = send().await;
            assert_eq!(status, StatusCode::OK, "{}", page.path);
            times.push(took);
        }
        times.sort();
        let missed = !page.information && percentile(&times, 0.99) > TARGET;
        let statements = match statements {
            Some(url) if missed => pg::top_statements(url, 3).await,
            _ => Vec::new(),
        };
        measured.push(Measured {
            page,
            times,
            bytes: body.len(),
            skipped: None,
            statements,
        });
    }
    measured
}

/// SQLite: loaded before the service starts, as `billingd serve` would find it.
async fn on_sqlite(bookings: u64, requests: (u64, Duration)) -> (String, Vec<Measured>) {
    let (charged, customers) = api_counts(bookings);
    let preloaded = bookings - charged;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/billing.db?mode=rwc", dir.path().display());
    billing_blackbox::migrate(&url);
    let tenant = billing_blackbox::create_business_on(&url, dir.path(), "Bench Cleaning", &[]);
    let started = Instant::now();
    sqlite::preload(&url, &tenant.business, preloaded).await;
    sqlite::charge_bookings(
        &url,
        &tenant.business,
        "b-",
        charged,
        "k-",
        customers,
        PRICE,
    )
    .await;
    let service = Service::start_on(&url, &[]);
    let target = Target::new(&service.base_url, &tenant.api_key);
    let ids: Vec<String> = (0..customers).map(|i| format!("k-{i}")).collect();
    customers_with_cards(&target, &ids, 8).await;
    charge_mix(&target, charged, customers).await;
    check_preloaded(&target).await;
    let loaded = started.elapsed();
    let console = Console::sign_in(&service, &tenant).await;
    let pages = pages(&console, preloaded).await;
    let measured = measure(&console, pages, requests, None).await;
    let label = format!("SQLite (loaded in {:.1} s)", loaded.as_secs_f64());
    (label, measured)
}

/// Postgres: the service runs while the data comes (as after a migration), measured right after
/// loading and after ANALYZE.
async fn on_postgres(bookings: u64, requests: (u64, Duration)) -> Vec<(String, Vec<Measured>)> {
    let (charged, customers) = api_counts(bookings);
    let preloaded = bookings - charged;
    let server = pg::start();
    let url = pg::database(&server, "bench_console").await;
    let service = Service::start_on(&url, &[]);
    pg::autovacuum(&url, false).await;
    let tenant = service.create_business("Bench Cleaning");
    let target = Target::new(&service.base_url, &tenant.api_key);
    let started = Instant::now();
    let ids: Vec<String> = (0..customers).map(|i| format!("k-{i}")).collect();
    customers_with_cards(&target, &ids, 8).await;
    seed::preload(&url, &tenant.business, preloaded).await;
    seed::charge_bookings(
        &url,
        &tenant.business,
        "b-",
        charged,
        "k-",
        customers,
        PRICE,
    )
    .await;
    charge_mix(&target, charged, customers).await;
    check_preloaded(&target).await;
    let loaded = started.elapsed();
    let console = Console::sign_in(&service, &tenant).await;
    let mut runs = Vec::new();
    for analyzed in [false, true] {
        if analyzed {
            pg::analyze(&url).await;
        }
        let label = format!(
            "Postgres, {} (loaded in {:.1} s)",
            pg::statistics_label(&url, analyzed).await,
            loaded.as_secs_f64()
        );
        let pages = pages(&console, preloaded).await;
        runs.push((label, measure(&console, pages, requests, Some(&url)).await));
    }
    drop(service);
    pg::drop_database(&server, &url).await;
    runs
}

fn main() {
    let mut settings = Settings::new("console");
    let bookings = settings.number("BENCH_CONSOLE_BOOKINGS", 10_000).max(100);
    let requests = settings.number("BENCH_REQUESTS", 30).max(1);
    let budget = Duration::from_secs(settings.number("BENCH_PAGE_SECONDS", 20));
    billing_blackbox::release_billingd_binary();
    let (on_sqlite_store, on_pg) = (settings.runs("sqlite"), settings.runs("postgres"));
    let runs = support::runtime().block_on(async {
        let mut runs = Vec::new();
        if on_sqlite_store {
            runs.push(on_sqlite(bookings, (requests, budget)).await);
        }
        if on_pg {
            runs.extend(on_postgres(bookings, (requests, budget)).await);
        }
        runs
    });

    let (charged, customers) = api_counts(bookings);
    support::title(
        &format!(
            "the Ops Console's pages, signed in as an owner, {bookings} bookings in the \
             business ({} preloaded, half paid by check; {charged} bookings of {customers} \
             customers with a card, charged through the API), {requests} requests in a row per page \
             (fewer past {} s), timed on the client over loopback",
            bookings - charged,
            budget.as_secs()
        ),
        &settings,
    );
    let mut misses = Vec::new();
    for (label, measured) in &runs {
        println!("\n{label}\n");
        println!("| page | requests | median | p99 (target ≤ 50 ms) | | size |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for m in measured {
            if let Some(why) = &m.skipped {
                println!("| {} | | | | {why} | |", m.page.name);
                continue;
            }
            let p99 = percentile(&m.times, 0.99);
            let verdict = if m.page.information {
                "information"
            } else if p99 <= TARGET {
                "PASS"
            } else {
                misses.push((label.clone(), m));
                "MISS"
            };
            println!(
                "| {} | {} | {} | {} | {verdict} | {:.1} kB |",
                m.page.name,
                m.times.len(),
                ms(percentile(&m.times, 0.50)),
                ms(p99),
                m.bytes as f64 / 1000.0
            );
        }
    }
    for (label, m) in misses {
        println!("\nMISS: {} on {label}", m.page.name);
        for s in &m.statements {
            println!(
                "    {:.1} ms in {} calls{}: {}",
                s.total_ms,
                s.calls,
                if s.toplevel { "" } else { " (in a function)" },
                s.query.chars().take(240).collect::<String>()
            );
        }
    }
}
