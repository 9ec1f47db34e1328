//! The payments report's bar chart, drawn on the server as SVG: per currency, one group of
//! bars per day (what was taken, stacked by card, cash, check and other; beside it what was
//! refunded). Only numbers and escaped text reach the template; colours are classes of the
//! stylesheet, with presentation attributes as a fallback (the CSP allows no inline style).

use billing_core::billing::{PaymentTotals, PaymentsReport};
use billing_core::money::{Currency, Money};

/// The drawing's width and height, in its own units: it scales to its box (`viewBox`).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
/// Room above the highest bar.
const TOP: f64 = 8.0;
/// Where bars stand.
const BASELINE: f64 = 190.0;

/// One series: its class, fallback colour and name.
#[derive(Debug, Clone, Copy)]
struct Series {
    class: &'static str,
    fill: &'static str,
    name: &'static str,
}

const CARD: Series = Series {
    class: "card",
    fill: "#1d4ed8",
    name: "Card",
};
const CASH: Series = Series {
    class: "cash",
    fill: "#15803d",
    name: "Cash",
};
const CHECK: Series = Series {
    class: "check",
    fill: "#b45309",
    name: "Check",
};
const OTHER: Series = Series {
    class: "other",
    fill: "#7c3aed",
    name: "Other",
};
const REFUNDED: Series = Series {
    class: "refunded",
    fill: "#b91c1c",
    name: "Refunded",
};

/// A bar (or a part of a stacked bar), its numbers written out for the template.
#[derive(Debug)]
pub(crate) struct Bar {
    pub(crate) class: &'static str,
    pub(crate) fill: &'static str,
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) width: String,
    pub(crate) height: String,
    /// What the bar is, for its `<title>` (a tooltip, and what assistive technology reads).
    pub(crate) title: String,
}

/// A day's group of bars.
#[derive(Debug)]
pub(crate) struct DayBars {
    pub(crate) label: String,
    pub(crate) bars: Vec<Bar>,
}

/// A legend entry.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) class: &'static str,
    pub(crate) name: &'static str,
}

/// One currency's chart.
#[derive(Debug)]
pub(crate) struct Chart {
    /// The element id (`chart-usd`); its title's is `{id}-title`.
    pub(crate) id: String,
    /// Its accessible name.
    pub(crate) title: String,
    pub(crate) view_box: String,
    pub(crate) width: String,
    pub(crate) baseline: String,
    pub(crate) days: Vec<DayBars>,
    /// What the tallest bar stands for.
    pub(crate) highest: String,
}

/// Every series, in the legend's order.
pub(crate) fn legend() -> Vec<Key> {
    [CARD, CASH, CHECK, OTHER, REFUNDED]
        .iter()
        .map(|s| Key {
            class: s.class,
            name: s.name,
        })
        .collect()
}

fn minor(money: &Money) -> f64 {
    // Far beyond any real day's takings, an amount that does not fit draws as the largest.
    money.to_minor().map_or(f64::MAX, |m| m as f64)
}

fn number(value: f64) -> String {
    format!("{value:.2}")
}

/// The charts of a report: one per currency in which something moved, by currency code.
pub(crate) fn charts(report: &PaymentsReport) -> Vec<Chart> {
    report
        .totals
        .iter()
        .filter_map(|total| chart(report, total.currency()))
        .collect()
}

fn chart(report: &PaymentsReport, currency: Currency) -> Option<Chart> {
    let days: Vec<(String, PaymentTotals)> = report
        .days
        .iter()
        .map(|day| {
            let totals = day
                .totals
                .iter()
                .find(|t| t.currency() == currency)
                .copied()
                .unwrap_or_else(|| PaymentTotals::zero(currency));
            (day.day.format("%a %-d %b %Y").to_string(), totals)
        })
        .collect();
    let taken = |t: &PaymentTotals| t.taken().map_or(f64::MAX, |m| minor(&m));
    let (highest, highest_money) = days
        .iter()
        .flat_map(|(_, t)| {
            [
                (taken(t), t.taken().ok()),
                (minor(&t.refunded), Some(t.refunded)),
            ]
        })
        .fold((0.0_f64, None), |best, (value, money)| {
            if value > best.0 { (value, money) } else { best }
        });
    if highest <= 0.0 {
        return None;
    }
    let count = days.len().max(1) as f64;
    let slot = WIDTH / count;
    let bar_width = slot * 0.4;
    let scale = (BASELINE - TOP) / highest;
    let code = currency.code();
    let days = days
        .iter()
        .enumerate()
        .map(|(index, (label, totals))| {
            let x = index as f64 * slot;
            let mut bars = Vec::new();
            let mut stacked = 0.0;
            for (series, money) in [
                (CARD, totals.charged),
                (CASH, totals.cash),
                (CHECK, totals.check),
                (OTHER, totals.other),
            ] {
                if money.is_positive() {
                    let height = (minor(&money) * scale).max(0.5);
                    stacked += height;
                    bars.push(bar(
                        series,
                        x + slot * 0.1,
                        BASELINE - stacked,
                        bar_width,
                        height,
                        label,
                        &money,
                    ));
                }
            }
            if totals.refunded.is_positive() {
                let height = (minor(&totals.refunded) * scale).max(0.5);
                bars.push(bar(
                    REFUNDED,
                    x + slot * 0.5,
                    BASELINE - height,
                    bar_width,
                    height,
                    label,
                    &totals.refunded,
                ));
            }
            DayBars {
                label: label.clone(),
                bars,
            }
        })
        .collect();
    Some(Chart {
        id: format!("chart-{}", code.to_ascii_lowercase()),
        title: format!("Money taken and refunded per day, {code}"),
        view_box: format!("0 0 {} {}", WIDTH, HEIGHT),
        width: number(WIDTH),
        baseline: number(BASELINE),
        days,
        highest: highest_money.map_or_else(String::new, |m| m.to_string()),
    })
}

fn bar(series: Series, x: f64, y: f64, width: f64, height: f64, day: &str, money: &Money) -> Bar {
    Bar {
        class: series.class,
        fill: series.fill,
        x: number(x),
        y: number(y),
        width: number(width),
        height: number(height),
        title: format!("{day}: {} {money}", series.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::billing::PaymentsDay;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn totals(charged: i64, cash: i64, refunded: i64) -> PaymentTotals {
        PaymentTotals {
            charged: usd(charged),
            cash: usd(cash),
            refunded: usd(refunded),
            ..PaymentTotals::zero(Currency::USD)
        }
    }

    #[test]
    fn bars_stack_by_day_and_scale_to_the_tallest() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).expect("a day");
        let at = |d| {
            Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0)
                .single()
                .expect("a time")
        };
        let report = PaymentsReport {
            from: at(1),
            until: at(3),
            days: vec![
                PaymentsDay {
                    day: day(1),
                    totals: vec![totals(6_000, 3_000, 0)],
                },
                PaymentsDay {
                    day: day(2),
                    totals: vec![totals(0, 0, 4_500)],
                },
            ],
            totals: vec![totals(6_000, 3_000, 4_500)],
        };
        let charts = charts(&report);
        assert_eq!(charts.len(), 1);
        let chart = &charts[0];
        assert_eq!(chart.id, "chart-usd");
        assert_eq!(chart.view_box, "0 0 720 200");
        assert_eq!(chart.highest, "90.00 USD");
        assert_eq!(chart.days.len(), 2);
        let first = &chart.days[0].bars;
        // The tallest bar reaches the top: card (2/3 of it) under cash (1/3).
        assert_eq!(
            first
                .iter()
                .map(|b| (b.class, b.y.as_str(), b.height.as_str()))
                .collect::<Vec<_>>(),
            vec![("card", "68.67", "121.33"), ("cash", "8.00", "60.67")]
        );
        assert_eq!(first[0].title, "Sun 1 Mar 2026: Card 60.00 USD");
        assert_eq!(first[0].x, "36.00");
        let second = &chart.days[1].bars;
        assert_eq!(second.len(), 1);
        assert_eq!(
            (second[0].class, second[0].x.as_str()),
            ("refunded", "540.00")
        );
        assert_eq!(second[0].height, "91.00");
        // Nothing moved: no chart.
        let quiet = PaymentsReport {
            totals: vec![],
            days: vec![],
            ..report
        };
        assert!(super::charts(&quiet).is_empty());
    }
}
