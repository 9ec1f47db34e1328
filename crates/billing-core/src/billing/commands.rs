//! Taking money for a booking: a charge or a hold on a saved card, or a collection recorded.

use super::Billing;
use super::gateway_calls::GatewayCall;
use super::ledgers::Ledgers;
use super::moves::{OpenPayment, Opened, Payer};
use crate::customer::Business;
use crate::error::BillingError;
use crate::idempotency::{Fingerprint, IdempotencyKey};
use crate::ids::{BookingId, PaymentId};
use crate::money::{Amount, Money, MoneyError};
use crate::payment::{
    Allocation, CardRef, CollectionMethod, KindName, Opening, Origin, PaymentKind, PaymentState,
};
use crate::ports::LedgerRead;
use crate::receipt::Receipt;
use crate::status::{BookingSummary, hold_remaining};
use crate::tip::{Tip, TipError};

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
    pub amount: Option<Amount>,
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
    pub amount: Option<Amount>,
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
    pub amount: Option<Amount>,
    /// Which card.
    pub source: PaymentSource,
    /// The client's idempotency key.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// A charge or a hold on a saved card, as its command asks.
#[derive(Debug, Clone)]
pub(super) struct CardPayment<'a> {
    pub(super) booking: &'a BookingId,
    pub(super) amount: Option<Amount>,
    pub(super) source: &'a PaymentSource,
    pub(super) key: Option<&'a IdempotencyKey>,
    /// A hold rather than a charge.
    pub(super) hold: bool,
    /// Refuse the same charge made moments ago (a charge without a key, not said intended).
    pub(super) refuse_duplicates: bool,
    /// Who makes it: a command, or automation.
    pub(super) origin: Origin,
    /// A hold this one replaces (automation renewing a hold that would run out): what it can
    /// still capture counts as available, since it is released once the new one is placed.
    pub(super) replacing: Option<&'a PaymentId>,
    /// A tip charged on top of the amount (a charge's only), in the booking's currency.
    pub(super) tip: Option<Amount>,
}

/// An amount as a command asks it, in a fingerprint: the money, or "balance".
fn amount_text(amount: Option<&Money>) -> String {
    amount.map_or_else(|| "balance".to_owned(), |m| m.to_string())
}

/// The amount asked, read in `currency`.
pub(super) fn resolve(
    amount: Option<&Amount>,
    currency: crate::money::Currency,
) -> Result<Option<Money>, BillingError> {
    amount
        .map(|a| {
            a.in_currency(currency).map_err(|error| match error {
                MoneyError::CurrencyMismatch { left, right } => BillingError::WrongCurrency {
                    expected: left,
                    got: right,
                },
                other => BillingError::InvalidAmount(other),
            })
        })
        .transpose()
}

/// Checks a requested amount against what can be taken; `None` takes all of it.
pub(super) fn checked_amount(
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

/// The payment's allocation for a new payment over one booking.
pub(super) fn single(booking: &BookingId, amount: Money) -> Vec<Allocation> {
    vec![Allocation::of(booking.clone(), amount)]
}

/// The card a payment uses: the payer's default (or only) card, or the one named.
fn card_of(
    payer: Option<&Payer>,
    booking: &BookingId,
    ledgers: &Ledgers,
    source: &PaymentSource,
) -> Result<CardRef, BillingError> {
    let customer = &ledgers.summary(booking)?.customer;
    let (profile, cards) = payer
        .filter(|(profile, _)| &profile.id == customer)
        .ok_or_else(|| BillingError::CustomerNotFound(customer.clone()))?;
    let gateway_customer = profile
        .gateway_customer
        .clone()
        .ok_or_else(|| BillingError::NoCardOnFile(customer.clone()))?;
    let card = match source {
        PaymentSource::CardOnFile => {
            let only = match cards.as_slice() {
                [only] => Some(only),
                _ => None,
            };
            cards
                .iter()
                .find(|c| c.is_default)
                .or(only)
                .ok_or_else(|| BillingError::NoCardOnFile(customer.clone()))?
        }
        PaymentSource::Card(pm) => cards
            .iter()
            .find(|c| &c.payment_method == pm)
            .ok_or_else(|| BillingError::CardNotFound(pm.clone()))?,
    };
    Ok(CardRef {
        gateway_customer,
        payment_method: card.payment_method.clone(),
    })
}

impl Billing {
    /// Charges a booking's saved card, captured at once, with the customer away. The amount
    /// defaults to what can be charged, and must be one the gateway can charge
    /// ([`BillingError::AmountNotChargeable`]). A decline is recorded and answered as a
    /// declined receipt (a card that asks for authentication too: its failure
    /// [suggests a payment link](crate::payment::Failure::suggests_payment_link)); an unknown
    /// gateway outcome answers the payment pending.
    pub async fn charge(
        &self,
        business: &Business,
        command: ChargeBooking,
    ) -> Result<Receipt, BillingError> {
        self.charge_as(business, command, Origin::Command).await
    }

    /// [`Billing::charge`], recorded as made by `origin` (a member of staff, say).
    pub async fn charge_as(
        &self,
        business: &Business,
        command: ChargeBooking,
        origin: Origin,
    ) -> Result<Receipt, BillingError> {
        self.charge_with_tip_as(business, command, None, origin)
            .await
    }

    /// [`Billing::charge_as`] with a tip on top of the amount: one charge of both, the tip
    /// recorded as the tip part of the booking's share. The tip joins the booking's price (a
    /// line of its own) only if the charge succeeds; declined, failed or abandoned, it leaves
    /// nothing owed. The tip is part of what the key's record remembers: the same command
    /// again replays the first charge (one tip), another tip under the key is refused
    /// ([`BillingError::IdempotencyKeyReused`]). A tip is positive, in the booking's currency
    /// with no more digits than it allows, and at most the amount charged for the service.
    pub async fn charge_with_tip_as(
        &self,
        business: &Business,
        command: ChargeBooking,
        tip: Option<Amount>,
        origin: Origin,
    ) -> Result<Receipt, BillingError> {
        let key = command.idempotency_key.as_ref();
        let payment = CardPayment {
            booking: &command.booking,
            amount: command.amount,
            source: &command.source,
            key,
            hold: false,
            refuse_duplicates: key.is_none() && !command.allow_duplicate,
            origin,
            replacing: None,
            tip,
        };
        let opened = self.open_card_payment(business, &payment).await?;
        self.proceed(business, opened, key).await
    }

    /// Places a hold on a booking's saved card, like [`Billing::charge`].
    pub async fn authorize(
        &self,
        business: &Business,
        command: AuthorizeBooking,
    ) -> Result<Receipt, BillingError> {
        let key = command.idempotency_key.as_ref();
        let payment = CardPayment {
            booking: &command.booking,
            amount: command.amount,
            source: &command.source,
            key,
            hold: true,
            refuse_duplicates: false,
            origin: Origin::Command,
            replacing: None,
            tip: None,
        };
        let opened = self.open_card_payment(business, &payment).await?;
        self.proceed(business, opened, key).await
    }

    /// Step 1 of a charge or hold: the payment opened, pending, or the key's earlier record.
    pub(super) async fn open_card_payment(
        &self,
        business: &Business,
        p: &CardPayment<'_>,
    ) -> Result<Opened, BillingError> {
        let booking = p.booking;
        let verb = if p.hold { "authorize" } else { "charge" };
        let read = LedgerRead::bookings(std::slice::from_ref(booking))
            .with_key(p.key)
            .with_payer();
        let window = self.now() - self.policy.duplicate_window;
        // Read before anything opens, and refused only for a new payment: a replay of an
        // earlier command still answers it.
        let account_check = self.account_can_charge(business).await;
        self.open(
            business,
            read,
            |ledgers| {
                let currency = ledgers.summary(booking)?.currency;
                let amount = resolve(p.amount.as_ref(), currency)?;
                // A tip is said only when there is one, so that the records of keys used
                // before tips existed still match the same command.
                let tip = match resolve(p.tip.as_ref(), currency)? {
                    Some(tip) => format!("|tip:{tip}"),
                    None => String::new(),
                };
                Ok(Fingerprint(format!(
                    "{verb}|{booking}|{}|{}{tip}",
                    amount_text(amount.as_ref()),
                    p.source.fingerprint()
                )))
            },
            |ledgers, payer| {
                account_check.clone()?;
                let card = card_of(payer, booking, ledgers, p.source)?;
                let summary = ledgers.summary(booking)?;
                let asked = resolve(p.amount.as_ref(), summary.currency)?;
                let mut available = summary.balance.chargeable();
                if let Some(old) = p.replacing {
                    let old = ledgers.payment(old)?;
                    available =
                        available.checked_add(&hold_remaining(old, booking, &ledgers.payments)?)?;
                }
                let service = checked_amount(asked, summary, available)?;
                let tip = match &p.tip {
                    Some(tip) if !p.hold => Tip::Amount(*tip).on(&service).map_err(tip_refused)?,
                    Some(_) => {
                        return Err(BillingError::InvalidInput(
                            "a tip is given with a charge, not a hold",
                        ));
                    }
                    None => None,
                };
                let amount = match &tip {
                    Some(tip) => service.checked_add(tip)?,
                    None => service,
                };
                self.gateway.check_amount(&amount)?;
                if p.refuse_duplicates {
                    refuse_duplicate(ledgers, booking, KindName::Charge, &amount, window)?;
                }
                let kind = if p.hold {
                    PaymentKind::Authorization { card }
                } else {
                    PaymentKind::Charge { card }
                };
                let opening = Opening {
                    customer: summary.customer.clone(),
                    kind,
                    amount,
                    allocations: vec![Allocation {
                        booking: booking.clone(),
                        amount,
                        tip,
                    }],
                    state: PaymentState::Pending,
                    origin: p.origin.clone(),
                };
                Ok(opening)
            },
        )
        .await
    }

    /// Steps 2 and 3 of a payment just opened: its request to the gateway, and the answer
    /// recorded.
    pub(super) async fn send_opened(
        &self,
        business: &Business,
        open: OpenPayment,
        key: Option<&IdempotencyKey>,
    ) -> Result<Receipt, BillingError> {
        let Some(call) = GatewayCall::of(business, &open.payment, &open.ledgers.payments)? else {
            return open.ledgers.receipt(&open.payment.id);
        };
        let answer = self.send(&open.payment, &call).await.map(|a| a.moves);
        self.finish(business, open, key, answer).await
    }

    /// Records money collected outside the gateway (cash, check, e-transfer...). It counts as
    /// paid at once.
    pub async fn record_collection(
        &self,
        business: &Business,
        command: RecordCollection,
    ) -> Result<Receipt, BillingError> {
        self.record_collection_as(business, command, Origin::Command)
            .await
    }

    /// [`Billing::record_collection`], recorded as made by `origin` (a member of staff, say).
    pub async fn record_collection_as(
        &self,
        business: &Business,
        command: RecordCollection,
        origin: Origin,
    ) -> Result<Receipt, BillingError> {
        if command.reference.as_ref().is_some_and(|r| r.len() > 200) {
            return Err(BillingError::InvalidInput(
                "a collection reference has at most 200 characters",
            ));
        }
        let key = command.idempotency_key.as_ref();
        let booking = &command.booking;
        let refuse_duplicates = key.is_none() && !command.allow_duplicate;
        let window = self.now() - self.policy.duplicate_window;
        let read = LedgerRead::bookings(std::slice::from_ref(booking)).with_key(key);
        let opened = self
            .open(
                business,
                read,
                |ledgers| {
                    let currency = ledgers.summary(booking)?.currency;
                    let amount = resolve(command.amount.as_ref(), currency)?;
                    Ok(Fingerprint(format!(
                        "collection|{booking}|{}|{}|{}",
                        amount_text(amount.as_ref()),
                        command.method,
                        command.reference.as_deref().unwrap_or("")
                    )))
                },
                |ledgers, _| {
                    let summary = ledgers.summary(booking)?;
                    let asked = resolve(command.amount.as_ref(), summary.currency)?;
                    let amount = checked_amount(asked, summary, summary.balance.chargeable())?;
                    if refuse_duplicates {
                        refuse_duplicate(ledgers, booking, KindName::Collection, &amount, window)?;
                    }
                    let opening = Opening {
                        customer: summary.customer.clone(),
                        kind: PaymentKind::Collection {
                            method: command.method.clone(),
                            reference: command.reference.clone(),
                        },
                        amount,
                        allocations: single(booking, amount),
                        state: PaymentState::Succeeded,
                        origin: origin.clone(),
                    };
                    Ok(opening)
                },
            )
            .await?;
        self.proceed(business, opened, key).await
    }
}

/// A tip refused, as the error a command answers.
pub(super) fn tip_refused(error: TipError) -> BillingError {
    match error {
        TipError::Negative => BillingError::InvalidInput("a tip cannot be negative"),
        TipError::TooLarge { .. } => {
            BillingError::InvalidInput("a tip is at most the amount it is given on")
        }
        TipError::Money(MoneyError::CurrencyMismatch { left, right }) => {
            BillingError::WrongCurrency {
                expected: left,
                got: right,
            }
        }
        TipError::Money(other) => BillingError::InvalidAmount(other),
    }
}

/// Refuses a payment of the same kind and amount made on the booking since `since` that did not
/// fail.
fn refuse_duplicate(
    ledgers: &Ledgers,
    booking: &BookingId,
    kind: KindName,
    amount: &Money,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<(), BillingError> {
    let previous = ledgers.payments.iter().rev().find(|p| {
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
