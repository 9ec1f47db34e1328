//! The core's errors as problems: the HTTP status of each, its detail, and the extension
//! members it carries.

use axum::http::StatusCode;
use billing_core::error::BillingError;
use billing_core::ports::{GatewayError, LedgerError};

use super::Problem;
use crate::wire::ReceiptJson;

/// What a storage failure answers when the core guarantees that nothing was written: a
/// refusal before any gateway call (after one, the core answers `outcome_not_recorded`).
const NOTHING_WRITTEN: &str = "the store is unavailable; nothing was written";

/// What a storage failure answers when it may come after part of the request was done (a
/// customer made at the gateway, a link's payment recorded before its link was closed).
const MAYBE_IN_PART: &str = "the store is unavailable; the request may have been carried out in \
part: read the objects back before trying again";

/// The HTTP status of a core error, by its stable code. A decline is no error: it is a
/// receipt, answered with [`Problem::declined`].
///
/// `busy` (other commands kept changing the bookings while this one was decided; nothing was
/// written) is 503 with `Retry-After`, like `storage_unavailable`, because the same request
/// soon goes through. `outcome_not_recorded` is 503 too: the gateway was called and its answer
/// could not be recorded, so the payment stays pending and is settled from the gateway's
/// record later. Links: `link_not_found` 404, `link_not_open` 409, `no_email_address` 422,
/// `email_failed` 422 (the email could not be written; in practice the customer's address is
/// not a plain address). `hosted_pages_not_configured` is 501 Not Implemented: the deployment
/// was not given the hosted pages' settings, so no request can succeed until an operator sets
/// them — a server-side gap, not a conflict with the state of any object. The token errors
/// (`link_unavailable` 404, `link_already_used` 410, `link_changed` 409) are mapped for
/// completeness; the hosted pages answer them as HTML.
///
/// A rule about the amount or the request (`amount_not_chargeable`,
/// `multicapture_unavailable`) is 422; a refusal because of where a payment stands now
/// (`payment_not_cancelable`, `payment_not_pending`, `too_recent_to_judge`,
/// `capture_in_flight`, `card_in_use`, `payment_exists_at_gateway`) is 409, and so is a
/// refusal of the console's settings (`last_api_key`, `last_owner`, `cannot_remove_self`,
/// `staff_removed`); `api_key_not_found` is 404. A card payment on a business whose connected
/// account cannot take charges yet (`account_cannot_charge`) is 409: nothing was written, and
/// the same request goes through once Stripe enables charges; `account_not_connected` is 404,
/// `onboarding_unavailable` 501 (the gateway in use connects no accounts).
pub fn status_of(error: &BillingError) -> StatusCode {
    match error {
        BillingError::Gateway { error, .. } => match error {
            GatewayError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            // An unknown payment method or customer at the gateway: the client named it.
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::InvalidRequest { .. }
            | GatewayError::Unavailable(_)
            | GatewayError::UnknownOutcome(_) => StatusCode::BAD_GATEWAY,
        },
        BillingError::BookingNotFound(_)
        | BillingError::PaymentNotFound(_)
        | BillingError::CustomerNotFound(_)
        | BillingError::CardNotFound(_)
        | BillingError::LinkNotFound(_)
        | BillingError::NotificationNotFound(_)
        | BillingError::LinkUnavailable
        | BillingError::StaffNotFound(_)
        | BillingError::ApiKeyNotFound(_)
        | BillingError::InvitationUnavailable
        | BillingError::AccountNotConnected => StatusCode::NOT_FOUND,
        BillingError::SignInRefused => StatusCode::UNAUTHORIZED,
        BillingError::ProbableDuplicate { .. }
        | BillingError::RequestInProgress(_)
        | BillingError::BookingHasPayments(_)
        | BillingError::BookingChanged(_)
        | BillingError::HoldNotOpen { .. }
        | BillingError::LinkNotOpen { .. }
        | BillingError::BusinessExists(_)
        | BillingError::LinkChanged
        | BillingError::PaymentNotCancelable { .. }
        | BillingError::PaymentNotPending { .. }
        | BillingError::TooRecentToJudge { .. }
        | BillingError::PaymentExistsAtGateway(_)
        | BillingError::CardInUse { .. }
        | BillingError::CaptureInFlight(_)
        | BillingError::BookingCanceled(_)
        | BillingError::PaymentInFlight(_)
        | BillingError::StaffEmailTaken(_)
        | BillingError::StaffRemoved(_)
        | BillingError::CannotRemoveSelf
        | BillingError::LastOwner
        | BillingError::LastApiKey
        | BillingError::AccountCannotCharge { .. } => StatusCode::CONFLICT,
        BillingError::LinkAlreadyUsed => StatusCode::GONE,
        BillingError::HostedPagesNotConfigured | BillingError::OnboardingUnavailable => {
            StatusCode::NOT_IMPLEMENTED
        }
        BillingError::Ledger(_)
        | BillingError::Businesses(_)
        | BillingError::Directory(_)
        | BillingError::Links(_)
        | BillingError::Portal(_)
        | BillingError::Notifications(_)
        | BillingError::Schedules(_)
        | BillingError::Staff(_)
        | BillingError::OutcomeNotRecorded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        BillingError::Inconsistent(_) | BillingError::PasswordHash(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        BillingError::NoCardOnFile(_)
        | BillingError::NonPositiveAmount(_)
        | BillingError::WrongCurrency { .. }
        | BillingError::InvalidAmount(_)
        | BillingError::AmountExceedsBalance { .. }
        | BillingError::NothingToCharge { .. }
        | BillingError::CaptureExceedsHold { .. }
        | BillingError::RefundExceedsRefundable { .. }
        | BillingError::NotAHold(_)
        | BillingError::HoldExpired(_)
        | BillingError::NotRefundable { .. }
        | BillingError::IdempotencyKeyReused(_)
        | BillingError::InvalidInput(_)
        | BillingError::InvalidBooking(_)
        | BillingError::NoEmailAddress(_)
        | BillingError::NoPhoneNumber(_)
        | BillingError::TextsRefused(_)
        | BillingError::Email(_)
        | BillingError::AmountNotChargeable(_)
        | BillingError::MulticaptureUnavailable(_)
        | BillingError::InvalidReturnUrl(_)
        | BillingError::InvalidStaff(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The detail of a problem: the error's own words, except where those are for the log (the
/// stored history's, a store's).
fn detail_of(error: &BillingError) -> String {
    match error {
        BillingError::Inconsistent(_) => {
            tracing::error!(%error, "inconsistent stored history");
            "the stored history of this object is inconsistent".to_owned()
        }
        BillingError::Ledger(LedgerError::Conflict(_)) => {
            tracing::warn!(%error, "a command kept losing the race for its bookings");
            "other commands kept changing these bookings; nothing was written, try again".to_owned()
        }
        // The core answers these before any gateway call (after one, `outcome_not_recorded`),
        // and reads of businesses write nothing.
        BillingError::Ledger(_) | BillingError::Businesses(_) => {
            tracing::error!(%error, "storage failed");
            NOTHING_WRITTEN.to_owned()
        }
        // Customers and their cards, links and emails are written after the gateway acted
        // (a customer made there, a card attached, a link's payment made).
        BillingError::Directory(_)
        | BillingError::Links(_)
        | BillingError::Portal(_)
        | BillingError::Notifications(_)
        | BillingError::Schedules(_)
        | BillingError::Staff(_) => {
            tracing::error!(%error, "storage failed");
            MAYBE_IN_PART.to_owned()
        }
        BillingError::PasswordHash(_) => {
            tracing::error!(%error, "password hashing failed");
            "a password could not be hashed".to_owned()
        }
        BillingError::OutcomeNotRecorded { payment, error } => {
            tracing::error!(%payment, %error, "a gateway's answer could not be recorded");
            format!(
                "the gateway was called for payment {payment}, but its answer could not be \
                 recorded: the payment stays pending and will be settled from the gateway's \
                 record (by the reconciler or a webhook). Do not send the request again under a \
                 new key: read the payment back later"
            )
        }
        other => other.to_string(),
    }
}

impl From<BillingError> for Problem {
    fn from(error: BillingError) -> Problem {
        let mut problem = Problem::new(status_of(&error), error.code(), detail_of(&error));
        match error {
            BillingError::ProbableDuplicate { previous, .. } => {
                problem.payment = Some(previous.to_string());
            }
            BillingError::Gateway {
                payment: Some(payment),
                ..
            }
            | BillingError::CardInUse { payment, .. }
            | BillingError::CaptureInFlight(payment)
            | BillingError::MulticaptureUnavailable(payment)
            | BillingError::OutcomeNotRecorded { payment, .. } => {
                problem.payment = Some(payment.to_string());
            }
            BillingError::HoldNotOpen { payment, state }
            | BillingError::PaymentNotCancelable { payment, state }
            | BillingError::PaymentNotPending { payment, state } => {
                problem.payment = Some(payment.to_string());
                problem.state = Some(state.to_owned());
            }
            BillingError::TooRecentToJudge { payment, retry_at } => {
                problem.payment = Some(payment.to_string());
                problem.retry_at = Some(retry_at);
            }
            BillingError::AmountNotChargeable(refused) => problem.reason = Some(refused.reason),
            BillingError::PaymentExistsAtGateway(receipt) => {
                problem.payment = Some(receipt.payment.id.to_string());
                problem.receipt = Some(Box::new(ReceiptJson::from(&*receipt)));
            }
            _ => {}
        }
        problem
    }
}

impl Problem {
    /// The problem of a use case that settles payments from the gateway's record in several
    /// steps (reconcile, sync, cancel, mark failed): a storage failure may come after some
    /// steps were recorded, so it never says that nothing was written.
    pub(crate) fn settling(error: BillingError) -> Problem {
        let problem = Problem::from(error);
        if problem.code == "storage_unavailable" {
            problem.with_detail(
                "the store is unavailable; what was settled before it failed is kept: read the \
                 payment back, or try again (settling again records nothing twice)",
            )
        } else {
            problem
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    use billing_core::ids::{BusinessId, NotificationId, PaymentId};
    use billing_core::money::{Currency, Money};
    use billing_core::ports::{AmountRefused, BusinessesError, DirectoryError};

    use crate::problem::BUSY;

    fn pay(id: &str) -> PaymentId {
        PaymentId::new(id).unwrap()
    }

    #[test]
    fn a_busy_ledger_is_503_to_try_again_and_an_unavailable_one_is_not() {
        let busy = Problem::from(BillingError::Ledger(LedgerError::Conflict("raced".into())))
            .into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            busy.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(1))
        );
        let problem = Problem::from(BillingError::Ledger(LedgerError::Conflict("raced".into())));
        assert_eq!(problem.code, BUSY);
        assert!(!problem.detail.contains("raced"), "{}", problem.detail);
        let down = Problem::from(BillingError::Ledger(LedgerError::Unavailable("db".into())));
        assert_eq!(down.code, "storage_unavailable");
        assert!(
            down.into_response()
                .headers()
                .get(header::RETRY_AFTER)
                .is_none()
        );
    }

    #[test]
    fn nothing_was_written_is_said_only_where_it_is_true() {
        let before_gateway =
            Problem::from(BillingError::Ledger(LedgerError::Unavailable("db".into())));
        assert!(before_gateway.detail.contains("nothing was written"));
        let not_recorded = Problem::from(BillingError::OutcomeNotRecorded {
            payment: pay("pay_7"),
            error: LedgerError::Unavailable("connection reset by db-3".into()),
        });
        assert_eq!(not_recorded.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(not_recorded.code, "outcome_not_recorded");
        assert_eq!(not_recorded.payment.as_deref(), Some("pay_7"));
        for said in ["gateway was called", "stays pending", "will be settled"] {
            assert!(
                not_recorded.detail.contains(said),
                "{}",
                not_recorded.detail
            );
        }
        for unsaid in ["nothing was written", "db-3"] {
            assert!(
                !not_recorded.detail.contains(unsaid),
                "{}",
                not_recorded.detail
            );
        }
        let directory = Problem::from(BillingError::Directory(DirectoryError::Unavailable(
            "x".into(),
        )));
        assert!(!directory.detail.contains("nothing was written"));
        let settling =
            Problem::settling(BillingError::Ledger(LedgerError::Unavailable("db".into())));
        assert_eq!(settling.code, "storage_unavailable");
        assert!(!settling.detail.contains("nothing was written"));
    }

    #[test]
    fn core_errors_have_their_statuses() -> Result<(), Box<dyn std::error::Error>> {
        let cases = [
            (
                BillingError::NotificationNotFound(NotificationId::new("ntf_1")?),
                StatusCode::NOT_FOUND,
            ),
            (
                BillingError::BusinessExists(BusinessId::new("acme")?),
                StatusCode::CONFLICT,
            ),
            (
                BillingError::Businesses(BusinessesError::Unavailable("down".into())),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                BillingError::AmountNotChargeable(AmountRefused {
                    amount: Money::parse("0.49", Currency::USD)?,
                    reason: "under the minimum".into(),
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                BillingError::MulticaptureUnavailable(pay("pay_1")),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                BillingError::PaymentNotCancelable {
                    payment: pay("pay_1"),
                    state: "succeeded",
                },
                StatusCode::CONFLICT,
            ),
            (
                BillingError::PaymentNotPending {
                    payment: pay("pay_1"),
                    state: "failed",
                },
                StatusCode::CONFLICT,
            ),
            (
                BillingError::CardInUse {
                    payment_method: "pm_card_visa".into(),
                    payment: pay("pay_1"),
                },
                StatusCode::CONFLICT,
            ),
            (
                BillingError::CaptureInFlight(pay("pay_1")),
                StatusCode::CONFLICT,
            ),
            (BillingError::LastApiKey, StatusCode::CONFLICT),
            (
                BillingError::ApiKeyNotFound("key_1".parse()?),
                StatusCode::NOT_FOUND,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(status_of(&error), status, "{error}");
            let problem = Problem::from(error);
            assert_eq!(problem.status(), status);
        }
        Ok(())
    }

    #[test]
    fn refusals_carry_what_the_client_needs() -> Result<(), Box<dyn std::error::Error>> {
        let refused = Problem::from(BillingError::AmountNotChargeable(AmountRefused {
            amount: Money::parse("10.125", Currency::from_code("KWD")?)?,
            reason: "KWD amounts must end in 0".into(),
        }));
        assert_eq!(refused.code, "amount_not_chargeable");
        assert_eq!(refused.reason.as_deref(), Some("KWD amounts must end in 0"));
        let not_cancelable = Problem::from(BillingError::PaymentNotCancelable {
            payment: pay("pay_2"),
            state: "succeeded",
        });
        assert_eq!(not_cancelable.payment.as_deref(), Some("pay_2"));
        assert_eq!(not_cancelable.state.as_deref(), Some("succeeded"));
        let in_use = Problem::from(BillingError::CardInUse {
            payment_method: "pm_card_visa".into(),
            payment: pay("pay_3"),
        });
        assert_eq!(in_use.payment.as_deref(), Some("pay_3"));
        Ok(())
    }
}
