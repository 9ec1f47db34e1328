//! The money-moving commands: charge, collect, authorize, capture, cancel a hold, refund, charge
//! many, reconcile.

use chrono::Duration;

use super::Billing;
use super::moves::{Locked, Move, Opened, capture_moves, refund_moves};
use super::reads::Receipt;
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BookingId, CustomerId, PaymentId};
use crate::money::Money;
use crate::payment::{
    Allocation, CardRef, CollectionMethod, KindName, Opening, Payment, PaymentEvent, PaymentKind,
    PaymentState,
};
use crate::ports::{
    BookingFilter, CancelRequest, CaptureRequest, CustomerDirectory, Ledger, PaymentGateway,
    PaymentRequest, RefundRequest, StoredResponse,
};
use crate::status::{BookingSummary, hold_remaining, refundable};

/// Which card a gateway payment uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentSource {
    /// The customer's default saved card.
    CardOnFile,
    /// One of the customer's saved cards, by the gateway's payment method id.
    Card(String),
}

impl PaymentSource {
    fn fingerprint(&self) -> String {
        match self {
            PaymentSource::CardOnFile => "card_on_file".into(),
            PaymentSource::Card(pm) => format!("card:{pm}"),
        }
    }
}

/// Charge a booking's card (captured at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeBooking {
    /// The booking.
    pub booking: BookingId,
    /// How much; the balance due (less what is in flight or held) when absent.
    pub amount: Option<Money>,
    /// Which card.
    pub source: PaymentSource,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Without a key, the same charge twice within the duplicate window is refused unless this
    /// says it is intended.
    pub allow_duplicate: bool,
}

/// Record money collected outside the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordCollection {
    /// The booking.
    pub booking: BookingId,
    /// How much; what can be charged when absent.
    pub amount: Option<Money>,
    /// Cash, check...
    pub method: CollectionMethod,
    /// A check number or transfer reference.
    pub reference: Option<String>,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Like [`ChargeBooking::allow_duplicate`].
    pub allow_duplicate: bool,
}

/// Place a hold on a booking's card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeBooking {
    /// The booking.
    pub booking: BookingId,
    /// How much; what can be charged when absent.
    pub amount: Option<Money>,
    /// Which card.
    pub source: PaymentSource,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// Capture all or part of a hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureHold {
    /// The hold.
    pub authorization: PaymentId,
    /// How much; what the hold can still capture (within the balance due) when absent.
    pub amount: Option<Money>,
    /// Release the rest of the hold after this capture (the usual case).
    pub final_capture: bool,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// Refund all or part of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPayment {
    /// The charge, collection or capture refunded.
    pub payment: PaymentId,
    /// How much; everything still refundable when absent.
    pub amount: Option<Money>,
    /// Why, for the records.
    pub reason: Option<String>,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// Charge several bookings, each for its balance due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkCharge {
    /// The bookings.
    pub bookings: Vec<BookingId>,
    /// Which card of each booking's customer.
    pub source: PaymentSource,
    /// The client's key; each booking's charge runs under the key's part for that booking.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// One booking's result in a bulk charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkChargeResult {
    /// The booking.
    pub booking: BookingId,
    /// Its charge's receipt, or why it was not charged.
    pub result: Result<Receipt, BillingError>,
}

fn amount_text(amount: Option<&Money>) -> String {
    amount.map_or_else(|| "balance".to_owned(), |m| m.to_string())
}

/// Checks a requested amount against what can be taken; `None` takes all of it.
fn checked_amount(
    requested: Option<Money>,
    summary: &BookingSummary,
    available: Money,
) -> Result<Money, BillingError> {
    let Some(requested) = requested else {
        return if available.is_positive() {
            Ok(available)
        } else {
            Err(BillingError::NothingToCharge {
                booking: summary.booking.clone(),
                balance_due: summary.balance.balance_due,
            })
        };
    };
    if requested.currency() != summary.currency {
        return Err(BillingError::WrongCurrency {
            expected: summary.currency,
            got: requested.currency(),
        });
    }
    if !requested.is_positive() {
        return Err(BillingError::NonPositiveAmount(requested));
    }
    if requested.checked_cmp(&available)?.is_gt() {
        return Err(BillingError::AmountExceedsBalance {
            requested,
            available,
        });
    }
    Ok(requested)
}

impl<S, G> Billing<S, G>
where
    S: Ledger + CustomerDirectory,
    G: PaymentGateway,
{
    /// Charges a booking's saved card, captured at once. The amount defaults to what can be
    /// charged. A decline is recorded and returned as [`BillingError::Declined`]; an unknown
    /// gateway outcome returns the payment pending.
    pub async fn charge(
        &self,
        business: &Business,
        command: ChargeBooking,
    ) -> Result<Receipt, BillingError> {
        let fingerprint = Fingerprint(format!(
            "charge|{}|{}|{}",
            command.booking,
            amount_text(command.amount.as_ref()),
            command.source.fingerprint()
        ));
        self.card_payment(
            business,
            &command.booking,
            command.amount,
            &command.source,
            command.idempotency_key.as_ref(),
            &fingerprint,
            Some(command.allow_duplicate),
        )
        .await
    }

    /// Places a hold on a booking's saved card, like [`Billing::charge`].
    pub async fn authorize(
        &self,
        business: &Business,
        command: AuthorizeBooking,
    ) -> Result<Receipt, BillingError> {
        let fingerprint = Fingerprint(format!(
            "authorize|{}|{}|{}",
            command.booking,
            amount_text(command.amount.as_ref()),
            command.source.fingerprint()
        ));
        self.card_payment(
            business,
            &command.booking,
            command.amount,
            &command.source,
            command.idempotency_key.as_ref(),
            &fingerprint,
            None,
        )
        .await
    }

    /// A charge (`duplicate_check` is `Some`) or a hold (`None`) on a saved card.
    #[allow(clippy::too_many_arguments)]
    async fn card_payment(
        &self,
        business: &Business,
        booking: &BookingId,
        amount: Option<Money>,
        source: &PaymentSource,
        key: Option<&IdempotencyKey>,
        fingerprint: &Fingerprint,
        duplicate_check: Option<bool>,
    ) -> Result<Receipt, BillingError> {
        if let Some(record) = self.recorded(business, key).await? {
            return self.replay(business, record, fingerprint).await;
        }
        let (customer, card) = self.card_for(business, booking, source).await?;
        let hold = duplicate_check.is_none();
        let check_duplicates = key.is_none() && duplicate_check == Some(false);
        let now = self.now();
        let window = self.policy.duplicate_window;
        let opened = self
            .open(
                business,
                std::slice::from_ref(booking),
                key,
                fingerprint,
                |locked, _id| {
                    let summary = locked.summary(booking)?;
                    if summary.customer != customer {
                        return Err(BillingError::CustomerNotFound(customer.clone()));
                    }
                    let amount = checked_amount(amount, summary, summary.balance.chargeable())?;
                    if check_duplicates {
                        refuse_duplicate(locked, booking, KindName::Charge, &amount, now - window)?;
                    }
                    let kind = if hold {
                        PaymentKind::Authorization { card: card.clone() }
                    } else {
                        PaymentKind::Charge { card: card.clone() }
                    };
                    let opening = Opening {
                        customer: customer.clone(),
                        kind,
                        amount,
                        allocations: Self::single(booking, amount),
                        state: PaymentState::Pending,
                    };
                    Ok((opening, ()))
                },
            )
            .await?;
        let payment = match opened {
            Opened::Replay(record) => return self.replay(business, record, fingerprint).await,
            Opened::New(payment, ()) => payment,
        };
        let request = PaymentRequest {
            account: business.gateway_account.clone(),
            payment: payment.id.clone(),
            idempotency_key: payment.gateway_idempotency_key(),
            card,
            amount: payment.amount,
            description: payment.gateway_description(),
        };
        let answer = if hold {
            self.gateway.authorize(&request).await
        } else {
            self.gateway.charge(&request).await
        };
        let moves = answer.and_then(|answer| self.payment_moves(&payment, &answer));
        self.finish(business, &payment, key, moves).await
    }

    /// Records money collected outside the gateway (cash, check, e-transfer...). It counts as
    /// paid at once.
    pub async fn record_collection(
        &self,
        business: &Business,
        command: RecordCollection,
    ) -> Result<Receipt, BillingError> {
        let fingerprint = Fingerprint(format!(
            "collection|{}|{}|{}|{}",
            command.booking,
            amount_text(command.amount.as_ref()),
            command.method,
            command.reference.as_deref().unwrap_or("")
        ));
        let key = command.idempotency_key.as_ref();
        if let Some(record) = self.recorded(business, key).await? {
            return self.replay(business, record, &fingerprint).await;
        }
        if command.reference.as_ref().is_some_and(|r| r.len() > 200) {
            return Err(BillingError::InvalidInput(
                "a collection reference has at most 200 characters",
            ));
        }
        let check_duplicates = key.is_none() && !command.allow_duplicate;
        let cutoff = self.now() - self.policy.duplicate_window;
        let booking = &command.booking;
        let opened = self
            .open(
                business,
                std::slice::from_ref(booking),
                key,
                &fingerprint,
                |locked, _id| {
                    let summary = locked.summary(booking)?;
                    let amount =
                        checked_amount(command.amount, summary, summary.balance.chargeable())?;
                    if check_duplicates {
                        refuse_duplicate(locked, booking, KindName::Collection, &amount, cutoff)?;
                    }
                    let opening = Opening {
                        customer: summary.customer.clone(),
                        kind: PaymentKind::Collection {
                            method: command.method.clone(),
                            reference: command.reference.clone(),
                        },
                        amount,
                        allocations: Self::single(booking, amount),
                        state: PaymentState::Succeeded,
                    };
                    Ok((opening, ()))
                },
            )
            .await?;
        match opened {
            Opened::Replay(record) => self.replay(business, record, &fingerprint).await,
            Opened::New(payment, ()) => self.receipt(business, &payment.id).await,
        }
    }

    /// Captures all or part of a hold. Bounded by what the hold can still capture and by the
    /// balance due less what is in flight; with a final capture the rest is released.
    pub async fn capture(
        &self,
        business: &Business,
        command: CaptureHold,
    ) -> Result<Receipt, BillingError> {
        let fingerprint = Fingerprint(format!(
            "capture|{}|{}|{}",
            command.authorization,
            amount_text(command.amount.as_ref()),
            command.final_capture
        ));
        let key = command.idempotency_key.as_ref();
        if let Some(record) = self.recorded(business, key).await? {
            return self.replay(business, record, &fingerprint).await;
        }
        let bookings = self.bookings_of(business, &command.authorization).await?;
        let now = self.now();
        let hold_id = &command.authorization;
        let opened = self
            .open(business, &bookings, key, &fingerprint, |locked, _id| {
                let hold = locked.payment(hold_id)?;
                if hold.kind.name() != KindName::Authorization {
                    return Err(BillingError::NotAHold(hold_id.clone()));
                }
                if !matches!(
                    hold.state,
                    PaymentState::Authorized | PaymentState::PartiallyCaptured
                ) {
                    return Err(BillingError::HoldNotOpen {
                        payment: hold_id.clone(),
                        state: hold.state.name(),
                    });
                }
                if hold.hold_expires_at.is_some_and(|at| now >= at) {
                    return Err(BillingError::HoldExpired(hold_id.clone()));
                }
                let booking = hold
                    .allocations
                    .first()
                    .map(|a| a.booking.clone())
                    .ok_or_else(|| BillingError::Inconsistent("hold without booking".into()))?;
                let summary = locked.summary(&booking)?;
                let capturable = hold_remaining(hold, &booking, &locked.payments)?;
                let due = summary
                    .balance
                    .balance_due
                    .checked_sub(&summary.balance.in_flight)?
                    .clamp_at_zero();
                let amount = match command.amount {
                    Some(requested)
                        if requested.currency() == capturable.currency()
                            && requested.checked_cmp(&capturable)?.is_gt() =>
                    {
                        return Err(BillingError::CaptureExceedsHold {
                            requested,
                            capturable,
                        });
                    }
                    requested => checked_amount(requested, summary, capturable.checked_min(&due)?)?,
                };
                let reference = hold.gateway_reference.clone().ok_or_else(|| {
                    BillingError::Inconsistent("hold without gateway reference".into())
                })?;
                let opening = Opening {
                    customer: hold.customer.clone(),
                    kind: PaymentKind::Capture {
                        authorization: hold_id.clone(),
                        final_capture: command.final_capture,
                    },
                    amount,
                    allocations: Self::single(&booking, amount),
                    state: PaymentState::Pending,
                };
                Ok((opening, reference))
            })
            .await?;
        let (capture, reference) = match opened {
            Opened::Replay(record) => return self.replay(business, record, &fingerprint).await,
            Opened::New(payment, reference) => (payment, reference),
        };
        let request = CaptureRequest {
            account: business.gateway_account.clone(),
            payment_reference: reference,
            capture: capture.id.clone(),
            idempotency_key: capture.gateway_idempotency_key(),
            amount: capture.amount,
            final_capture: command.final_capture,
        };
        let answer = self.gateway.capture(&request).await;
        let moves =
            answer.map(|answer| capture_moves(&capture, hold_id, command.final_capture, &answer));
        self.finish(business, &capture, key, moves).await
    }

    /// Releases a hold (what was captured stays captured). Canceling twice is refused as
    /// [`BillingError::HoldNotOpen`].
    pub async fn cancel_hold(
        &self,
        business: &Business,
        hold: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        let receipt = self.receipt(business, hold).await?;
        let payment = &receipt.payment;
        if payment.kind.name() != KindName::Authorization {
            return Err(BillingError::NotAHold(hold.clone()));
        }
        let open = matches!(
            payment.state,
            PaymentState::Authorized
                | PaymentState::PartiallyCaptured
                | PaymentState::RequiresAction
        );
        let Some(reference) = payment.gateway_reference.clone().filter(|_| open) else {
            return Err(BillingError::HoldNotOpen {
                payment: hold.clone(),
                state: payment.state.name(),
            });
        };
        let request = CancelRequest {
            account: business.gateway_account.clone(),
            payment_reference: reference.clone(),
            idempotency_key: Self::cancel_key(hold),
        };
        self.gateway
            .cancel(&request)
            .await
            .map_err(|error| BillingError::Gateway {
                payment: Some(hold.clone()),
                error,
            })?;
        let release = Move {
            payment: hold.clone(),
            event: PaymentEvent::Canceled,
            gateway_reference: Some(reference),
            hold_expires_at: None,
        };
        self.apply_moves(business, &payment.bookings(), &[release], None)
            .await?
            .receipt(hold, self.now())
    }

    /// Refunds all or part of a charge, collection or capture, bounded by what is still
    /// refundable. A collection's refund is recorded as handed back at once.
    pub async fn refund(
        &self,
        business: &Business,
        command: RefundPayment,
    ) -> Result<Receipt, BillingError> {
        let fingerprint = Fingerprint(format!(
            "refund|{}|{}|{}",
            command.payment,
            amount_text(command.amount.as_ref()),
            command.reason.as_deref().unwrap_or("")
        ));
        let key = command.idempotency_key.as_ref();
        if let Some(record) = self.recorded(business, key).await? {
            return self.replay(business, record, &fingerprint).await;
        }
        let bookings = self.bookings_of(business, &command.payment).await?;
        let target_id = &command.payment;
        let opened = self
            .open(business, &bookings, key, &fingerprint, |locked, _id| {
                let target = locked.payment(target_id)?;
                if !matches!(
                    target.kind.name(),
                    KindName::Charge | KindName::Collection | KindName::Capture
                ) {
                    return Err(BillingError::NotRefundable {
                        payment: target_id.clone(),
                        reason: "it did not move money",
                    });
                }
                if target.state != PaymentState::Succeeded {
                    return Err(BillingError::NotRefundable {
                        payment: target_id.clone(),
                        reason: "it has not succeeded",
                    });
                }
                let left = refundable(target, &locked.payments)?;
                let amount = match command.amount {
                    None if left.is_positive() => left,
                    None => {
                        return Err(BillingError::NotRefundable {
                            payment: target_id.clone(),
                            reason: "it is fully refunded",
                        });
                    }
                    Some(requested) => {
                        if requested.currency() != left.currency() {
                            return Err(BillingError::WrongCurrency {
                                expected: left.currency(),
                                got: requested.currency(),
                            });
                        }
                        if !requested.is_positive() {
                            return Err(BillingError::NonPositiveAmount(requested));
                        }
                        if requested.checked_cmp(&left)?.is_gt() {
                            return Err(BillingError::RefundExceedsRefundable {
                                requested,
                                refundable: left,
                            });
                        }
                        requested
                    }
                };
                let allocations = refund_allocations(target, &locked.payments, amount)?;
                let offline = target.kind.name() == KindName::Collection;
                let opening = Opening {
                    customer: target.customer.clone(),
                    kind: PaymentKind::Refund {
                        of: target_id.clone(),
                        reason: command.reason.clone(),
                    },
                    amount,
                    allocations,
                    state: if offline {
                        PaymentState::Succeeded
                    } else {
                        PaymentState::Pending
                    },
                };
                Ok((
                    opening,
                    target.gateway_reference.clone().filter(|_| !offline),
                ))
            })
            .await?;
        let (refund, reference) = match opened {
            Opened::Replay(record) => return self.replay(business, record, &fingerprint).await,
            Opened::New(payment, reference) => (payment, reference),
        };
        let Some(reference) = reference else {
            return self.receipt(business, &refund.id).await;
        };
        let request = RefundRequest {
            account: business.gateway_account.clone(),
            payment_reference: reference,
            refund: refund.id.clone(),
            idempotency_key: refund.gateway_idempotency_key(),
            amount: refund.amount,
            reason: command.reason.clone(),
        };
        let answer = self.gateway.refund(&request).await;
        self.finish(
            business,
            &refund,
            key,
            answer.map(|answer| refund_moves(&refund, &answer)),
        )
        .await
    }

    /// Charges several bookings, each for what can be charged, one after the other. Every
    /// booking gets its own result: one decline does not stop the others. Callers that want
    /// them in parallel call [`Billing::charge`] concurrently instead.
    pub async fn charge_many(
        &self,
        business: &Business,
        command: BulkCharge,
    ) -> Vec<BulkChargeResult> {
        let mut results = Vec::with_capacity(command.bookings.len());
        for booking in command.bookings {
            let charge = ChargeBooking {
                booking: booking.clone(),
                amount: None,
                source: command.source.clone(),
                idempotency_key: command
                    .idempotency_key
                    .as_ref()
                    .map(|k| k.part(booking.as_str())),
                allow_duplicate: false,
            };
            let result = self.charge(business, charge).await;
            results.push(BulkChargeResult { booking, result });
        }
        results
    }

    /// Settles a pending payment from the gateway's record (or by sending the same request
    /// again under the same idempotency key when the gateway has none). A settled payment is
    /// returned as it is.
    pub async fn reconcile(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<Receipt, BillingError> {
        self.reconcile_with_key(business, payment, None).await
    }

    /// Reconciles every payment of the business pending for longer than `older_than`.
    pub async fn reconcile_pending(
        &self,
        business: &Business,
        older_than: Duration,
    ) -> Result<Vec<(PaymentId, Result<Receipt, BillingError>)>, BillingError> {
        let cutoff = self.now() - older_than;
        let mut results = Vec::new();
        let mut after = None;
        loop {
            let filter = BookingFilter {
                pending: Some(true),
                after: after.clone(),
                limit: 200,
                ..BookingFilter::default()
            };
            let page = self.store.list_summaries(&business.id, &filter).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.booking.clone());
            for summary in &page {
                let view = self.booking(business, &summary.booking).await?;
                for payment in view
                    .payments
                    .iter()
                    .filter(|p| p.state.is_in_flight() && p.created_at <= cutoff)
                {
                    if results.iter().any(|(id, _)| id == &payment.id) {
                        continue;
                    }
                    let result = self.reconcile(business, &payment.id).await;
                    results.push((payment.id.clone(), result));
                }
            }
        }
        Ok(results)
    }

    /// Keeps the adapter's first answer to the command made under `key`, so that a replay
    /// hands it back in [`Receipt::first_response`] and the client gets the same status and
    /// body again, byte for byte, however the payment and its bookings changed since. Only a
    /// completed command's answer is kept, and only the first one saved: saving again, or
    /// under a key that is unknown or still in progress, changes nothing. Save only final
    /// answers (not a "still pending" one: a later replay settles it and answers anew).
    pub async fn save_response(
        &self,
        business: &Business,
        key: &IdempotencyKey,
        response: StoredResponse,
    ) -> Result<(), BillingError> {
        self.store
            .save_response(&business.id, key, &response)
            .await?;
        Ok(())
    }

    async fn recorded(
        &self,
        business: &Business,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<crate::ports::IdempotencyRecord>, BillingError> {
        match key {
            Some(key) => Ok(self.store.idempotency(&business.id, key).await?),
            None => Ok(None),
        }
    }

    async fn bookings_of(
        &self,
        business: &Business,
        payment: &PaymentId,
    ) -> Result<Vec<BookingId>, BillingError> {
        self.store
            .payment_bookings(&business.id, payment)
            .await?
            .ok_or_else(|| BillingError::PaymentNotFound(payment.clone()))
    }

    /// The booking's customer and the card to use.
    async fn card_for(
        &self,
        business: &Business,
        booking: &BookingId,
        source: &PaymentSource,
    ) -> Result<(CustomerId, CardRef), BillingError> {
        let ledgers = self
            .store
            .load(&business.id, std::slice::from_ref(booking))
            .await?;
        let account = ledgers
            .into_iter()
            .next()
            .map(|l| l.account)
            .ok_or_else(|| BillingError::BookingNotFound(booking.clone()))?;
        let customer = self
            .store
            .customer(&business.id, &account.customer)
            .await?
            .ok_or_else(|| BillingError::CustomerNotFound(account.customer.clone()))?;
        let gateway_customer = customer
            .gateway_customer
            .clone()
            .ok_or_else(|| BillingError::NoCardOnFile(customer.id.clone()))?;
        let cards = self.store.cards(&business.id, &customer.id).await?;
        let card = match source {
            PaymentSource::CardOnFile => cards
                .iter()
                .find(|c| c.is_default)
                .or_else(|| {
                    if cards.len() == 1 {
                        cards.first()
                    } else {
                        None
                    }
                })
                .ok_or_else(|| BillingError::NoCardOnFile(customer.id.clone()))?,
            PaymentSource::Card(pm) => cards
                .iter()
                .find(|c| &c.payment_method == pm)
                .ok_or_else(|| BillingError::CardNotFound(pm.clone()))?,
        };
        Ok((
            customer.id,
            CardRef {
                gateway_customer,
                payment_method: card.payment_method.clone(),
            },
        ))
    }
}

/// Refuses a payment of the same kind and amount made on the booking since `since` that did not
/// fail.
fn refuse_duplicate(
    locked: &Locked,
    booking: &BookingId,
    kind: KindName,
    amount: &Money,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<(), BillingError> {
    let previous = locked.payments.iter().rev().find(|p| {
        p.kind.name() == kind
            && &p.amount == amount
            && p.created_at >= since
            && p.allocations.iter().any(|a| &a.booking == booking)
            && !matches!(p.state, PaymentState::Failed(_) | PaymentState::Canceled)
    });
    match previous {
        Some(previous) => Err(BillingError::ProbableDuplicate {
            booking: booking.clone(),
            previous: previous.id.clone(),
        }),
        None => Ok(()),
    }
}

/// Splits a refund across the bookings of the payment refunded, in proportion to what each can
/// still get back, so that no booking is refunded more than it paid.
fn refund_allocations(
    target: &Payment,
    payments: &[Payment],
    amount: Money,
) -> Result<Vec<Allocation>, BillingError> {
    let mut weights = Vec::with_capacity(target.allocations.len());
    for allocation in &target.allocations {
        let mut left = allocation.amount;
        for refund in payments.iter().filter(|p| {
            matches!(&p.kind, PaymentKind::Refund { of, .. } if of == &target.id)
                && (p.state == PaymentState::Succeeded || p.state.is_in_flight())
        }) {
            left = left.checked_sub(&refund.share_of(&allocation.booking))?;
        }
        weights.push(u64::try_from(left.clamp_at_zero().to_minor()?).unwrap_or(0));
    }
    let parts = amount.allocate(&weights)?;
    Ok(target
        .allocations
        .iter()
        .zip(parts)
        .filter(|(_, part)| !part.is_zero())
        .map(|(allocation, part)| Allocation {
            booking: allocation.booking.clone(),
            amount: part,
        })
        .collect())
}
