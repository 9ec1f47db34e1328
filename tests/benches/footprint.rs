//! `cargo bench -p billing-blackbox --bench footprint`: what the release `billingd serve` costs
//! on its embedded default (SQLite in a fresh data folder, the sandbox): the time from spawning
//! the process to the first 200 from `/healthz` (median of `BENCH_STARTS` starts; target <=
//! 300 ms), and its idle RSS (`VmRSS`) a second after it answered (target <= 30 MB).
//!
//! Quick check: `BENCH_STARTS=2 cargo bench -p billing-blackbox --bench footprint`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{Settings, ms, percentile};

/// The status line of `GET /healthz`, or `None` when nothing answered.
fn healthz(address: &str) -> Option<String> {
    let host = address.strip_prefix("http://")?;
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_owned)
}

/// `VmRSS` of a process, in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One start: time to the first 200, RSS a second later (kB), and what it printed meanwhile.
fn start_once() -> (Duration, u64, Vec<String>) {
    let data = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut child = Command::new(billing_blackbox::release_billingd_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env_remove("DATABASE_URL")
        .env_remove("STRIPE_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("billingd starts");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = started + Duration::from_secs(30);
    let address = loop {
        let line = receive
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("billingd prints its address");
        if let Some(address) = line.strip_prefix("billingd listening on ") {
            break address.trim().to_owned();
        }
    };
    // It listens: a request waits in the backlog until it is answered, so this loop only
    // repeats if the answer is not yet 200.
    loop {
        if healthz(&address).is_some_and(|status| status.contains(" 200 ")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz answers 200 within 30 s"
        );
    }
    let healthy = started.elapsed();
    // Idle for a second: whatever it prints meanwhile is reported.
    let idle_until = Instant::now() + Duration::from_secs(1);
    let mut printed = Vec::new();
    while let Ok(line) = receive.recv_timeout(idle_until.saturating_duration_since(Instant::now()))
    {
        printed.push(line);
    }
    let rss = rss_kb(child.id()).expect("VmRSS");
    let _ = child.kill();
    let _ = child.wait();
    (healthy, rss, printed)
}

fn main() {
    let mut settings = Settings::new("footprint");
    let starts = settings.number("BENCH_STARTS", 5).max(1);
    billing_blackbox::release_billingd_binary();
    let mut times = Vec::new();
    let mut rss = Vec::new();
    let mut printed = Vec::new();
    for _ in 0..starts {
        let (healthy, kb, lines) = start_once();
        times.push(healthy);
        rss.push(kb);
        printed.extend(lines);
    }
    let each: Vec<String> = times.iter().map(|t| ms(*t)).collect();
    let each_rss: Vec<String> = rss
        .iter()
        .map(|kb| format!("{:.1}", *kb as f64 / 1024.0))
        .collect();
    times.sort();
    rss.sort_unstable();
    support::title(
        "footprint of the release `billingd serve` on SQLite (fresh data folder, sandbox)",
        &settings,
    );
    println!(
        "| starts | spawn to first 200 from /healthz, median (target <= 300 ms) | each | idle RSS \
         a second later, median (target <= 30 MB) | each (MB) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {starts} | {} | {} | {:.1} MB | {} |",
        ms(percentile(&times, 0.5)),
        each.join(", "),
        rss[rss.len() / 2] as f64 / 1024.0,
        each_rss.join(", ")
    );
    if !printed.is_empty() {
        println!("\nprinted while idle: {printed:?}");
    }
}
