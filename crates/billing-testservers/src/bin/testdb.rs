//! `testdb start|stop|url [--dir DIR]`: a persistent development PostgreSQL in
//! `target/dev-postgres`.
//!
//! `start` prints the `DATABASE_URL` on stdout (and nothing else), so
//! `export DATABASE_URL=$(cargo run -q -p billing-testservers --bin testdb start)`
//! works.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use billing_testservers::postgres::dev;

const USAGE: &str = "usage: testdb start|stop|url [--dir DIR]

  start   start the development cluster (initdb on first use); print its DATABASE_URL
  stop    stop it (data is kept; delete the directory to start afresh)
  url     print its DATABASE_URL if it runs, exit 1 otherwise

DIR defaults to <workspace>/target/dev-postgres.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut command = None;
    let mut dir = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => match args.next() {
                Some(value) => dir = Some(PathBuf::from(value)),
                None => return usage_error("--dir needs a value"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other if command.is_none() && !other.starts_with('-') => command = Some(arg),
            other => return usage_error(&format!("unexpected argument `{other}`")),
        }
    }
    let dir = dir.unwrap_or_else(dev::default_dir);
    let result = match command.as_deref() {
        Some("start") => dev::start(&dir).map(|url| {
            eprintln!("PostgreSQL running, data in {}", dir.join("data").display());
            println!("{url}");
            true
        }),
        Some("stop") => dev::stop(&dir).map(|was_running| {
            if was_running {
                eprintln!("PostgreSQL in {} stopped", dir.display());
            } else {
                eprintln!("PostgreSQL in {} was not running", dir.display());
            }
            true
        }),
        Some("url") => dev::url(&dir).map(|url| match url {
            Some(url) => {
                println!("{url}");
                true
            }
            None => {
                eprintln!("PostgreSQL in {} is not running", dir.display());
                false
            }
        }),
        Some(other) => return usage_error(&format!("unknown command `{other}`")),
        None => return usage_error("missing command"),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("testdb: {err}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("testdb: {message}\n\n{USAGE}");
    ExitCode::from(2)
}
