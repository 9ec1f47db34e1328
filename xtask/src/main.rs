//! The project's own tasks: `cargo xtask ci | test | tidy | chaos [--runs N] [--seed S] | bench [core|storage|http|sqlite|report|footprint|bulk] | db start|stop`.
#![forbid(unsafe_code)]

mod tidy;

use std::env;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci(),
        ["test", rest @ ..] => test(rest),
        ["tidy"] => tidy::tidy(),
        ["chaos", rest @ ..] => chaos(rest),
        ["bench"] => bench("all"),
        ["bench", which] => bench(which),
        ["db", "start"] => run(
            "cargo",
            &[
                "run",
                "-q",
                "-p",
                "billing-testservers",
                "--bin",
                "testdb",
                "start",
            ],
        ),
        ["db", "stop"] => run(
            "cargo",
            &[
                "run",
                "-q",
                "-p",
                "billing-testservers",
                "--bin",
                "testdb",
                "stop",
            ],
        ),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n  ci                 fmt check, clippy -D warnings, tidy, every test and doc test, and the\n                     chaos campaigns (8 runs: 112 kills)\n  test [ARGS]        every test (nextest when installed) and doc test\n  tidy               architecture rules: billing-core's allow-list, dependency directions\n                     between the crates, no source file over 800 lines\n  chaos [ARGS]       the crash campaign (billingd killed at every recovery point, restarted,\n                     compared with the fake Stripe's records) and the webhook campaign;\n                     --runs N (14 kills each, default 8), --seed S, --jobs J (default 4),\n                     --no-webhooks, --keep\n  bench [NAME]       benchmarks: core, storage, http, sqlite, report, footprint, bulk, or all\n                     (figures go into docs/benchmarks.md)\n  db start|stop      a local Postgres for development (prints DATABASE_URL)"
            );
            Err("unknown task".to_owned())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ci() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    tidy::tidy()?;
    test(&[])?;
    chaos(&CI_CHAOS)
}

/// What `cargo xtask ci` runs of the campaigns: 8 runs of 14 kills (112), four at a time
/// (about two and a half minutes on 2 cores, the build aside), and the webhook campaign.
const CI_CHAOS: [&str; 4] = ["--runs", "8", "--jobs", "4"];

/// `cargo xtask chaos`: builds `billingd` and the fake Stripe, then runs the campaigns
/// (`tests/src/bin/chaos.rs`) against them; prints how long it took.
fn chaos(args: &[&str]) -> Result<(), String> {
    let started = std::time::Instant::now();
    run(
        "cargo",
        &[
            "build",
            "-p",
            "billingd",
            "-p",
            "billing-stripe-fake",
            "--bins",
        ],
    )?;
    let metadata = output("cargo", &["metadata", "--format-version", "1", "--no-deps"])?;
    let metadata: serde_json::Value = serde_json::from_str(&metadata)
        .map_err(|e| format!("cannot read `cargo metadata`: {e}"))?;
    let target = metadata["target_directory"]
        .as_str()
        .map(std::path::PathBuf::from)
        .ok_or("`cargo metadata` gave no target_directory")?
        .join("debug");
    let mut command = Command::new("cargo");
    command
        .args([
            "run",
            "-q",
            "-p",
            "billing-blackbox",
            "--bin",
            "chaos",
            "--",
        ])
        .args(args)
        .env("BILLINGD_BINARY", target.join("billingd"))
        .env(
            "BILLING_STRIPE_FAKE_BINARY",
            target.join("billing-stripe-fake"),
        );
    eprintln!(
        "$ cargo run -p billing-blackbox --bin chaos -- {}",
        args.join(" ")
    );
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    eprintln!("xtask: chaos took {:.0} s", started.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("the chaos campaigns failed ({status})"))
    }
}

fn nextest_installed() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test(extra: &[&str]) -> Result<(), String> {
    if nextest_installed() {
        let mut args = vec![
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ];
        args.extend_from_slice(extra);
        run("cargo", &args)?;
    } else {
        let mut args = vec!["test", "--workspace", "--all-features", "--no-fail-fast"];
        args.extend_from_slice(extra);
        run("cargo", &args)?;
    }
    // nextest does not run doc tests.
    run("cargo", &["test", "--workspace", "--all-features", "--doc"])
}

fn bench(which: &str) -> Result<(), String> {
    let storage = || {
        run(
            "cargo",
            &["bench", "-p", "billing-postgres", "--bench", "storage"],
        )
    };
    let core = || {
        run(
            "cargo",
            &[
                "bench",
                "-p",
                "billing-core",
                "--features",
                "testkit",
                "--bench",
                "core",
            ],
        )
    };
    match which {
        "storage" => storage(),
        "core" => core(),
        name if BLACKBOX_BENCHES.contains(&name) => blackbox_bench(name),
        "all" => {
            core()?;
            storage()?;
            BLACKBOX_BENCHES
                .iter()
                .try_for_each(|name| blackbox_bench(name))
        }
        other => Err(format!(
            "unknown benchmark {other:?} (core, storage, {}, all)",
            BLACKBOX_BENCHES.join(", ")
        )),
    }
}

/// The benchmarks that drive the release `billingd` from outside (`tests/benches/`).
const BLACKBOX_BENCHES: [&str; 5] = ["http", "sqlite", "report", "footprint", "bulk"];

/// Runs one of [`BLACKBOX_BENCHES`] against the release build of `billingd`.
fn blackbox_bench(name: &str) -> Result<(), String> {
    run("cargo", &["build", "--release", "-p", "billingd"])?;
    let binary = std::fs::canonicalize("target/release/billingd")
        .map_err(|e| format!("target/release/billingd: {e}"))?;
    let status = Command::new("cargo")
        .args(["bench", "-p", "billing-blackbox", "--bench", name])
        .env("BILLINGD_BINARY", binary)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} benchmark failed ({status})"))
    }
}
