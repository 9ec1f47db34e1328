//! Bulk charges: many bookings charged at once, one result each.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PaymentJson;
use crate::problem::ProblemDetails;

/// One booking's result in a bulk charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkResultJson {
    /// The booking.
    pub booking: String,
    /// What a single charge of it would have answered: 201, 202, or the problem's status.
    pub status: u16,
    /// The payment made (also for a decline: the failed payment).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payment: Option<PaymentJson>,
    /// Why it was not charged.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<ProblemDetails>,
}

/// The results of a bulk charge, one per booking, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkResponse {
    /// One result per booking.
    pub results: Vec<BulkResultJson>,
}

/// Charge several bookings, each for what can be charged.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// The bookings, each named once (1 to 1,000 by default), charged in parallel; the results
    /// come back in this order.
    pub bookings: Vec<String>,
    /// One saved card id for every booking; each customer's card on file when absent.
    #[serde(default)]
    pub payment_method: Option<String>,
}
