//! Throwaway external servers for tests and benchmarks, started by the tests
//! themselves: never rely on a server someone started by hand.
//!
//! - [`postgres::TestPostgres`]: PostgreSQL (or `$DATABASE_URL`), a fresh database
//!   per test, plus `pgbench` helpers and a persistent dev cluster ([`postgres::dev`],
//!   binary `testdb`).
//! - [`localstripe::LocalStripe`]: a fake Stripe API, installed into
//!   `target/tools` on first use.
//! - [`browser::ChromeDriver`]: headless Chromium driven through WebDriver
//!   (chromedriver + fantoccini), for end-to-end browser tests; Debian's `chromium`
//!   and `chromium-driver` are installed with apt on first use when running as root.
//! - [`twilio::FakeTwilio`]: Twilio's Messages API in process, with its errors, opt-outs and
//!   signed status callbacks.
//!
//! Servers are stopped on drop, also when a test panics; watchdogs stop them when
//! the test process is killed outright.
//!
//! PostgreSQL refuses to run as root. When the tests run as root (CI does), the
//! server binaries run as the `postgres` account (else `nobody`, or the account
//! named by `BILLING_TESTSERVERS_PG_USER`) through `runuser`/`su`.

#![forbid(unsafe_code)]

pub mod browser;
mod error;
pub mod localstripe;
pub mod paths;
pub mod postgres;
mod process;
pub mod python;
mod reaper;
pub mod smtp;
pub mod twilio;

pub use browser::ChromeDriver;
pub use error::{Error, Result};
pub use localstripe::LocalStripe;
pub use postgres::TestPostgres;
pub use process::PG_USER_ENV;
pub use smtp::TestSmtp;
pub use twilio::FakeTwilio;
