//! `pgbench` helpers for benchmarks.

use std::process::Command;

use super::find_pg_program;
use crate::error::{Error, Result};
use crate::process::{combined_output, run_checked};

/// Whether a `pgbench` binary can be found.
pub fn pgbench_available() -> bool {
    find_pg_program("pgbench").is_ok()
}

/// `pgbench -i -q -s <scale> <url>`: creates and fills the pgbench tables.
pub fn pgbench_init(url: &str, scale: u32) -> Result<()> {
    let pgbench = find_pg_program("pgbench")?;
    run_checked(
        Command::new(pgbench)
            .arg("-i")
            .arg("-q")
            .arg("-s")
            .arg(scale.max(1).to_string())
            .arg(url),
    )
    .map(drop)
}

/// What a `pgbench` run reported.
#[derive(Debug, Clone, PartialEq)]
pub struct PgbenchReport {
    /// Transactions per second, without initial connection time.
    pub tps: f64,
    /// "number of transactions actually processed".
    pub transactions: Option<u64>,
    /// "number of failed transactions".
    pub failed_transactions: Option<u64>,
    /// "latency average", in milliseconds.
    pub latency_avg_ms: Option<f64>,
    /// The full output, for logs.
    pub output: String,
}

/// `pgbench -c <clients> -j <clients> -T <secs> -b tpcb-like <url>` on a database
/// prepared by [`pgbench_init`]; returns the parsed report.
pub fn pgbench_run(url: &str, clients: u32, secs: u32) -> Result<PgbenchReport> {
    let pgbench = find_pg_program("pgbench")?;
    let clients = clients.max(1).to_string();
    let output = run_checked(
        Command::new(pgbench)
            .arg("-c")
            .arg(&clients)
            .arg("-j")
            .arg(&clients)
            .arg("-T")
            .arg(secs.max(1).to_string())
            .arg("-b")
            .arg("tpcb-like")
            .arg(url),
    )?;
    parse_pgbench_output(&combined_output(&output))
}

/// Parses the summary `pgbench` prints, e.g.
/// `tps = 2522.780046 (without initial connection time)`.
pub fn parse_pgbench_output(output: &str) -> Result<PgbenchReport> {
    let value_after = |key: &str| {
        output.lines().find_map(|line| {
            let rest = line.trim().strip_prefix(key)?;
            rest.split_whitespace().next().map(str::to_owned)
        })
    };
    let tps = output
        .lines()
        .filter(|line| line.contains("without initial connection time"))
        .find_map(|line| {
            line.trim()
                .strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .ok_or_else(|| Error::Parse {
            what: "`tps = … (without initial connection time)`",
            tool: "pgbench",
            output: output.to_owned(),
        })?;
    Ok(PgbenchReport {
        tps,
        transactions: value_after("number of transactions actually processed:")
            .and_then(|v| v.split('/').next().and_then(|n| n.parse().ok())),
        failed_transactions: value_after("number of failed transactions:")
            .and_then(|v| v.parse().ok()),
        latency_avg_ms: value_after("latency average =").and_then(|v| v.parse().ok()),
        output: output.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "pgbench (15.14 (Debian 15.14-0+deb12u1))
starting vacuum...end.
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 1
query mode: simple
number of clients: 4
number of threads: 4
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 5046
number of failed transactions: 0 (0.000%)
latency average = 1.586 ms
initial connection time = 14.867 ms
tps = 2522.780046 (without initial connection time)
";

    #[test]
    fn parses_pg15_output() -> Result<()> {
        let report = parse_pgbench_output(SAMPLE)?;
        assert!((report.tps - 2522.780046).abs() < 1e-9);
        assert_eq!(report.transactions, Some(5046));
        assert_eq!(report.failed_transactions, Some(0));
        assert_eq!(report.latency_avg_ms, Some(1.586));
        Ok(())
    }

    #[test]
    fn missing_tps_is_an_error() {
        assert!(matches!(
            parse_pgbench_output("connection refused"),
            Err(Error::Parse { .. })
        ));
    }
}
