//! The period of the payments report: two dates (UTC days, both included) typed in the
//! report's form, checked.

use billing_core::billing::MAX_REPORT_DAYS;
use chrono::{DateTime, Days, NaiveDate, Utc};

/// How many days the report covers unless asked otherwise: the last 30, today included.
const DEFAULT_DAYS: u64 = 30;

/// Why a period was refused, in words for the page.
pub(super) const NOT_A_DATE: &str =
    "Dates are written as year-month-day, for example 2026-01-15. Choose the dates again.";
/// The end comes before the start.
pub(super) const INVERTED: &str =
    "The period ends before it starts: choose an end date on or after the start date.";
/// More than a year.
pub(super) const TOO_LONG: &str = "A period is at most a year (366 days): choose a shorter one.";

/// From one day to another, both included (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Period {
    pub(super) from: NaiveDate,
    pub(super) until: NaiveDate,
    /// The start of the day after `until`.
    end: DateTime<Utc>,
}

/// The start of a day (UTC).
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// A date typed in the form: `None` when left empty.
fn date(text: Option<&str>) -> Result<Option<NaiveDate>, &'static str> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| NOT_A_DATE),
    }
}

impl Period {
    /// The period the form asks for: by default up to `today`, and starting 29 days before
    /// its end (30 days in all). Refused when a date is not one, when it ends before it
    /// starts, or when it is longer than a year.
    pub(super) fn parse(
        from: Option<&str>,
        until: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, &'static str> {
        let until = date(until)?.unwrap_or(today);
        let from = match date(from)? {
            Some(from) => from,
            None => until
                .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
                .ok_or(NOT_A_DATE)?,
        };
        if until < from {
            return Err(INVERTED);
        }
        if (until - from).num_days() + 1 > MAX_REPORT_DAYS {
            return Err(TOO_LONG);
        }
        let end = until.checked_add_days(Days::new(1)).ok_or(NOT_A_DATE)?;
        Ok(Period {
            from,
            until,
            end: start_of(end),
        })
    }

    /// Its first instant: the start of `from` (UTC).
    pub(super) fn start(&self) -> DateTime<Utc> {
        start_of(self.from)
    }

    /// The instant after it: the start of the day after `until` (UTC).
    pub(super) fn end(&self) -> DateTime<Utc> {
        self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn periods_default_to_the_last_thirty_days_and_are_checked() {
        let today = day("2026-01-15");
        let default = Period::parse(None, Some(" "), today).expect("default");
        assert_eq!((default.from, default.until), (day("2025-12-17"), today));
        assert_eq!(default.start().to_rfc3339(), "2025-12-17T00:00:00+00:00");
        assert_eq!(default.end().to_rfc3339(), "2026-01-16T00:00:00+00:00");
        let one_day = Period::parse(Some("2026-01-15"), Some("2026-01-15"), today);
        assert_eq!(one_day.map(|p| p.from), Ok(today));
        assert_eq!(
            Period::parse(Some("2026-01-16"), Some("2026-01-15"), today),
            Err(INVERTED)
        );
        assert_eq!(
            Period::parse(Some("2026-01-16"), None, today),
            Err(INVERTED)
        );
        assert_eq!(
            Period::parse(Some("15/01/2026"), None, today),
            Err(NOT_A_DATE)
        );
        assert_eq!(
            Period::parse(Some("2025-01-15"), Some("2026-01-15"), today).map(|p| p.from),
            Ok(day("2025-01-15")),
            "366 days"
        );
        assert_eq!(
            Period::parse(Some("2025-01-14"), Some("2026-01-15"), today),
            Err(TOO_LONG)
        );
    }
}
