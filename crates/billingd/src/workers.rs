//! The service's background work, beside the HTTP server: delivering queued emails, and
//! settling payments whose gateway outcome was lost. Each loop stops when told to, between two
//! rounds, so that a shutdown never cuts a send or a settlement in half.

use std::sync::Arc;
use std::time::Duration;

use billing_core::billing::Billing;
use billing_core::notifier::Notifier;
use billing_core::ports::Clock;
use tokio::sync::watch;

/// Waits `every`, or less when stopped; true when the loop should stop.
async fn stop_after(every: Duration, stopped: &mut watch::Receiver<bool>) -> bool {
    if *stopped.borrow() {
        return true;
    }
    tokio::select! {
        _ = stopped.changed() => true,
        () = tokio::time::sleep(every) => false,
    }
}

/// Sends the emails that are due, every `every`, until stopped.
pub async fn deliver_emails(
    notifier: Notifier,
    clock: Arc<dyn Clock>,
    every: Duration,
    max_attempts: u32,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        match notifier.deliver_due(None, clock.now(), max_attempts).await {
            Ok(report) if !report.attempts.is_empty() => tracing::info!(
                sent = report.sent(),
                retrying = report.retrying(),
                given_up = report.given_up(),
                "emails delivered"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "email delivery round failed"),
        }
        if stop_after(every, &mut stopped).await {
            return;
        }
    }
}

/// Settles every business's payments pending for over a minute, every `every` (never when
/// zero), until stopped.
pub async fn reconcile_pending(
    billing: Billing,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    if every.is_zero() {
        return;
    }
    // Commands still at the gateway get this long to finish on their own.
    let older_than = chrono::Duration::seconds(60);
    while !stop_after(every, &mut stopped).await {
        let businesses = match billing.businesses().await {
            Ok(businesses) => businesses,
            Err(error) => {
                tracing::warn!(%error, "reconciler: cannot list businesses");
                continue;
            }
        };
        for business in &businesses {
            match billing.reconcile_pending(business, older_than).await {
                Ok(results) => {
                    for (payment, result) in results {
                        match result {
                            Ok(receipt) => tracing::info!(
                                business = %business.id,
                                %payment,
                                state = receipt.payment.state.name(),
                                "pending payment settled"
                            ),
                            Err(error) => tracing::warn!(
                                business = %business.id,
                                %payment,
                                code = error.code(),
                                "pending payment not settled"
                            ),
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(business = %business.id, %error, "reconciler round failed");
                }
            }
        }
    }
}
