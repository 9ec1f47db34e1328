//! Identifiers. Businesses, customers and bookings are named by the embedding platform; payments
//! and notifications are named by this engine (through the
//! [`IdGenerator`](crate::ports::IdGenerator) port).

use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id {value:?}: 1 to 64 characters of letters, digits, '_', '-', '.' or ':'")]
pub struct InvalidId {
    /// Which kind of id.
    pub kind: &'static str,
    /// The text refused.
    pub value: String,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
                        pub struct $name(String);

        impl $name {
            /// Checks the text: 1 to 64 characters of ASCII letters, digits, `_ - . :`.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let valid = !value.is_empty()
                    && value.len() <= 64
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
                if valid {
                    Ok(Self(value))
                } else {
                    Err(InvalidId { kind: $kind, value })
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// A business (a tenant): every object belongs to exactly one.
    BusinessId,
    "business"
);
id_type!(
    /// A customer of a business.
    CustomerId,
    "customer"
);
id_type!(
    /// A booking, as the booking platform names it.
    BookingId,
    "booking"
);
id_type!(
    /// A payment record of this engine: a charge, collection, hold, capture, refund or dispute.
    PaymentId,
    "payment"
);
id_type!(
    /// An email this engine queued for a business (a payment link, a receipt...): named by the
    /// engine, like payments.
    NotificationId,
    "notification"
);
id_type!(
    /// A payment link or card request, named by the engine. Not secret: the link's URL carries
    /// a separate token.
    LinkId,
    "link"
);
id_type!(
    /// A run of payment automation on a booking (a charge, a hold, a notice...), named by the
    /// engine.
    RunId,
    "run"
);

id_type!(
    /// A member of a business's staff, named by the engine.
    StaffId,
    "staff member"
);

id_type!(
    /// An API key of a business, named by the engine. Not secret: the key's text is apart,
    /// shown once when it is made, and only its hash is kept.
    ApiKeyId,
    "API key"
);

impl RunId {
    /// A payment id's text with `run_` in place of its `pay_` prefix, like [`LinkId`]'s.
    pub(crate) fn from_payment_id(payment: &PaymentId) -> RunId {
        let text = payment.as_str();
        RunId(match text.strip_prefix("pay_") {
            Some(rest) => format!("run_{rest}"),
            None => text.to_owned(),
        })
    }
}

impl StaffId {
    /// A payment id's text with `stf_` in place of its `pay_` prefix, like [`LinkId`]'s.
    pub(crate) fn from_payment_id(payment: &PaymentId) -> StaffId {
        let text = payment.as_str();
        StaffId(match text.strip_prefix("pay_") {
            Some(rest) => format!("stf_{rest}"),
            None => text.to_owned(),
        })
    }
}

impl ApiKeyId {
    /// A payment id's text with `key_` in place of its `pay_` prefix, like [`LinkId`]'s.
    pub(crate) fn from_payment_id(payment: &PaymentId) -> ApiKeyId {
        let text = payment.as_str();
        ApiKeyId(match text.strip_prefix("pay_") {
            Some(rest) => format!("key_{rest}"),
            None => text.to_owned(),
        })
    }
}

impl LinkId {
    /// A payment id's text with `lnk_` in place of its `pay_` prefix, like
    /// [`NotificationId`]'s.
    pub(crate) fn from_payment_id(payment: &PaymentId) -> LinkId {
        let text = payment.as_str();
        LinkId(match text.strip_prefix("pay_") {
            Some(rest) => format!("lnk_{rest}"),
            None => text.to_owned(),
        })
    }
}

impl NotificationId {
    /// A payment id's text with `ntf_` in place of its `pay_` prefix (or as it is, without that
    /// prefix): valid by construction, since it has the same length and characters.
    pub(crate) fn from_payment_id(payment: &PaymentId) -> NotificationId {
        let text = payment.as_str();
        NotificationId(match text.strip_prefix("pay_") {
            Some(rest) => format!("ntf_{rest}"),
            None => text.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_platform_names_and_refuse_the_rest() {
        assert!(BookingId::new("bk_2024-05-01:17").is_ok());
        assert!(BookingId::new("").is_err());
        assert!(BookingId::new("a b").is_err());
        assert!(BookingId::new("x".repeat(65)).is_err());
        assert_eq!(
            CustomerId::new("c1").map(|c| c.to_string()),
            Ok("c1".to_owned())
        );
    }

    #[test]
    fn notification_ids_can_be_made_from_payment_ids() {
        let from = |text: &str| {
            PaymentId::new(text).map(|p| NotificationId::from_payment_id(&p).to_string())
        };
        assert_eq!(from("pay_0190b2"), Ok("ntf_0190b2".to_owned()));
        assert_eq!(from("p-1"), Ok("p-1".to_owned()));
    }
}
