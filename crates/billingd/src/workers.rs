//! The service's background work, beside the HTTP server: delivering queued emails, running
//! payment automation's due bookings, and sweeping every business (payments whose gateway
//! outcome was lost, holds past their expiry, the gateway's events that webhooks missed). Each loop stops when told to, between two
//! rounds, so that a shutdown never cuts a send or a settlement in half.

use std::sync::Arc;
use std::time::Duration;

use billing_core::billing::Billing;
use billing_core::notifier::Notifier;
use billing_core::ports::Clock;
use billing_core::staff::SessionLimits;
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

/// Runs payment automation's due bookings every `tick` (never when zero), until stopped: a
/// full batch is followed at once by the next, so that a backlog drains at the gateway's pace.
pub async fn automation(
    billing: Billing,
    tick: Duration,
    batch: u32,
    mut stopped: watch::Receiver<bool>,
) {
    if tick.is_zero() {
        return;
    }
    loop {
        let full = match billing.run_due(batch).await {
            Ok(report) => {
                for (business, run) in &report.runs {
                    tracing::info!(
                        %business,
                        booking = %run.booking,
                        action = ?run.action,
                        outcome = run.outcome.name(),
                        payment = ?run.payment.as_ref().map(ToString::to_string),
                        "automation ran"
                    );
                }
                for (business, booking, error) in &report.errors {
                    tracing::warn!(%business, %booking, %error, "automation: left for a later run");
                }
                report.taken >= batch as usize
            }
            Err(error) => {
                tracing::warn!(%error, "automation: cannot take due bookings");
                false
            }
        };
        let wait = if full { Duration::ZERO } else { tick };
        if stop_after(wait, &mut stopped).await {
            return;
        }
    }
}

/// Sweeps every business (`Billing::sweep`) every `every` (never when zero), until stopped:
/// logs what it settled, and warns of what it left for the next round. Each round also purges
/// the console's sessions and invitations, and the customer portal's links and sessions, that
/// no longer work.
pub async fn sweep(billing: Billing, every: Duration, mut stopped: watch::Receiver<bool>) {
    if every.is_zero() {
        return;
    }
    while !stop_after(every, &mut stopped).await {
        purge_staff_tokens(&billing).await;
        purge_portal_passes(&billing).await;
        let swept = match crate::sweep::sweep_all(&billing).await {
            Ok(swept) => swept,
            Err(error) => {
                tracing::warn!(%error, "sweep: cannot list businesses");
                continue;
            }
        };
        for line in &swept.lines {
            if line.failed {
                tracing::warn!(business = %line.business, "sweep: {}", line.text);
            } else {
                tracing::info!(business = %line.business, "sweep: {}", line.text);
            }
        }
        if swept.failures() > 0 {
            tracing::warn!("{}", swept.summary());
        }
    }
}

/// Deletes the console's sessions past its limits (the console's own: `SessionLimits`'
/// default, as `serve` gives it) and its expired invitations; a failure only waits for the
/// next round.
async fn purge_staff_tokens(billing: &Billing) {
    match billing.purge_staff_tokens(SessionLimits::default()).await {
        Ok(purged) if purged.sessions + purged.invitations > 0 => tracing::info!(
            sessions = purged.sessions,
            invitations = purged.invitations,
            "ended sessions and expired invitations purged"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "sessions and invitations not purged"),
    }
}

/// Deletes the customer portal's expired links and sessions; a failure only waits for the
/// next round.
async fn purge_portal_passes(billing: &Billing) {
    match billing.purge_portal_passes().await {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "expired portal links and sessions purged"),
        Err(error) => tracing::warn!(%error, "portal links and sessions not purged"),
    }
}

#[cfg(test)]
mod tests {
    use billing_core::billing::NewStaff;
    use billing_core::customer::Business;
    use billing_core::ids::BusinessId;
    use billing_core::ports::{Businesses, StaffAccounts};
    use billing_core::staff::StaffRole;
    use billing_core::testkit::{
        FixedClock, MemoryStore, PlainPasswords, ScriptedGateway, SequentialIds, SequentialSecrets,
        api_key_record,
    };

    use super::*;

    #[tokio::test]
    async fn the_sweep_purges_sessions_that_ended() -> Result<(), Box<dyn std::error::Error>> {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(FixedClock::default());
        let billing = Billing::new(
            store.clone(),
            Arc::new(ScriptedGateway::new()),
            clock.clone(),
            Arc::new(SequentialIds::default()),
            Arc::new(SequentialSecrets::default()),
        );
        let acme = Business {
            id: BusinessId::new("acme")?,
            name: "Acme".into(),
            gateway_account: None,
            email: None,
        };
        store
            .create_business(&acme, &api_key_record("key_1"), "hash")
            .await?;
        let invited = billing
            .add_staff(
                &acme,
                NewStaff {
                    email: "grace@acme.example".into(),
                    name: "Grace".into(),
                    role: StaffRole::Owner,
                },
            )
            .await?;
        let signed_in = billing
            .accept_invitation(
                &PlainPasswords,
                invited.token.expose(),
                "correct horse battery",
            )
            .await?;
        let hash = signed_in.token.hash();
        clock.advance(SessionLimits::default().idle);
        let (stop, stopped) = watch::channel(false);
        let worker = tokio::spawn(sweep(billing, Duration::from_millis(5), stopped));
        let mut purged = false;
        for _ in 0..400 {
            if store.staff_session(&hash).await?.is_none() {
                purged = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.send(true)?;
        worker.await?;
        assert!(purged, "the idle session was purged by the sweep");
        Ok(())
    }
}
