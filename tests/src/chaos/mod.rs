//! The crash campaign and the webhook campaign (`cargo xtask chaos`, docs/reliability.md).
//!
//! The crash campaign runs `billingd` against the fake Stripe as a process of its own, kills
//! it (`kill -9`) at each recovery point of each money move (`BILLINGD_CHAOS_PAUSE`), starts it
//! again on the same database, and at the end of each run reconciles and compares the ledger
//! with the fake's records ([`crash`], [`ledger`]). The webhook campaign makes the same changes
//! at Stripe twice, with events delivered twice, shuffled and late, then in order, and
//! compares both ledgers ([`webhooks`]). Every choice comes from a seed ([`rng`]).

pub mod api;
pub mod crash;
pub mod ledger;
pub mod process;
pub mod rng;
pub mod steps;
pub mod webhooks;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crash::RunOutcome;
use process::Binaries;
use steps::{Kind, Point};
use webhooks::WebhookOutcome;

/// A campaign's result: the value, or what went wrong in words.
pub type Fallible<T> = Result<T, String>;

/// What `cargo xtask chaos` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Crash runs (each kills `billingd` once at every recovery point of every operation).
    pub runs: u64,
    /// The first run's seed; run `n` has `seed + n`.
    pub seed: u64,
    /// Runs at once.
    pub jobs: usize,
    /// Skip the webhook campaign.
    pub no_webhooks: bool,
    /// Keep the runs' folders (databases, logs, what was compared) even when all agreed.
    pub keep: bool,
}

/// The usage line.
pub const USAGE: &str = "usage: chaos [--runs N] [--seed S] [--jobs J] [--no-webhooks] [--keep]

  --runs N        crash runs; each kills billingd at every recovery point of every
                  operation once (14 kills), default 8
  --seed S        the first run's seed (run n has S + n); default: from the clock, printed
  --jobs J        runs at once, default 4 (a run mostly waits: for the gateway, for
                  restarts, and a minute for Stripe's search to see a payment)
  --no-webhooks   skip the webhook campaign
  --keep          keep every run's folder (database, logs, ledger.json and
                  stripe-state.json), not only when something disagreed";

impl Options {
    /// Reads the command line.
    pub fn parse(args: &[String]) -> Fallible<Options> {
        let mut options = Options {
            runs: 8,
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs() % 100_000),
            jobs: 4,
            no_webhooks: false,
            keep: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Fallible<u64> {
                let value = args.next().ok_or_else(|| format!("{name} needs a value"))?;
                value
                    .parse()
                    .map_err(|_| format!("{name}: not a whole number: {value}"))
            };
            match arg.as_str() {
                "--runs" => options.runs = number("--runs")?,
                "--seed" => options.seed = number("--seed")?,
                "--jobs" => {
                    options.jobs = usize::try_from(number("--jobs")?.max(1)).unwrap_or(1);
                }
                "--no-webhooks" => options.no_webhooks = true,
                "--keep" => options.keep = true,
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

/// Runs both campaigns, prints their tables, and fails when anything disagreed.
pub async fn main(options: Options) -> Fallible<()> {
    let binaries = Binaries::from_env()?;
    let work = tempfile::Builder::new()
        .prefix("billing-chaos-")
        .tempdir()
        .map_err(|e| format!("no temporary folder: {e}"))?;
    let started = Instant::now();
    println!(
        "crash campaign: {} run(s) from seed {}, {} at once; logs in {}",
        options.runs,
        options.seed,
        options.jobs,
        work.path().display()
    );
    let runs = crash_runs(&binaries, &options, work.path().to_path_buf()).await;
    let crash_time = started.elapsed();
    let webhook = if options.no_webhooks {
        None
    } else {
        let dir = work.path().join("webhooks");
        Some(webhooks::run(&binaries, options.seed, &dir).await)
    };
    let (report, failed) = report(&options, &runs, webhook.as_ref(), crash_time);
    println!("{report}");
    if failed {
        let kept = work.keep();
        Err(format!(
            "the campaign found problems (logs kept in {})",
            kept.display()
        ))
    } else {
        if options.keep {
            println!("logs kept in {}", work.keep().display());
        }
        Ok(())
    }
}

/// Every crash run, `jobs` at once, in seed order.
async fn crash_runs(
    binaries: &Binaries,
    options: &Options,
    work: PathBuf,
) -> Vec<(u64, Fallible<RunOutcome>)> {
    let limit = Arc::new(tokio::sync::Semaphore::new(options.jobs));
    let mut tasks = Vec::new();
    for n in 0..options.runs {
        let seed = options.seed.wrapping_add(n);
        let (binaries, limit) = (binaries.clone(), Arc::clone(&limit));
        let dir = work.join(format!("run-{seed}"));
        tasks.push(tokio::spawn(async move {
            let _turn = limit.acquire_owned().await;
            if let Err(error) = std::fs::create_dir_all(&dir) {
                return (seed, Err(format!("{}: {error}", dir.display())));
            }
            let outcome = crash::run(&binaries, seed, &dir).await;
            match &outcome {
                Ok(run) => println!(
                    "  run {seed}: {} kills, {} requests repeated, {} payments, {} discrepancies, {} missed pauses, {:.0} s",
                    run.kills.len(),
                    run.retries,
                    run.payments,
                    run.discrepancies.len(),
                    run.missed.len(),
                    run.elapsed.as_secs_f64()
                ),
                Err(error) => println!("  run {seed}: failed: {error}"),
            }
            (seed, outcome)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        match task.await {
            Ok(result) => results.push(result),
            Err(error) => results.push((0, Err(format!("a run's task failed: {error}")))),
        }
    }
    results
}

/// The tables, and whether anything failed.
fn report(
    options: &Options,
    runs: &[(u64, Fallible<RunOutcome>)],
    webhook: Option<&Fallible<WebhookOutcome>>,
    crash_time: Duration,
) -> (String, bool) {
    let mut out = String::new();
    let mut failed = false;
    let mut per_point: BTreeMap<(Kind, Point), usize> = BTreeMap::new();
    let (mut kills, mut elsewhere, mut payments, mut discrepancies, mut missed) = (0, 0, 0, 0, 0);
    let mut retries = 0;
    let mut details = String::new();
    for (seed, run) in runs {
        match run {
            Ok(run) => {
                for kill in &run.kills {
                    *per_point.entry((kill.kind, kill.point)).or_default() += 1;
                    kills += 1;
                    elsewhere += usize::from(!kill.own);
                }
                payments += run.payments;
                retries += run.retries;
                discrepancies += run.discrepancies.len();
                missed += run.missed.len();
                for problem in run.discrepancies.iter().chain(&run.missed) {
                    let _ = writeln!(details, "  run {seed}: {problem}");
                }
            }
            Err(error) => {
                failed = true;
                let _ = writeln!(details, "  run {seed} did not finish: {error}");
            }
        }
    }
    failed |= discrepancies > 0 || missed > 0;
    let _ = writeln!(
        out,
        "\ncrash campaign: `cargo xtask chaos --runs {} --seed {} --jobs {}`, {:.0} s\n",
        options.runs,
        options.seed,
        options.jobs,
        crash_time.as_secs_f64()
    );
    let _ = writeln!(out, "| kills          | before_gateway | after_gateway |");
    let _ = writeln!(out, "|----------------|---------------:|--------------:|");
    for kind in Kind::ALL {
        let count = |point| per_point.get(&(kind, point)).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "| {:<14} | {:>14} | {:>13} |",
            kind.label(),
            count(Point::BeforeGateway),
            count(Point::AfterGateway)
        );
    }
    let total = |point| {
        per_point
            .iter()
            .filter(|((_, p), _)| *p == point)
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    let _ = writeln!(
        out,
        "| {:<14} | {:>14} | {:>13} |",
        "all",
        total(Point::BeforeGateway),
        total(Point::AfterGateway)
    );
    let finished = runs.iter().filter(|(_, r)| r.is_ok()).count();
    let _ = writeln!(
        out,
        "\n| runs | kills | requests repeated after a kill | payments compared | missed pauses | discrepancies |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {finished} of {} | {kills} | {retries} | {payments} | {missed} | {discrepancies} |",
        runs.len()
    );
    if elsewhere > 0 {
        let _ = writeln!(
            out,
            "\n{elsewhere} kill(s) paused at a call of the reconciler or of a webhook rather than the step's own request"
        );
    }
    match webhook {
        None => {}
        Some(Ok(w)) => {
            failed |= !w.discrepancies.is_empty();
            let _ = writeln!(
                out,
                "\nwebhook campaign (seed {}): {} events, {} deliveries in the disordered run ({} repeats, {} out of order), {:.0} s; same final ledger as in order and as Stripe's records, links completed and emails written once: {}; discrepancies: {}",
                w.seed,
                w.events,
                w.deliveries,
                w.repeats,
                w.out_of_order,
                w.elapsed.as_secs_f64(),
                if w.discrepancies.is_empty() {
                    "yes"
                } else {
                    "NO"
                },
                w.discrepancies.len()
            );
            for problem in &w.discrepancies {
                let _ = writeln!(details, "  webhooks: {problem}");
            }
        }
        Some(Err(error)) => {
            failed = true;
            let _ = writeln!(details, "  the webhook campaign did not finish: {error}");
        }
    }
    if !details.is_empty() {
        let _ = write!(out, "\nproblems:\n{details}");
    }
    (out, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_command_line() {
        let options = Options::parse(&args("--runs 3 --seed 42 --jobs 4")).expect("parses");
        assert_eq!((options.runs, options.seed, options.jobs), (3, 42, 4));
        assert!(!options.no_webhooks);
        assert!(Options::parse(&args("--runs")).is_err());
        assert!(Options::parse(&args("--runs many")).is_err());
        assert!(Options::parse(&args("--colour")).is_err());
    }

    #[test]
    fn a_discrepancy_fails_the_campaign() {
        let options = Options::parse(&args("--runs 1 --seed 1")).expect("parses");
        let clean = RunOutcome::default();
        let (_, failed) = report(&options, &[(1, Ok(clean.clone()))], None, Duration::ZERO);
        assert!(!failed);
        let dirty = RunOutcome {
            discrepancies: vec!["booking b1 charged twice".into()],
            ..clean
        };
        let (text, failed) = report(&options, &[(1, Ok(dirty))], None, Duration::ZERO);
        assert!(failed);
        assert!(text.contains("charged twice"), "{text}");
    }
}
