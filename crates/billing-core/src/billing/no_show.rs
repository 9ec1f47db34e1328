//! Marking a booking as a no-show: the customer was not there for the service. The booking's
//! automation stops (it is canceled), its holds are released, and the business's no-show fee
//! is charged to the card on file — by the same machinery as a late cancellation's fee.

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::BookingId;
use crate::ports::{BookingSchedule, LedgerRead};
use crate::receipt::Receipt;

/// The key prefix of a no-show fee's charge: `no-show-fee:{booking}`.
const NO_SHOW_FEE: &str = "no-show-fee";

/// What marking a booking as a no-show did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoShow {
    /// The booking's record: marked a no-show, and canceled.
    pub schedule: BookingSchedule,
    /// The holds released (each one's receipt).
    pub released: Vec<Receipt>,
    /// The fee's charge (settled, pending or declined); `None` when the booking owed nothing
    /// more to charge it from.
    pub fee: Option<Receipt>,
    /// True when the booking had been marked before: nothing was done again, and `fee` is
    /// the first charge's answer.
    pub already_marked: bool,
}

impl Billing {
    /// Marks a booking as a no-show and charges the business's no-show fee (a percentage of
    /// the price without tips, or a fixed amount, at most what the booking still owes) to
    /// the card on file, off-session; automation stops for the booking and its open holds are
    /// released. Refused, with nothing changed, when the business has no no-show fee
    /// ([`BillingError::InvalidInput`]), the customer has no card on file
    /// ([`BillingError::NoCardOnFile`]), the service was completed
    /// ([`BillingError::InvalidInput`]) or the booking was canceled
    /// ([`BillingError::BookingCanceled`]). Marking it again charges nothing more: the
    /// answer is the first one's, the fee's charge replayed under its key.
    pub async fn mark_no_show(
        &self,
        business: &Business,
        booking: &BookingId,
    ) -> Result<NoShow, BillingError> {
        let view = self.booking(business, booking).await?;
        let account = view.account;
        if let Some(schedule) = self
            .store
            .schedule(&business.id, booking)
            .await?
            .filter(|s| s.no_show_at.is_some())
        {
            let fee = self.first_fee(business, booking).await?;
            return Ok(NoShow {
                schedule,
                released: Vec::new(),
                fee,
                already_marked: true,
            });
        }
        let settings = self.payment_settings(business).await?;
        let Some(fee) = settings.no_show_fee else {
            return Err(BillingError::InvalidInput(
                "the business has no no-show fee: set one in its payment settings first",
            ));
        };
        if account.completed_at.is_some() {
            return Err(BillingError::InvalidInput(
                "the service was completed: a completed booking is not a no-show",
            ));
        }
        if self
            .store
            .schedule(&business.id, booking)
            .await?
            .is_some_and(|s| s.canceled_at.is_some())
        {
            return Err(BillingError::BookingCanceled(booking.clone()));
        }
        if self.cards(business, &account.customer).await?.is_empty() {
            return Err(BillingError::NoCardOnFile(account.customer.clone()));
        }
        let now = self.now();
        let schedule = self
            .change_schedule(business, &account, |s| {
                if s.canceled_at.is_some() && s.no_show_at.is_none() {
                    return Err(BillingError::BookingCanceled(s.booking.clone()));
                }
                s.no_show_at.get_or_insert(now);
                s.canceled_at.get_or_insert(now);
                s.next = None;
                s.due_at = None;
                Ok(())
            })
            .await?;
        let released = self.release_open_holds(business, booking).await?;
        // A fee of the price without tips: a tip is never part of what a fee is taken from.
        let amount = fee.of(&account.price()?)?;
        let fee = self
            .charge_fee(business, &account, amount, NO_SHOW_FEE)
            .await?;
        Ok(NoShow {
            schedule,
            released,
            fee,
            already_marked: false,
        })
    }

    /// The first answer of a no-show fee's charge, replayed; `None` when none was charged.
    async fn first_fee(
        &self,
        business: &Business,
        booking: &BookingId,
    ) -> Result<Option<Receipt>, BillingError> {
        let key = crate::idempotency::IdempotencyKey::new(format!("{NO_SHOW_FEE}:{booking}"))
            .map_err(|_| BillingError::InvalidInput("a booking id too long for a fee's key"))?;
        let read = LedgerRead::bookings(std::slice::from_ref(booking)).with_key(Some(&key));
        let snapshot = self.store.read(&business.id, &read).await?;
        let Some(record) = snapshot.key else {
            return Ok(None);
        };
        let fingerprint = record.fingerprint.clone();
        Ok(Some(self.replay(business, record, &fingerprint).await?))
    }
}
