//! Bookings: their billing view, price adjustments, and the commands that take money for them
//! (charges, collections, holds). Bulk charges are in `bulk`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use billing_core::billing::PriceAdjustment;
use billing_core::booking::{BookingAccount, LineItem};
use billing_core::error::BillingError;
use billing_core::money::{Amount, Currency, Money};
use billing_core::payment::{CollectionMethod, Origin};
use billing_core::ports::BookingFilter;
use billing_core::prelude::{AuthorizeBooking, ChargeBooking, PaymentSource, RecordCollection};
use billing_core::status::PaymentStatus;
use serde::Deserialize;
use utoipa::IntoParams;

use super::customers::check_payment_method;
use super::{Answer, answer_receipt, run_to_end};
use crate::extract::{ApiJson, ApiPath, ApiQuery, IdemKey, OptionalJson, Tenant};
use crate::problem::{MoneyProblems, Problem, ProblemDetails, ReadProblems, WriteProblems};
use crate::state::Api;
use crate::wire::{
    AuthorizationRequest, BookingJson, BookingList, BookingSummaryJson, ChargeRequest,
    CollectionMethodJson, CollectionRequest, LineItemInput, PutBooking, ReceiptJson, booking_id,
    check_text, customer_id, parse_amount,
};

/// The most bookings one page lists.
const MAX_PAGE: u32 = 500;

fn line_item(input: LineItemInput, currency: Currency) -> Result<LineItem, Problem> {
    check_text("a line item label", &input.label)?;
    let amount = Money::parse(&input.amount, currency).map_err(BillingError::InvalidAmount)?;
    LineItem::new(input.kind.into(), input.label, amount)
        .map_err(|e| Problem::from(BillingError::InvalidBooking(e)))
}

/// Create or replace a booking's billing view.
///
/// 201 when new, 200 when replaced. Once a booking has payments, its customer and currency
/// cannot change (409 `booking_has_payments`).
#[utoipa::path(
    put, path = "/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "The booking id")),
    request_body = PutBooking,
    responses(
        (status = 201, description = "Created", body = BookingJson),
        (status = 200, description = "Replaced", body = BookingJson),
        WriteProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn put_booking(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PutBooking>,
) -> Result<Response, Problem> {
    let id = booking_id(&id)?;
    let customer = customer_id(&body.customer)?;
    let currency = Currency::from_code(&body.currency).map_err(BillingError::InvalidAmount)?;
    let items = body
        .line_items
        .into_iter()
        .map(|item| line_item(item, currency))
        .collect::<Result<Vec<_>, _>>()?;
    let mut account = BookingAccount::new(id.clone(), customer, currency, items)
        .map_err(BillingError::InvalidBooking)?;
    account.service_at = body.service_at;
    account.completed_at = body.completed_at;
    let (view, created) = api.billing.put_booking(&business, account).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(BookingJson::from(&view))).into_response())
}

/// A booking with its line items, balance, status and payments.
#[utoipa::path(
    get, path = "/v1/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "The booking id")),
    responses((status = 200, description = "The booking", body = BookingJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_booking(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BookingJson>, Problem> {
    let id = booking_id(&id)?;
    let view = api.billing.booking(&business, &id).await?;
    Ok(Json(BookingJson::from(&view)))
}

/// Filters of the booking list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this customer's bookings.
    customer: Option<String>,
    /// Only bookings in this status (`not_charged`, `pre_authorized`, `partially_charged`,
    /// `charged_in_full`, `overpaid`, `refunded`).
    status: Option<String>,
    /// Only bookings with (`true`) or without (`false`) something waiting for the gateway.
    pending: Option<bool>,
    /// Only bookings with (`true`) or without (`false`) an open hold (something `held`).
    holding: Option<bool>,
    /// Only bookings automation flagged as needing attention (`true`: retries spent, a hold
    /// running out) or not flagged (`false`). Combines with the other filters and paging.
    needs_attention: Option<bool>,
    /// The `next_after` of the previous page.
    after: Option<String>,
    /// At most this many (1 to 500, default 100).
    limit: Option<u32>,
}

/// Booking summaries, ordered by id, a page at a time.
#[utoipa::path(
    get, path = "/v1/bookings", tag = "bookings",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of bookings", body = BookingList),
        (status = 400, description = "`invalid_query`", body = ProblemDetails, content_type = "application/problem+json"),
        ReadProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn list_bookings(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<BookingList>, Problem> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::invalid_query(format!("limit is 1 to {MAX_PAGE}")));
    }
    let status = query
        .status
        .as_deref()
        .map(|s| {
            PaymentStatus::parse(s)
                .ok_or_else(|| Problem::invalid_query(format!("unknown status {s:?}")))
        })
        .transpose()?;
    let filter = BookingFilter {
        customer: query.customer.as_deref().map(customer_id).transpose()?,
        status,
        pending: query.pending,
        holding: query.holding,
        after: query.after.as_deref().map(booking_id).transpose()?,
        limit,
        ..BookingFilter::default()
    };
    let summaries = match query.needs_attention {
        Some(needs) => {
            api.billing
                .bookings_by_attention(&business, needs, &filter)
                .await?
        }
        None => api.billing.list_bookings(&business, &filter).await?,
    };
    let full_page = u32::try_from(summaries.len()).unwrap_or(u32::MAX) >= limit;
    Ok(Json(BookingList {
        next_after: summaries
            .last()
            .filter(|_| full_page)
            .map(|s| s.booking.to_string()),
        data: summaries.iter().map(BookingSummaryJson::from).collect(),
    }))
}

/// Adjust a booking's price by adding a line item (an extra raises it, a discount lowers it).
#[utoipa::path(
    post, path = "/v1/bookings/{id}/line-items", tag = "bookings",
    params(("id" = String, Path, description = "The booking id")),
    request_body = LineItemInput,
    responses((status = 200, description = "The booking with its new price", body = BookingJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn add_line_item(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<LineItemInput>,
) -> Result<Json<BookingJson>, Problem> {
    let id = booking_id(&id)?;
    check_text("a line item label", &body.label)?;
    // The amount is read in the booking's currency by the core.
    let adjustment = PriceAdjustment {
        kind: body.kind.into(),
        label: body.label,
        amount: Amount::parse(&body.amount).map_err(BillingError::InvalidAmount)?,
    };
    let view = api.billing.adjust_price(&business, &id, adjustment).await?;
    Ok(Json(BookingJson::from(&view)))
}

/// The card a command asks for: one of the customer's saved cards, or the card on file.
pub(crate) fn source(payment_method: Option<String>) -> Result<PaymentSource, Problem> {
    match payment_method {
        None => Ok(PaymentSource::CardOnFile),
        Some(pm) => {
            check_payment_method(&pm)?;
            Ok(PaymentSource::Card(pm))
        }
    }
}

/// Charge a booking's saved card, captured at once.
///
/// 201 with the payment and the booking; 202 while the gateway's outcome is open (the payment
/// is pending and the reconciler settles it, or the customer must authenticate); 402
/// `card_declined` with `decline_code` and the failed `payment`. Without an `Idempotency-Key`
/// the same charge twice within minutes is refused (409 `probable_duplicate`) unless
/// `allow_duplicate` is true; with one, a repeat answers the first settled result (charged or
/// declined) with `Idempotent-Replayed: true`, the same status and body byte for byte however
/// the payment and booking changed since. A pending first answer (202) is not kept: a repeat
/// settles the payment from the gateway's record and answers that.
#[utoipa::path(
    post, path = "/v1/bookings/{id}/charges", tag = "payments",
    params(
        ("id" = String, Path, description = "The booking id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    request_body = ChargeRequest,
    responses(
        (status = 201, description = "Charged", body = ReceiptJson),
        (status = 202, description = "Pending or requires action", body = ReceiptJson),
        MoneyProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn charge(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<ChargeRequest>,
) -> Result<Response, Problem> {
    let id = booking_id(&id)?;
    let amount = parse_amount(body.amount.as_deref())?;
    let tip = parse_amount(body.tip.as_deref())?;
    let command = ChargeBooking {
        booking: id,
        amount,
        source: source(body.payment_method)?,
        idempotency_key: key,
        allow_duplicate: body.allow_duplicate,
    };
    let billing = api.billing.clone();
    let result = run_to_end(async move {
        billing
            .charge_with_tip_as(&business, command, tip, Origin::Command)
            .await
    })
    .await?;
    Ok(answer_receipt("charge", result, Answer::Created))
}

/// Record money collected outside the gateway (cash, check, e-transfer...). It counts as paid
/// at once.
#[utoipa::path(
    post, path = "/v1/bookings/{id}/collections", tag = "payments",
    params(
        ("id" = String, Path, description = "The booking id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    request_body = CollectionRequest,
    responses((status = 201, description = "Recorded", body = ReceiptJson), MoneyProblems),
    security(("api_key" = []))
)]
pub(crate) async fn collect(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CollectionRequest>,
) -> Result<Response, Problem> {
    let id = booking_id(&id)?;
    let amount = parse_amount(body.amount.as_deref())?;
    for text in [&body.label, &body.reference].into_iter().flatten() {
        check_text("a collection label or reference", text)?;
    }
    let method = match body.method {
        CollectionMethodJson::Cash => CollectionMethod::Cash,
        CollectionMethodJson::Check => CollectionMethod::Check,
        CollectionMethodJson::ETransfer => CollectionMethod::ETransfer,
        CollectionMethodJson::Other => {
            let label = body.label.unwrap_or_else(|| "other".to_owned());
            if label.trim().is_empty() || label.len() > 100 {
                return Err(BillingError::InvalidInput(
                    "a collection label has 1 to 100 characters",
                )
                .into());
            }
            CollectionMethod::Other(label)
        }
    };
    let command = RecordCollection {
        booking: id,
        amount,
        method,
        reference: body.reference,
        idempotency_key: key,
        allow_duplicate: body.allow_duplicate,
    };
    let billing = api.billing.clone();
    let result =
        run_to_end(async move { billing.record_collection(&business, command).await }).await?;
    Ok(answer_receipt("collection", result, Answer::Created))
}

/// Place a hold on a booking's saved card, captured later.
#[utoipa::path(
    post, path = "/v1/bookings/{id}/authorizations", tag = "payments",
    params(
        ("id" = String, Path, description = "The booking id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    request_body = AuthorizationRequest,
    responses(
        (status = 201, description = "Held", body = ReceiptJson),
        (status = 202, description = "Pending or requires action", body = ReceiptJson),
        MoneyProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn authorize(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(key): IdemKey,
    ApiPath(id): ApiPath<String>,
    OptionalJson(body): OptionalJson<AuthorizationRequest>,
) -> Result<Response, Problem> {
    let id = booking_id(&id)?;
    let amount = parse_amount(body.amount.as_deref())?;
    let command = AuthorizeBooking {
        booking: id,
        amount,
        source: source(body.payment_method)?,
        idempotency_key: key,
    };
    let billing = api.billing.clone();
    let result = run_to_end(async move { billing.authorize(&business, command).await }).await?;
    Ok(answer_receipt("authorization", result, Answer::Created))
}
