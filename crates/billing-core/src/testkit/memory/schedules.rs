//! Payment automation's schedules, in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::automation::PaymentSettings;
use crate::ids::{BookingId, BusinessId, CustomerId};
use crate::ports::{
    AutomationRun, BookingSchedule, DueSchedule, RunFilter, ScheduleError, ScheduleFilter,
    Schedules,
};

/// Due at `at` at the latest.
fn due_by(due_at: &mut Option<DateTime<Utc>>, at: DateTime<Utc>) {
    *due_at = Some(due_at.map_or(at, |due| due.min(at)));
}

#[async_trait]
impl Schedules for MemoryStore {
    async fn payment_settings(
        &self,
        business: &BusinessId,
    ) -> Result<Option<PaymentSettings>, ScheduleError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.payment_settings.clone()))
    }

    async fn put_payment_settings(
        &self,
        business: &BusinessId,
        settings: &PaymentSettings,
        replan_at: DateTime<Utc>,
    ) -> Result<(), ScheduleError> {
        let mut state = self.state.lock().await;
        let tenant = state.tenants.entry(business.clone()).or_default();
        tenant.payment_settings = Some(settings.clone());
        for schedule in tenant.schedules.values_mut() {
            if schedule.canceled_at.is_none() {
                due_by(&mut schedule.due_at, replan_at);
                schedule.version += 1;
            }
        }
        Ok(())
    }

    async fn schedule(
        &self,
        business: &BusinessId,
        booking: &BookingId,
    ) -> Result<Option<BookingSchedule>, ScheduleError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .and_then(|t| t.schedules.get(booking).cloned()))
    }

    async fn save_schedule(
        &self,
        business: &BusinessId,
        schedule: &BookingSchedule,
    ) -> Result<bool, ScheduleError> {
        let mut state = self.state.lock().await;
        let tenant = state.tenants.entry(business.clone()).or_default();
        let stored = tenant
            .schedules
            .get(&schedule.booking)
            .map_or(0, |s| s.version);
        if stored != schedule.version {
            return Ok(false);
        }
        let mut next = schedule.clone();
        next.version += 1;
        tenant.schedules.insert(next.booking.clone(), next);
        Ok(true)
    }

    async fn take_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueSchedule>, ScheduleError> {
        let mut state = self.state.lock().await;
        let mut due: Vec<(DateTime<Utc>, BusinessId, BookingId)> = Vec::new();
        for (owner, tenant) in &state.tenants {
            for (booking, schedule) in &tenant.schedules {
                if let Some(at) = schedule.due_at.filter(|at| *at <= now) {
                    due.push((at, owner.clone(), booking.clone()));
                }
            }
        }
        due.sort();
        due.truncate(limit as usize);
        let mut taken = Vec::with_capacity(due.len());
        for (_, owner, booking) in due {
            let Some(schedule) = state
                .tenants
                .get_mut(&owner)
                .and_then(|t| t.schedules.get_mut(&booking))
            else {
                continue;
            };
            schedule.due_at = Some(lease_until);
            schedule.version += 1;
            taken.push(DueSchedule {
                business: owner,
                schedule: schedule.clone(),
            });
        }
        Ok(taken)
    }

    async fn list_schedules(
        &self,
        business: &BusinessId,
        filter: &ScheduleFilter,
    ) -> Result<Vec<BookingSchedule>, ScheduleError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        Ok(tenant
            .schedules
            .values()
            .filter(|s| filter.after.as_ref().is_none_or(|after| &s.booking > after))
            .filter(|s| filter.customer.as_ref().is_none_or(|c| &s.customer == c))
            .filter(|s| {
                filter
                    .needs_attention
                    .is_none_or(|n| s.needs_attention == n)
            })
            .take(filter.limit as usize)
            .cloned()
            .collect())
    }

    async fn set_customer_paused(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        paused: bool,
        replan_at: DateTime<Utc>,
    ) -> Result<(), ScheduleError> {
        let mut state = self.state.lock().await;
        let tenant = state.tenants.entry(business.clone()).or_default();
        if paused {
            tenant.paused_customers.insert(customer.clone());
            return Ok(());
        }
        tenant.paused_customers.remove(customer);
        for schedule in tenant.schedules.values_mut() {
            if &schedule.customer == customer && schedule.canceled_at.is_none() {
                due_by(&mut schedule.due_at, replan_at);
                schedule.version += 1;
            }
        }
        Ok(())
    }

    async fn customer_paused(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<bool, ScheduleError> {
        let state = self.state.lock().await;
        Ok(state
            .tenants
            .get(business)
            .is_some_and(|t| t.paused_customers.contains(customer)))
    }

    async fn record_run(
        &self,
        business: &BusinessId,
        run: &AutomationRun,
    ) -> Result<(), ScheduleError> {
        let mut state = self.state.lock().await;
        let tenant = state.tenants.entry(business.clone()).or_default();
        if !tenant.runs.iter().any(|r| r.id == run.id) {
            tenant.runs.push(run.clone());
        }
        Ok(())
    }

    async fn runs(
        &self,
        business: &BusinessId,
        filter: &RunFilter,
    ) -> Result<Vec<AutomationRun>, ScheduleError> {
        let state = self.state.lock().await;
        let Some(tenant) = state.tenants.get(business) else {
            return Ok(Vec::new());
        };
        let mut runs: Vec<AutomationRun> = tenant
            .runs
            .iter()
            .filter(|r| filter.booking.as_ref().is_none_or(|b| &r.booking == b))
            .filter(|r| filter.outcome.is_none_or(|o| r.outcome.name() == o))
            .filter(|r| {
                filter
                    .before
                    .as_ref()
                    .is_none_or(|(at, id)| (r.at, &r.id) < (*at, id))
            })
            .cloned()
            .collect();
        runs.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
        runs.truncate(filter.limit as usize);
        Ok(runs)
    }
}
