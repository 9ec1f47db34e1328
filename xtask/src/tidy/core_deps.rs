//! `billing-core` depends only on its allow-list, with or without its features: the core does
//! no I/O, so a runtime, SQL, HTTP or Stripe crate reaching it is a design error.

use crate::output;

/// What `billing-core` may depend on outside tests: the domain crates and their pure helpers.
/// No runtime, no SQL, no HTTP, no Stripe, no serialization.
const CORE_ALLOWED: &[&str] = &[
    "rust_decimal",
    "chrono",
    "thiserror",
    "async-trait",
    // link tokens: hashed (SHA-256) and compared in constant time; pure computation.
    "sha2",
    "subtle",
    // checkout return URLs: parsed and checked (WHATWG URL); pure computation.
    "url",
    // bulk charges run a bounded number at once (`buffered`); the testkit's suites join_all.
    "futures-util",
    // an async mutex: turns per booking, the testkit's in-memory store.
    "async-lock",
    // phone numbers checked as E.164 on libphonenumber's compiled-in metadata; pure computation.
    "phonenumber",
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

/// The core's features to check besides none: `testkit` (an in-memory store, a scripted
/// gateway, the conformance suites) is the only one.
const FEATURES: &[&[&str]] = &[&[], &["--features", "testkit"]];

/// The problems found: direct dependencies outside the allow-list, and forbidden crates
/// anywhere below the core.
pub(super) fn check() -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for features in FEATURES {
        let direct = tree(&["--depth", "1"], features)?;
        // The first line is billing-core itself.
        for name in direct.lines().skip(1).filter_map(crate_name) {
            if !CORE_ALLOWED.contains(&name) {
                problems.push(format!(
                    "billing-core depends on `{name}`, which is not in its allow-list (xtask/src/tidy/core_deps.rs)"
                ));
            }
        }
        let all = tree(&[], features)?;
        for name in all.lines().filter_map(crate_name) {
            if CORE_FORBIDDEN.contains(&name) {
                problems.push(format!("billing-core pulls in `{name}`"));
            }
        }
    }
    problems.sort();
    problems.dedup();
    Ok(problems)
}

/// `cargo tree` of the core's normal dependencies, one crate a line.
fn tree(extra: &[&str], features: &[&str]) -> Result<String, String> {
    let mut args = vec![
        "tree",
        "-p",
        "billing-core",
        "-e",
        "normal",
        "--prefix",
        "none",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(features);
    output("cargo", &args)
}

/// The crate name of a `cargo tree` line (`name v1.2.3 ...`).
fn crate_name(line: &str) -> Option<&str> {
    line.split_whitespace().next()
}
