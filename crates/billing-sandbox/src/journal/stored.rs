//! The journal's record formats: plain data written as JSON, apart from the core's types (which
//! carry no serialization) and from the sandbox's own, so that renaming a field in code never
//! makes a journal unreadable. Amounts are kept as ISO minor units with their currency, times
//! as RFC 3339 text.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use billing_core::customer::SavedCard;
use billing_core::ids::{BusinessId, CustomerId, PaymentId};
use billing_core::money::{Currency, Money};
use billing_core::payment::Failure;
use billing_core::ports::{
    CardSetup, GatewayPayment, GatewayRefund, GatewayStatus, NextAction, RefundStatus,
};

use crate::cards;
use crate::state::{CustomerRecord, Event, Intent, Method, Reply, Saved, Setup, SetupStage};

/// Why a record could not be written or read back.
pub(crate) type Invalid = String;

/// One line of the journal holds the records one call changed, written at once so that a
/// call's changes are kept whole or not at all.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub(crate) enum Record {
    /// The first line: the format's version.
    Journal { version: u32 },
    Customer {
        account: Option<String>,
        customer: StoredCustomer,
    },
    Method {
        account: Option<String>,
        method: StoredMethod,
    },
    /// A card typed into the card form, not yet used by an account.
    LooseMethod { method: StoredMethod },
    /// A card-form method some account took (its record follows as a `method`).
    LooseMethodTaken { id: String },
    Intent {
        account: Option<String>,
        intent: Box<StoredIntent>,
    },
    Setup {
        account: Option<String>,
        setup: StoredSetup,
    },
    Key {
        account: Option<String>,
        key: String,
        saved: StoredKey,
    },
    Event {
        account: Option<String>,
        event: StoredEvent,
    },
}

/// The journal format written by this build.
pub(crate) const VERSION: u32 = 1;

/// An amount: currency code and ISO minor units.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredMoney(String, i64);

fn money(amount: &Money) -> Result<StoredMoney, Invalid> {
    let minor = amount.to_minor().map_err(|e| e.to_string())?;
    Ok(StoredMoney(amount.currency().code().to_owned(), minor))
}

fn from_money(stored: &StoredMoney) -> Result<Money, Invalid> {
    let currency = Currency::from_code(&stored.0).map_err(|e| e.to_string())?;
    Ok(Money::from_minor(stored.1, currency))
}

fn time(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn from_time(text: &str) -> Result<DateTime<Utc>, Invalid> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?}: {e}"))
}

fn from_optional_time(text: Option<&String>) -> Result<Option<DateTime<Utc>>, Invalid> {
    text.map(|t| from_time(t)).transpose()
}

fn payment_id(text: &str) -> Result<PaymentId, Invalid> {
    PaymentId::new(text).map_err(|e| e.to_string())
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredFailure {
    code: String,
    decline_code: Option<String>,
    message: String,
}

impl From<&Failure> for StoredFailure {
    fn from(failure: &Failure) -> Self {
        StoredFailure {
            code: failure.code.clone(),
            decline_code: failure.decline_code.clone(),
            message: failure.message.clone(),
        }
    }
}

impl From<StoredFailure> for Failure {
    fn from(stored: StoredFailure) -> Self {
        Failure {
            code: stored.code,
            decline_code: stored.decline_code,
            message: stored.message,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoredStatus {
    Succeeded,
    RequiresCapture,
    RequiresAction,
    Processing,
    Failed(StoredFailure),
    Canceled,
    Expired,
}

impl From<&GatewayStatus> for StoredStatus {
    fn from(status: &GatewayStatus) -> Self {
        match status {
            GatewayStatus::Succeeded => StoredStatus::Succeeded,
            GatewayStatus::RequiresCapture => StoredStatus::RequiresCapture,
            GatewayStatus::RequiresAction => StoredStatus::RequiresAction,
            GatewayStatus::Processing => StoredStatus::Processing,
            GatewayStatus::Failed(failure) => StoredStatus::Failed(failure.into()),
            GatewayStatus::Canceled => StoredStatus::Canceled,
            GatewayStatus::Expired => StoredStatus::Expired,
        }
    }
}

impl From<StoredStatus> for GatewayStatus {
    fn from(stored: StoredStatus) -> Self {
        match stored {
            StoredStatus::Succeeded => GatewayStatus::Succeeded,
            StoredStatus::RequiresCapture => GatewayStatus::RequiresCapture,
            StoredStatus::RequiresAction => GatewayStatus::RequiresAction,
            StoredStatus::Processing => GatewayStatus::Processing,
            StoredStatus::Failed(failure) => GatewayStatus::Failed(failure.into()),
            StoredStatus::Canceled => GatewayStatus::Canceled,
            StoredStatus::Expired => GatewayStatus::Expired,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredCard {
    payment_method: String,
    brand: String,
    last4: String,
    exp_month: u32,
    exp_year: u32,
    is_default: bool,
}

impl From<&SavedCard> for StoredCard {
    fn from(card: &SavedCard) -> Self {
        StoredCard {
            payment_method: card.payment_method.clone(),
            brand: card.brand.clone(),
            last4: card.last4.clone(),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            is_default: card.is_default,
        }
    }
}

impl From<StoredCard> for SavedCard {
    fn from(stored: StoredCard) -> Self {
        SavedCard {
            payment_method: stored.payment_method,
            brand: stored.brand,
            last4: stored.last4,
            exp_month: stored.exp_month,
            exp_year: stored.exp_year,
            is_default: stored.is_default,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredPayment {
    reference: String,
    status: StoredStatus,
    amount: StoredMoney,
    amount_received: StoredMoney,
    amount_capturable: StoredMoney,
    hold_expires_at: Option<String>,
    payment: Option<String>,
    /// The client secret and page of a payment that waited for authentication.
    next_action: Option<(String, Option<String>)>,
    multicapture: bool,
    card: Option<StoredCard>,
}

fn payment(answer: &GatewayPayment) -> Result<StoredPayment, Invalid> {
    Ok(StoredPayment {
        reference: answer.reference.clone(),
        status: (&answer.status).into(),
        amount: money(&answer.amount)?,
        amount_received: money(&answer.amount_received)?,
        amount_capturable: money(&answer.amount_capturable)?,
        hold_expires_at: answer.hold_expires_at.as_ref().map(time),
        payment: answer.payment.as_ref().map(|p| p.as_str().to_owned()),
        next_action: answer
            .next_action
            .as_ref()
            .map(|n| (n.client_secret.clone(), n.redirect_url.clone())),
        multicapture: answer.multicapture,
        card: answer.card.as_ref().map(StoredCard::from),
    })
}

fn from_payment(stored: StoredPayment) -> Result<GatewayPayment, Invalid> {
    Ok(GatewayPayment {
        reference: stored.reference,
        status: stored.status.into(),
        amount: from_money(&stored.amount)?,
        amount_received: from_money(&stored.amount_received)?,
        amount_capturable: from_money(&stored.amount_capturable)?,
        hold_expires_at: from_optional_time(stored.hold_expires_at.as_ref())?,
        payment: stored.payment.as_deref().map(payment_id).transpose()?,
        next_action: stored
            .next_action
            .map(|(client_secret, redirect_url)| NextAction {
                client_secret,
                redirect_url,
            }),
        multicapture: stored.multicapture,
        card: stored.card.map(SavedCard::from),
    })
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoredRefundStatus {
    Succeeded,
    Pending,
    Failed(StoredFailure),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredRefund {
    reference: String,
    status: StoredRefundStatus,
    amount: StoredMoney,
    refund: Option<String>,
}

fn refund(answer: &GatewayRefund) -> Result<StoredRefund, Invalid> {
    Ok(StoredRefund {
        reference: answer.reference.clone(),
        status: match &answer.status {
            RefundStatus::Succeeded => StoredRefundStatus::Succeeded,
            RefundStatus::Pending => StoredRefundStatus::Pending,
            RefundStatus::Failed(failure) => StoredRefundStatus::Failed(failure.into()),
        },
        amount: money(&answer.amount)?,
        refund: answer.refund.as_ref().map(|r| r.as_str().to_owned()),
    })
}

fn from_refund(stored: StoredRefund) -> Result<GatewayRefund, Invalid> {
    Ok(GatewayRefund {
        reference: stored.reference,
        status: match stored.status {
            StoredRefundStatus::Succeeded => RefundStatus::Succeeded,
            StoredRefundStatus::Pending => RefundStatus::Pending,
            StoredRefundStatus::Failed(failure) => RefundStatus::Failed(failure.into()),
        },
        amount: from_money(&stored.amount)?,
        refund: stored.refund.as_deref().map(payment_id).transpose()?,
    })
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoredReply {
    Payment(Box<StoredPayment>),
    Refund(StoredRefund),
    /// A started card set-up: reference and client secret.
    Setup(String, String),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredKey {
    fingerprint: String,
    reply: StoredReply,
    at: String,
}

pub(crate) fn key(saved: &Saved) -> Result<StoredKey, Invalid> {
    let reply = match &saved.reply {
        Reply::Payment(answer) => StoredReply::Payment(Box::new(payment(answer)?)),
        Reply::Refund(answer) => StoredReply::Refund(refund(answer)?),
        Reply::Setup(setup) => {
            StoredReply::Setup(setup.reference.clone(), setup.client_secret.clone())
        }
    };
    Ok(StoredKey {
        fingerprint: saved.fingerprint.clone(),
        reply,
        at: time(&saved.at),
    })
}

pub(crate) fn from_key(stored: StoredKey) -> Result<Saved, Invalid> {
    let reply = match stored.reply {
        StoredReply::Payment(answer) => Reply::Payment(from_payment(*answer)?),
        StoredReply::Refund(answer) => Reply::Refund(from_refund(answer)?),
        StoredReply::Setup(reference, client_secret) => Reply::Setup(CardSetup {
            reference,
            client_secret,
        }),
    };
    Ok(Saved {
        fingerprint: stored.fingerprint,
        reply,
        at: from_time(&stored.at)?,
    })
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredCustomer {
    id: String,
    business: String,
    customer: String,
    name: String,
    email: Option<String>,
    default_method: Option<String>,
}

pub(crate) fn customer(record: &CustomerRecord) -> StoredCustomer {
    let (business, customer, name, email) = &record.ours;
    StoredCustomer {
        id: record.id.clone(),
        business: business.as_str().to_owned(),
        customer: customer.as_str().to_owned(),
        name: name.clone(),
        email: email.clone(),
        default_method: record.default_method.clone(),
    }
}

pub(crate) fn from_customer(stored: StoredCustomer) -> Result<CustomerRecord, Invalid> {
    let business = BusinessId::new(stored.business).map_err(|e| e.to_string())?;
    let customer = CustomerId::new(stored.customer).map_err(|e| e.to_string())?;
    Ok(CustomerRecord {
        id: stored.id,
        ours: (business, customer, stored.name, stored.email),
        default_method: stored.default_method,
    })
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredMethod {
    id: String,
    brand: String,
    last4: String,
    exp_month: u32,
    exp_year: u32,
    /// The Stripe test card's name (`visa`, `authenticationRequired`), if it is one.
    test_card: Option<String>,
    customer: Option<String>,
    spent: bool,
    set_up: bool,
    seq: u64,
}

pub(crate) fn method(record: &Method) -> StoredMethod {
    StoredMethod {
        id: record.id.clone(),
        brand: record.brand.clone(),
        last4: record.last4.clone(),
        exp_month: record.exp_month,
        exp_year: record.exp_year,
        test_card: record.test.map(|card| card.name.to_owned()),
        customer: record.customer.clone(),
        spent: record.spent,
        set_up: record.set_up,
        seq: record.seq,
    }
}

pub(crate) fn from_method(stored: StoredMethod) -> Result<Method, Invalid> {
    let test = match stored.test_card.as_deref() {
        Some(name) => {
            Some(cards::by_name(name).ok_or_else(|| format!("unknown test card {name:?}"))?)
        }
        None => None,
    };
    Ok(Method {
        id: stored.id,
        brand: stored.brand,
        last4: stored.last4,
        exp_month: stored.exp_month,
        exp_year: stored.exp_year,
        test,
        customer: stored.customer,
        spent: stored.spent,
        set_up: stored.set_up,
        seq: stored.seq,
    })
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredIntent {
    id: String,
    payment: String,
    customer: String,
    payment_method: String,
    card: Option<StoredCard>,
    hold: bool,
    amount: StoredMoney,
    received: StoredMoney,
    capturable: StoredMoney,
    status: StoredStatus,
    hold_expires_at: Option<String>,
    multicapture: bool,
    created: String,
    seq: u64,
    save_card: bool,
    client_secret: String,
    challenge: String,
    return_url: Option<String>,
    refunds: Vec<StoredRefund>,
}

pub(crate) fn intent(record: &Intent) -> Result<StoredIntent, Invalid> {
    Ok(StoredIntent {
        id: record.id.clone(),
        payment: record.payment.as_str().to_owned(),
        customer: record.customer.clone(),
        payment_method: record.payment_method.clone(),
        card: record.card.as_ref().map(StoredCard::from),
        hold: record.hold,
        amount: money(&record.amount)?,
        received: money(&record.received)?,
        capturable: money(&record.capturable)?,
        status: (&record.status).into(),
        hold_expires_at: record.hold_expires_at.as_ref().map(time),
        multicapture: record.multicapture,
        created: time(&record.created),
        seq: record.seq,
        save_card: record.save_card,
        client_secret: record.client_secret.clone(),
        challenge: record.challenge.clone(),
        return_url: record.return_url.clone(),
        refunds: record
            .refunds
            .iter()
            .map(refund)
            .collect::<Result<_, _>>()?,
    })
}

pub(crate) fn from_intent(stored: StoredIntent) -> Result<Intent, Invalid> {
    Ok(Intent {
        id: stored.id,
        payment: payment_id(&stored.payment)?,
        customer: stored.customer,
        payment_method: stored.payment_method,
        card: stored.card.map(SavedCard::from),
        hold: stored.hold,
        amount: from_money(&stored.amount)?,
        received: from_money(&stored.received)?,
        capturable: from_money(&stored.capturable)?,
        status: stored.status.into(),
        hold_expires_at: from_optional_time(stored.hold_expires_at.as_ref())?,
        multicapture: stored.multicapture,
        created: from_time(&stored.created)?,
        seq: stored.seq,
        save_card: stored.save_card,
        client_secret: stored.client_secret,
        challenge: stored.challenge,
        return_url: stored.return_url,
        refunds: stored
            .refunds
            .into_iter()
            .map(from_refund)
            .collect::<Result<_, _>>()?,
    })
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoredStage {
    AwaitingCard,
    AwaitingAuthentication,
    Saved(StoredCard),
    Refused(StoredFailure),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredSetup {
    id: String,
    customer: String,
    client_secret: String,
    challenge: String,
    stage: StoredStage,
    payment_method: Option<String>,
    return_url: Option<String>,
}

pub(crate) fn setup(record: &Setup) -> StoredSetup {
    StoredSetup {
        id: record.id.clone(),
        customer: record.customer.clone(),
        client_secret: record.client_secret.clone(),
        challenge: record.challenge.clone(),
        stage: match &record.stage {
            SetupStage::AwaitingCard => StoredStage::AwaitingCard,
            SetupStage::AwaitingAuthentication => StoredStage::AwaitingAuthentication,
            SetupStage::Saved(card) => StoredStage::Saved(card.into()),
            SetupStage::Refused(failure) => StoredStage::Refused(failure.into()),
        },
        payment_method: record.payment_method.clone(),
        return_url: record.return_url.clone(),
    }
}

pub(crate) fn from_setup(stored: StoredSetup) -> Setup {
    Setup {
        id: stored.id,
        customer: stored.customer,
        client_secret: stored.client_secret,
        challenge: stored.challenge,
        stage: match stored.stage {
            StoredStage::AwaitingCard => SetupStage::AwaitingCard,
            StoredStage::AwaitingAuthentication => SetupStage::AwaitingAuthentication,
            StoredStage::Saved(card) => SetupStage::Saved(card.into()),
            StoredStage::Refused(failure) => SetupStage::Refused(failure.into()),
        },
        payment_method: stored.payment_method,
        return_url: stored.return_url,
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredEvent {
    id: String,
    at: String,
    event_type: String,
    business: Option<String>,
    payment: String,
}

pub(crate) fn event(record: &Event) -> StoredEvent {
    StoredEvent {
        id: record.id.clone(),
        at: time(&record.at),
        event_type: record.event_type.clone(),
        business: record.business.as_ref().map(|b| b.as_str().to_owned()),
        payment: record.payment.as_str().to_owned(),
    }
}

pub(crate) fn from_event(stored: StoredEvent) -> Result<Event, Invalid> {
    Ok(Event {
        id: stored.id,
        at: from_time(&stored.at)?,
        event_type: stored.event_type,
        business: stored
            .business
            .map(BusinessId::new)
            .transpose()
            .map_err(|e| e.to_string())?,
        payment: payment_id(&stored.payment)?,
    })
}
