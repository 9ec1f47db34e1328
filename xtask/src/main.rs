//! The project's own tasks: `cargo xtask ci | test | tidy | bench [storage|http] | db start|stop`.
#![forbid(unsafe_code)]

use std::env;
use std::process::{Command, ExitCode};

/// What `billing-core` may depend on outside tests: the domain crates and, behind features,
/// serde (for storage) and the testkit's helpers. No runtime, no SQL, no HTTP, no Stripe.
const CORE_ALLOWED: &[&str] = &[
    "rust_decimal",
    "chrono",
    "thiserror",
    "async-trait",
    "serde",
    // link tokens: hashed (SHA-256) and compared in constant time; pure computation.
    "sha2",
    "subtle",
    // testkit feature only: an async mutex for the in-memory store, join_all for its suite.
    "async-lock",
    "futures-util",
];

/// Crates that must never reach `billing-core`, whatever the features.
const CORE_FORBIDDEN: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "hyper",
    "reqwest",
    "async-stripe",
    "tower",
    "http",
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci(),
        ["test", rest @ ..] => test(rest),
        ["tidy"] => tidy(),
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
                "usage: cargo xtask <task>\n\n  ci                 fmt check, clippy -D warnings, tidy, every test and doc test\n  test [ARGS]        every test (nextest when installed) and doc test\n  tidy               billing-core depends only on its allow-list\n  bench [storage|http|core|all]\n                     benchmarks; figures go into docs/benchmarks.md\n  db start|stop      a local Postgres for development (prints DATABASE_URL)"
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
    tidy()?;
    test(&[])
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

/// Fails when `billing-core` depends on anything outside its allow-list, with or without its
/// features.
fn tidy() -> Result<(), String> {
    let mut problems = Vec::new();
    for features in [&[][..], &["--features", "serde,testkit"][..]] {
        let mut args = vec![
            "tree",
            "-p",
            "billing-core",
            "-e",
            "normal",
            "--depth",
            "1",
            "--prefix",
            "none",
        ];
        args.extend_from_slice(features);
        let tree = output("cargo", &args)?;
        for line in tree.lines().skip(1) {
            let name = line.split_whitespace().next().unwrap_or_default();
            if !name.is_empty() && !CORE_ALLOWED.contains(&name) {
                problems.push(format!(
                    "billing-core depends on `{name}` (not in the allow-list)"
                ));
            }
        }
        let mut deep = vec![
            "tree",
            "-p",
            "billing-core",
            "-e",
            "normal",
            "--prefix",
            "none",
        ];
        deep.extend_from_slice(features);
        let all = output("cargo", &deep)?;
        for line in all.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            if CORE_FORBIDDEN.contains(&name) {
                problems.push(format!("billing-core pulls in `{name}`"));
            }
        }
    }
    problems.sort();
    problems.dedup();
    if problems.is_empty() {
        eprintln!("tidy: billing-core depends only on its allow-list");
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn bench(which: &str) -> Result<(), String> {
    let storage = || {
        run(
            "cargo",
            &["bench", "-p", "billing-postgres", "--bench", "storage"],
        )
    };
    let http = || {
        // The service under load is the release build.
        run("cargo", &["build", "--release", "-p", "billingd"])?;
        let binary = std::fs::canonicalize("target/release/billingd")
            .map_err(|e| format!("target/release/billingd: {e}"))?;
        let status = Command::new("cargo")
            .args(["bench", "-p", "billing-blackbox", "--bench", "http"])
            .env("BILLINGD_BINARY", binary)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("http benchmark failed ({status})"))
        }
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
        "http" => http(),
        "all" => {
            core()?;
            storage()?;
            http()
        }
        other => Err(format!(
            "unknown benchmark {other:?} (storage, http, core, all)"
        )),
    }
}
