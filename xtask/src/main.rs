//! The project's own tasks: `cargo xtask ci | test | tidy | chaos [--runs N] [--seed S] | bench [core|storage|scheduler|http|sqlite|report|footprint|bulk|automation|console] | db start|stop`.
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
                "usage: cargo xtask <task>\n\n  ci                 fmt check, clippy -D warnings, tidy, every test and doc test, and the\n                     chaos campaigns (8 runs: 112 kills)\n  test [ARGS]        every test (nextest when installed) and doc test\n  tidy               architecture rules: billing-core's allow-list, dependency directions\n                     between the crates, no source file over 800 lines\n  chaos [ARGS]       the crash campaign (billingd killed at every recovery point, restarted,\n                     compared with the fake Stripe's records) and the webhook campaign;\n                     --runs N (14 kills each, default 8), --seed S, --jobs J (default 4),\n                     --no-webhooks, --keep\n  bench [NAME]       benchmarks: core, storage, scheduler, http, sqlite, report, footprint, bulk,\n                     automation, console, or all\n                     (figures go into docs/benchmarks.md)\n  db start|stop      a local Postgres for development (prints DATABASE_URL)"
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

/// `cargo xtask chaos`: the campaigns (`tests/src/bin/chaos.rs`) against `billingd` and the
/// fake Stripe of the test build; prints how long it took.
fn chaos(args: &[&str]) -> Result<(), String> {
    let started = std::time::Instant::now();
    // The test build (nothing to do after `cargo xtask test`) holds the campaign, `billingd`
    // and the fake Stripe.
    let mut build = Command::new("cargo");
    build.args(["test", "--no-run", "--quiet"]).args(TEST_BUILD);
    run_command(build)?;
    let mut command = Command::new(target_dir()?.join("debug").join("chaos"));
    command.args(args).envs(test_binaries()?);
    let result = run_command(command);
    eprintln!("xtask: chaos took {:.0} s", started.elapsed().as_secs_f64());
    result.map_err(|e| format!("the chaos campaigns failed: {e}"))
}

fn nextest_installed() -> bool {
    Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn test(extra: &[&str]) -> Result<(), String> {
    let mut command = Command::new("cargo");
    if nextest_installed() {
        command.args(["nextest", "run"]);
    } else {
        command.arg("test");
    }
    command
        .args(TEST_BUILD)
        .arg("--no-fail-fast")
        .args(extra)
        .envs(test_binaries()?);
    run_command(command)?;
    // nextest does not run doc tests.
    run("cargo", &["test", "--workspace", "--all-features", "--doc"])
}

/// How every test is built. The packages whose tests start `billingd`, the fake Stripe or the
/// campaign have integration tests, so this build also makes those programs, with the same
/// features: given to the tests by [`test_binaries`], they are not built a second time with
/// other features (which would compile the workspace's dependencies again).
const TEST_BUILD: [&str; 2] = ["--workspace", "--all-features"];

/// The programs of the test build the black-box tests start, as the environment variables
/// that name them.
fn test_binaries() -> Result<[(&'static str, std::path::PathBuf); 2], String> {
    let debug = target_dir()?.join("debug");
    Ok([
        ("BILLINGD_BINARY", debug.join("billingd")),
        (
            "BILLING_STRIPE_FAKE_BINARY",
            debug.join("billing-stripe-fake"),
        ),
    ])
}

/// The workspace's target folder.
fn target_dir() -> Result<std::path::PathBuf, String> {
    let metadata = output("cargo", &["metadata", "--format-version", "1", "--no-deps"])?;
    let metadata: serde_json::Value = serde_json::from_str(&metadata)
        .map_err(|e| format!("cannot read `cargo metadata`: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(std::path::PathBuf::from)
        .ok_or_else(|| "`cargo metadata` gave no target_directory".to_owned())
}

/// Runs a command made by the caller, echoing it, and fails when it fails.
fn run_command(mut command: Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn bench(which: &str) -> Result<(), String> {
    let storage = || {
        run(
            "cargo",
            &["bench", "-p", "billing-postgres", "--bench", "storage"],
        )
    };
    let scheduler = || {
        run(
            "cargo",
            &["bench", "-p", "billing-postgres", "--bench", "scheduler"],
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
        "scheduler" => scheduler(),
        "core" => core(),
        name if BLACKBOX_BENCHES.contains(&name) => blackbox_bench(name),
        "all" => {
            core()?;
            storage()?;
            scheduler()?;
            BLACKBOX_BENCHES
                .iter()
                .try_for_each(|name| blackbox_bench(name))
        }
        other => Err(format!(
            "unknown benchmark {other:?} (core, storage, scheduler, {}, all)",
            BLACKBOX_BENCHES.join(", ")
        )),
    }
}

/// The benchmarks that drive the release `billingd` from outside (`tests/benches/`).
const BLACKBOX_BENCHES: [&str; 7] = [
    "http",
    "sqlite",
    "report",
    "footprint",
    "bulk",
    "automation",
    "console",
];

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
