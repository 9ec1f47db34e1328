//! The parts of a payment record that entries and first answers share, each named after the
//! format version that introduced it: a part that changes gets a new struct beside the old
//! one, which stays as it was so that rows written with it still read.

use billing_core::ids::{LinkId, StaffId};
use billing_core::money::{Currency, Money};
use billing_core::payment::{
    Allocation, CardRef, CollectionMethod, Failure, Origin, PaymentEvent, PaymentKind, PaymentState,
};
use serde::{Deserialize, Serialize};

use crate::StoredRowError;

/// Money: a decimal string with the currency's digits, and the ISO 4217 code.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct MoneyV1 {
    amount: String,
    currency: String,
}

impl MoneyV1 {
    pub(super) fn of(money: &Money) -> Self {
        MoneyV1 {
            amount: money.amount().to_string(),
            currency: money.currency().code().to_owned(),
        }
    }

    pub(super) fn read(&self, what: &'static str) -> Result<Money, StoredRowError> {
        let currency = currency(what, &self.currency)?;
        Money::parse(&self.amount, currency).map_err(|e| StoredRowError::new(what, e))
    }
}

pub(super) fn currency(what: &'static str, code: &str) -> Result<Currency, StoredRowError> {
    Currency::from_code(code).map_err(|e| StoredRowError::new(what, e))
}

/// An id of any kind, checked as it is read back.
pub(super) fn id<T: TryFrom<String>>(what: &'static str, text: &str) -> Result<T, StoredRowError>
where
    T::Error: std::fmt::Display,
{
    T::try_from(text.to_owned()).map_err(|e| StoredRowError::new(what, e))
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CardV1 {
    gateway_customer: String,
    payment_method: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "label")]
pub(super) enum MethodV1 {
    Cash,
    Check,
    ETransfer,
    Other(String),
}

/// The kinds of version 1: everything but disputes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub(super) enum KindV1 {
    Charge {
        card: CardV1,
    },
    Collection {
        method: MethodV1,
        reference: Option<String>,
    },
    Authorization {
        card: CardV1,
    },
    Capture {
        authorization: String,
        final_capture: bool,
    },
    Refund {
        of: String,
        reason: Option<String>,
    },
}

/// The kinds of version 2: those of version 1, and disputes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub(super) enum KindV2 {
    Charge {
        card: CardV1,
    },
    Collection {
        method: MethodV1,
        reference: Option<String>,
    },
    Authorization {
        card: CardV1,
    },
    Capture {
        authorization: String,
        final_capture: bool,
    },
    Refund {
        of: String,
        reason: Option<String>,
    },
    Dispute {
        of: String,
        reason: Option<String>,
    },
}

/// Who made a payment record (version 2; records of version 1 were all made by a command).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub(super) enum OriginV2 {
    Command,
    PaymentLink {
        link: String,
    },
    Gateway,
    /// Payment automation (added within version 2: older builds never wrote it).
    Automation,
    /// A member of staff, in the console (added within version 2, like `Automation`).
    Staff {
        staff: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct FailureV1 {
    code: String,
    decline_code: Option<String>,
    message: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "failure")]
pub(super) enum StateV1 {
    Pending,
    RequiresAction,
    Succeeded,
    Authorized,
    PartiallyCaptured,
    Captured,
    Canceled,
    Expired,
    Failed(FailureV1),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event", content = "failure")]
pub(super) enum EventV1 {
    Succeeded,
    ActionRequired,
    HoldPlaced,
    PartlyCaptured,
    CaptureClosed,
    Canceled,
    Expired,
    Failed(FailureV1),
}

/// A payment's share for one booking. Version 3 of entries and first answers adds the tip
/// within the share (`tip`, written only when there is one); earlier versions have none.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct AllocationV1 {
    booking: String,
    amount: MoneyV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tip: Option<MoneyV1>,
}

impl FailureV1 {
    fn of(failure: &Failure) -> Self {
        FailureV1 {
            code: failure.code.clone(),
            decline_code: failure.decline_code.clone(),
            message: failure.message.clone(),
        }
    }

    fn read(self) -> Failure {
        Failure {
            code: self.code,
            decline_code: self.decline_code,
            message: self.message,
        }
    }
}

impl StateV1 {
    pub(super) fn of(state: &PaymentState) -> Self {
        match state {
            PaymentState::Pending => StateV1::Pending,
            PaymentState::RequiresAction => StateV1::RequiresAction,
            PaymentState::Succeeded => StateV1::Succeeded,
            PaymentState::Authorized => StateV1::Authorized,
            PaymentState::PartiallyCaptured => StateV1::PartiallyCaptured,
            PaymentState::Captured => StateV1::Captured,
            PaymentState::Canceled => StateV1::Canceled,
            PaymentState::Expired => StateV1::Expired,
            PaymentState::Failed(failure) => StateV1::Failed(FailureV1::of(failure)),
        }
    }

    pub(super) fn read(self) -> PaymentState {
        match self {
            StateV1::Pending => PaymentState::Pending,
            StateV1::RequiresAction => PaymentState::RequiresAction,
            StateV1::Succeeded => PaymentState::Succeeded,
            StateV1::Authorized => PaymentState::Authorized,
            StateV1::PartiallyCaptured => PaymentState::PartiallyCaptured,
            StateV1::Captured => PaymentState::Captured,
            StateV1::Canceled => PaymentState::Canceled,
            StateV1::Expired => PaymentState::Expired,
            StateV1::Failed(failure) => PaymentState::Failed(failure.read()),
        }
    }
}

impl EventV1 {
    pub(super) fn of(event: &PaymentEvent) -> Self {
        match event {
            PaymentEvent::Succeeded => EventV1::Succeeded,
            PaymentEvent::ActionRequired => EventV1::ActionRequired,
            PaymentEvent::HoldPlaced => EventV1::HoldPlaced,
            PaymentEvent::PartlyCaptured => EventV1::PartlyCaptured,
            PaymentEvent::CaptureClosed => EventV1::CaptureClosed,
            PaymentEvent::Canceled => EventV1::Canceled,
            PaymentEvent::Expired => EventV1::Expired,
            PaymentEvent::Failed(failure) => EventV1::Failed(FailureV1::of(failure)),
        }
    }

    pub(super) fn read(self) -> PaymentEvent {
        match self {
            EventV1::Succeeded => PaymentEvent::Succeeded,
            EventV1::ActionRequired => PaymentEvent::ActionRequired,
            EventV1::HoldPlaced => PaymentEvent::HoldPlaced,
            EventV1::PartlyCaptured => PaymentEvent::PartlyCaptured,
            EventV1::CaptureClosed => PaymentEvent::CaptureClosed,
            EventV1::Canceled => PaymentEvent::Canceled,
            EventV1::Expired => PaymentEvent::Expired,
            EventV1::Failed(failure) => PaymentEvent::Failed(failure.read()),
        }
    }
}

impl CardV1 {
    fn of(card: &CardRef) -> Self {
        CardV1 {
            gateway_customer: card.gateway_customer.clone(),
            payment_method: card.payment_method.clone(),
        }
    }

    fn read(self) -> CardRef {
        CardRef {
            gateway_customer: self.gateway_customer,
            payment_method: self.payment_method,
        }
    }
}

impl MethodV1 {
    fn of(method: &CollectionMethod) -> Self {
        match method {
            CollectionMethod::Cash => MethodV1::Cash,
            CollectionMethod::Check => MethodV1::Check,
            CollectionMethod::ETransfer => MethodV1::ETransfer,
            CollectionMethod::Other(label) => MethodV1::Other(label.clone()),
        }
    }

    fn read(self) -> CollectionMethod {
        match self {
            MethodV1::Cash => CollectionMethod::Cash,
            MethodV1::Check => CollectionMethod::Check,
            MethodV1::ETransfer => CollectionMethod::ETransfer,
            MethodV1::Other(label) => CollectionMethod::Other(label),
        }
    }
}

impl From<KindV1> for KindV2 {
    fn from(kind: KindV1) -> Self {
        match kind {
            KindV1::Charge { card } => KindV2::Charge { card },
            KindV1::Collection { method, reference } => KindV2::Collection { method, reference },
            KindV1::Authorization { card } => KindV2::Authorization { card },
            KindV1::Capture {
                authorization,
                final_capture,
            } => KindV2::Capture {
                authorization,
                final_capture,
            },
            KindV1::Refund { of, reason } => KindV2::Refund { of, reason },
        }
    }
}

impl KindV2 {
    pub(super) fn of(kind: &PaymentKind) -> Self {
        match kind {
            PaymentKind::Charge { card } => KindV2::Charge {
                card: CardV1::of(card),
            },
            PaymentKind::Collection { method, reference } => KindV2::Collection {
                method: MethodV1::of(method),
                reference: reference.clone(),
            },
            PaymentKind::Authorization { card } => KindV2::Authorization {
                card: CardV1::of(card),
            },
            PaymentKind::Capture {
                authorization,
                final_capture,
            } => KindV2::Capture {
                authorization: authorization.to_string(),
                final_capture: *final_capture,
            },
            PaymentKind::Refund { of, reason } => KindV2::Refund {
                of: of.to_string(),
                reason: reason.clone(),
            },
            PaymentKind::Dispute { of, reason } => KindV2::Dispute {
                of: of.to_string(),
                reason: reason.clone(),
            },
        }
    }

    pub(super) fn read(self, what: &'static str) -> Result<PaymentKind, StoredRowError> {
        Ok(match self {
            KindV2::Charge { card } => PaymentKind::Charge { card: card.read() },
            KindV2::Collection { method, reference } => PaymentKind::Collection {
                method: method.read(),
                reference,
            },
            KindV2::Authorization { card } => PaymentKind::Authorization { card: card.read() },
            KindV2::Capture {
                authorization,
                final_capture,
            } => PaymentKind::Capture {
                authorization: id(what, &authorization)?,
                final_capture,
            },
            KindV2::Refund { of, reason } => PaymentKind::Refund {
                of: id(what, &of)?,
                reason,
            },
            KindV2::Dispute { of, reason } => PaymentKind::Dispute {
                of: id(what, &of)?,
                reason,
            },
        })
    }
}

impl OriginV2 {
    pub(super) fn of(origin: &Origin) -> Self {
        match origin {
            Origin::Command => OriginV2::Command,
            Origin::PaymentLink(link) => OriginV2::PaymentLink {
                link: link.to_string(),
            },
            Origin::Gateway => OriginV2::Gateway,
            Origin::Automation => OriginV2::Automation,
            Origin::Staff(staff) => OriginV2::Staff {
                staff: staff.to_string(),
            },
        }
    }

    pub(super) fn read(self, what: &'static str) -> Result<Origin, StoredRowError> {
        Ok(match self {
            OriginV2::Command => Origin::Command,
            OriginV2::PaymentLink { link } => Origin::PaymentLink(id::<LinkId>(what, &link)?),
            OriginV2::Gateway => Origin::Gateway,
            OriginV2::Automation => Origin::Automation,
            OriginV2::Staff { staff } => Origin::Staff(id::<StaffId>(what, &staff)?),
        })
    }
}

impl AllocationV1 {
    pub(super) fn of(allocation: &Allocation) -> Self {
        AllocationV1 {
            booking: allocation.booking.to_string(),
            amount: MoneyV1::of(&allocation.amount),
            tip: allocation.tip.as_ref().map(MoneyV1::of),
        }
    }

    pub(super) fn read(self, what: &'static str) -> Result<Allocation, StoredRowError> {
        Ok(Allocation {
            booking: id(what, &self.booking)?,
            amount: self.amount.read(what)?,
            tip: self.tip.map(|tip| tip.read(what)).transpose()?,
        })
    }
}
