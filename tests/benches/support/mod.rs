//! What the black-box benchmarks share: settings read from the environment (and the exact
//! command that reproduces a run), percentiles, CPU time from `/proc`, the load generators, the
//! customers made through HTTP, and realistic data loaded straight into Postgres or SQLite.
//!
//! Each bench target includes this module and uses a part of it.
#![allow(dead_code)]

pub mod cpu;
pub mod hammer;
pub mod load;
pub mod pg;
pub mod seed;
pub mod sqlite;

use std::time::Duration;

/// The settings of one benchmark, read from the environment with their defaults, remembered so
/// that the command printed with the figures reproduces the run.
#[derive(Debug)]
pub struct Settings {
    bench: &'static str,
    filter: Option<String>,
    used: Vec<(&'static str, String)>,
}

impl Settings {
    /// The settings of `cargo bench --bench <bench>`; the first argument that is not a flag
    /// picks a part of it (`cargo bench ... -- <part>`).
    pub fn new(bench: &'static str) -> Settings {
        Settings {
            bench,
            filter: std::env::args().skip(1).find(|a| !a.starts_with("--")),
            used: Vec::new(),
        }
    }

    /// Whether the part named `part` runs (every part runs without a filter).
    pub fn runs(&self, part: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| f == part)
    }

    /// A whole number from the environment variable `name`, else `default`.
    pub fn number(&mut self, name: &'static str, default: u64) -> u64 {
        let value = std::env::var(name)
            .ok()
            .and_then(|v| v.trim().replace('_', "").parse().ok())
            .unwrap_or(default);
        self.used.push((name, value.to_string()));
        value
    }

    /// A list of whole numbers (`10000,100000`) from `name`, else `default`.
    pub fn numbers(&mut self, name: &'static str, default: &[u64]) -> Vec<u64> {
        let parsed: Option<Vec<u64>> = std::env::var(name).ok().and_then(|v| {
            v.split(',')
                .map(|n| n.trim().replace('_', "").parse().ok())
                .collect()
        });
        let values = parsed
            .filter(|v: &Vec<u64>| !v.is_empty())
            .unwrap_or_else(|| default.to_vec());
        let text: Vec<String> = values.iter().map(u64::to_string).collect();
        self.used.push((name, text.join(",")));
        values
    }

    /// The command that runs this benchmark again with the same settings.
    pub fn command(&self) -> String {
        let binary = billing_blackbox::release_billingd_binary();
        let mut line = format!("BILLINGD_BINARY={}", binary.display());
        for (name, value) in &self.used {
            line.push_str(&format!(" {name}={value}"));
        }
        line.push_str(&format!(
            " cargo bench -p billing-blackbox --bench {}",
            self.bench
        ));
        if let Some(filter) = &self.filter {
            line.push_str(&format!(" -- {filter}"));
        }
        line
    }
}

/// The `p` quantile (0..=1) of sorted durations, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Milliseconds, one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Money text (`"215.50"`) in minor units.
pub fn cents(amount: &str) -> i64 {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    let fraction = format!("{fraction:0<2}");
    whole.parse::<i64>().unwrap_or(0) * 100 + fraction[..2].parse::<i64>().unwrap_or(0)
}

/// A multi-threaded runtime for the load generators (as many workers as cores).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Prints a section title and the command that reproduces it.
pub fn title(text: &str, settings: &Settings) {
    println!("\n== {text}");
    println!("command: `{}`\n", settings.command());
}
