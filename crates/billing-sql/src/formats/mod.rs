//! The JSON formats of stored rows, apart from the core's types: a booking's billing view, a
//! ledger entry, a command's first answer, the bookings a payment link pays, and payment
//! automation's settings, booking schedules and runs. Renaming a field in the core changes
//! nothing here, so rows written by any earlier version stay readable.
//!
//! Every format is versioned. A row carries `"v": N` (rows written before versions were
//! written carry none: they are version 1), and is read by the decoder of its version. A
//! change of format adds a version: a new struct, its decoder (an earlier version is read by
//! bringing it up to the latest one, then reading that), and fixtures of rows written with it
//! (`tests/fixtures/vN/`), which every later build must read. Automation's rows (settings,
//! schedules, runs) keep their version in a `format` column beside the body instead of a `"v"`
//! in it: one parse per read, and rows of a version found without reading their bodies.
//!
//! | format | written | changes |
//! | --- | --- | --- |
//! | booking | 1 | |
//! | entry | 3 | 2: who made a record (`origin`), a hold's `multicapture`, disputes; 3: a share's `tip` |
//! | first answer | 3 | 2: the payment's `origin` and `multicapture`, disputes, `disputed` summaries; 3: a share's `tip` |
//! | link bookings | 1 | (a bare array) |
//! | payment settings | 2 | (version in the row's `format` column); 2: the no-show fee |
//! | booking schedule | 3 | (version in the row's `format` column); 2: `checkout_until`; 3: `no_show_at` |
//! | link checkout | 1 | (a booking page's checkout: booking, step, return URL) |
//! | automation run | 1 | (version in the row's `format` column) |

mod automation;
mod booking;
mod entry;
mod link;
mod parts;
mod receipt;

pub use automation::{
    RUN_VERSION, RunBody, SCHEDULE_VERSION, SETTINGS_VERSION, ScheduleBody, decode_run,
    decode_schedule, decode_settings, encode_run, encode_schedule, encode_settings,
};
pub use booking::{decode_booking, encode_booking};
pub use entry::{decode_entry, encode_entry};
pub use link::{decode_checkout, decode_link_bookings, encode_checkout, encode_link_bookings};
pub use receipt::{decode_receipt, encode_receipt};

use serde::{Deserialize, Serialize};

use crate::StoredRowError;

/// The version a booking's billing view is written with today.
pub const BOOKING_VERSION: u32 = 1;

/// The version a ledger entry is written with today.
pub const ENTRY_VERSION: u32 = 3;

/// The version a command's first answer is written with today.
pub const FIRST_ANSWER_VERSION: u32 = 3;

/// The `v` of a stored row (1 when absent).
#[derive(Deserialize)]
struct Version {
    #[serde(default = "first")]
    v: u32,
}

fn first() -> u32 {
    1
}

/// The version of a stored row's JSON.
fn version_of(what: &'static str, text: &str) -> Result<u32, StoredRowError> {
    serde_json::from_str::<Version>(text)
        .map(|version| version.v)
        .map_err(|e| StoredRowError::new(what, e))
}

/// A row of `what` in a version this build does not know (written by a newer build).
fn unknown(what: &'static str, version: u32) -> StoredRowError {
    StoredRowError::new(what, format!("unknown format version {version}"))
}

/// Writes a row with its version.
#[derive(Serialize)]
struct Tagged<'a, T> {
    v: u32,
    #[serde(flatten)]
    row: &'a T,
}

/// A row as stored, tagged with the version it is written in.
fn to_text<T: Serialize>(what: &'static str, v: u32, row: &T) -> Result<String, StoredRowError> {
    serde_json::to_string(&Tagged { v, row }).map_err(|e| StoredRowError::new(what, e))
}

fn from_text<'a, T: Deserialize<'a>>(
    what: &'static str,
    text: &'a str,
) -> Result<T, StoredRowError> {
    serde_json::from_str(text).map_err(|e| StoredRowError::new(what, e))
}
