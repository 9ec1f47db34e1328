//! One sweep of every business (`Billing::sweep`), and how its report is told: the background
//! worker logs it, `billingd reconcile` prints it. Both show the same lines.

use billing_core::billing::{Billing, EventHandled, SweepReport};
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::ids::PaymentId;
use billing_core::receipt::Receipt;

/// One line of a sweep's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The business swept.
    pub business: String,
    /// What was done or could not be done, for the log and the terminal.
    pub text: String,
    /// True when something was left undone (a payment left pending, events unread).
    pub failed: bool,
}

/// What a sweep of every business did.
#[derive(Debug, Default)]
pub struct Swept {
    /// The businesses swept.
    pub businesses: usize,
    /// Payments settled (pending ones and holds past their expiry).
    pub settled: usize,
    /// Events of the gateway that changed a payment.
    pub events_reconciled: usize,
    /// Events read that needed nothing (duplicates, not ours).
    pub events_skipped: usize,
    /// What was done and what was left undone, item by item.
    pub lines: Vec<Line>,
}

impl Swept {
    /// How many items were left undone.
    pub fn failures(&self) -> usize {
        self.lines.iter().filter(|l| l.failed).count()
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        format!(
            "swept {} business(es): {} payment(s) settled, {} gateway event(s) recorded, {} \
             needed nothing; {} item(s) left for the next sweep",
            self.businesses,
            self.settled,
            self.events_reconciled,
            self.events_skipped,
            self.failures()
        )
    }
}

/// Sweeps every business once, one after the other; one business's failure never stops the
/// others'.
///
/// # Errors
/// Only when the businesses cannot be listed.
pub async fn sweep_all(billing: &Billing) -> Result<Swept, BillingError> {
    let businesses = billing.businesses().await?;
    let mut swept = Swept {
        businesses: businesses.len(),
        ..Swept::default()
    };
    for business in &businesses {
        match billing.sweep(business).await {
            Ok(report) => tell(business, &report, &mut swept),
            Err(error) => swept.lines.push(Line {
                business: business.id.to_string(),
                text: format!("not swept: {error}"),
                failed: true,
            }),
        }
    }
    Ok(swept)
}

/// Adds one business's report to what the sweep did.
fn tell(business: &Business, report: &SweepReport, swept: &mut Swept) {
    let id = business.id.to_string();
    let mut line = |text: String, failed: bool| {
        swept.lines.push(Line {
            business: id.clone(),
            text,
            failed,
        });
    };
    let mut settled = 0;
    for (what, results) in [("payment", &report.reconciled), ("hold", &report.holds)] {
        for (payment, result) in results {
            let (text, told) = settled_line(what, payment, result);
            settled += usize::from(told == Told::Settled);
            line(text, told == Told::LeftUndone);
        }
    }
    let (mut reconciled, mut skipped) = (0, 0);
    for (event, result) in &report.events {
        match result {
            Ok(EventHandled::Reconciled) => {
                reconciled += 1;
                line(format!("event {event}: recorded"), false);
            }
            Ok(EventHandled::Duplicate | EventHandled::Ignored) => skipped += 1,
            Err(error) => line(
                format!("event {event}: not recorded ({}: {error})", error.code()),
                true,
            ),
        }
    }
    if let Some(error) = &report.events_unread {
        line(
            format!("the gateway's events could not be read: {error}"),
            true,
        );
    }
    swept.settled += settled;
    swept.events_reconciled += reconciled;
    swept.events_skipped += skipped;
}

/// How a payment's line reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    /// It ended, or its hold was brought in line.
    Settled,
    /// The gateway says it is still under way (a customer authenticating): nothing to do yet.
    StillPending,
    /// The gateway could not say, or the answer could not be recorded.
    LeftUndone,
}

/// `payment pay_…: succeeded`, or why it stays as it was.
fn settled_line(
    what: &str,
    payment: &PaymentId,
    result: &Result<Receipt, BillingError>,
) -> (String, Told) {
    match result {
        Ok(receipt) if receipt.payment.state.is_in_flight() => (
            format!(
                "{what} {payment}: still {} at the gateway",
                receipt.payment.state.name()
            ),
            Told::StillPending,
        ),
        Ok(receipt) => (
            format!("{what} {payment}: {}", receipt.payment.state.name()),
            Told::Settled,
        ),
        Err(error) => (
            format!(
                "{what} {payment}: left as it was ({}: {error})",
                error.code()
            ),
            Told::LeftUndone,
        ),
    }
}
