//! Bookings: their billing view, price adjustments, and the commands that take money for them
//! (charges, collections, holds, bulk charges).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use billing_core::booking::{BookingAccount, LineItem};
use billing_core::customer::Business;
use billing_core::error::BillingError;
use billing_core::ids::BookingId;
use billing_core::money::{Currency, Money};
use billing_core::payment::{CollectionMethod, PaymentState};
use billing_core::ports::{BookingFilter, GatewayError, StoredResponse};
use billing_core::prelude::{AuthorizeBooking, ChargeBooking, PaymentSource, RecordCollection};
use billing_core::status::PaymentStatus;
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

use super::customers::check_payment_method;
use super::{
    Answer, BULK_RESULT, JSON, answer_receipt, as_outcome, created_status, keep_first_answer,
    key_was_used, run_to_end,
};
use crate::extract::{ApiJson, ApiPath, ApiQuery, IdemKey, OptionalJson, Tenant};
use crate::problem::{MoneyProblems, Problem, ProblemDetails, ReadProblems, WriteProblems};
use crate::state::Api;
use crate::telemetry::count_payment;
use crate::wire::{
    AuthorizationRequest, BookingJson, BookingList, BookingSummaryJson, BulkRequest, BulkResponse,
    BulkResultJson, ChargeRequest, CollectionMethodJson, CollectionRequest, LineItemInput,
    PaymentJson, PutBooking, ReceiptJson, booking_id, check_text, customer_id, parse_amount,
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
    let existed = api.engine.booking_currency(&business, &id).await?.is_some();
    let view = api.engine.put_booking(&business, account).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
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
    let view = api.engine.booking(&business, &id).await?;
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
        after: query.after.as_deref().map(booking_id).transpose()?,
        limit,
    };
    let summaries = api.engine.list_bookings(&business, &filter).await?;
    let ids: Vec<BookingId> = summaries.iter().map(|s| s.booking.clone()).collect();
    let accounts = api.engine.accounts(&business, &ids).await?;
    let full_page = u32::try_from(summaries.len()).unwrap_or(u32::MAX) >= limit;
    Ok(Json(BookingList {
        next_after: summaries
            .last()
            .filter(|_| full_page)
            .map(|s| s.booking.to_string()),
        data: BookingSummaryJson::many(&summaries, &accounts),
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
    let currency = currency_of(&api, &business, &id).await?;
    let item = line_item(body, currency)?;
    let view = api.engine.adjust_price(&business, &id, item).await?;
    Ok(Json(BookingJson::from(&view)))
}

/// The booking's currency, or 404.
async fn currency_of(api: &Api, business: &Business, id: &BookingId) -> Result<Currency, Problem> {
    api.engine
        .booking_currency(business, id)
        .await?
        .ok_or_else(|| BillingError::BookingNotFound(id.clone()).into())
}

/// The amount asked, in the booking's currency (read only when an amount is given).
async fn booking_amount(
    api: &Api,
    business: &Business,
    id: &BookingId,
    amount: Option<&str>,
) -> Result<Option<Money>, Problem> {
    match amount {
        None => Ok(None),
        Some(text) => {
            let currency = currency_of(api, business, id).await?;
            Ok(parse_amount(Some(text), currency)?)
        }
    }
}

fn source(payment_method: Option<String>) -> Result<PaymentSource, Problem> {
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
/// `allow_duplicate` is true; with one, a repeat answers the first result with
/// `Idempotent-Replayed: true`.
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
    let amount = booking_amount(&api, &business, &id, body.amount.as_deref()).await?;
    let command = ChargeBooking {
        booking: id,
        amount,
        source: source(body.payment_method)?,
        idempotency_key: key.clone(),
        allow_duplicate: body.allow_duplicate,
    };
    let used = key_was_used(&api, &business, key.as_ref()).await?;
    let engine = Arc::clone(&api.engine);
    let tenant = business.clone();
    let result = run_to_end(async move { engine.charge(&tenant, command).await }).await?;
    Ok(answer_receipt(
        &api,
        &business,
        "charge",
        result,
        Answer::Created,
        key.as_ref(),
        used,
    )
    .await)
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
    let amount = booking_amount(&api, &business, &id, body.amount.as_deref()).await?;
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
        idempotency_key: key.clone(),
        allow_duplicate: body.allow_duplicate,
    };
    let used = key_was_used(&api, &business, key.as_ref()).await?;
    let engine = Arc::clone(&api.engine);
    let tenant = business.clone();
    let result =
        run_to_end(async move { engine.record_collection(&tenant, command).await }).await?;
    Ok(answer_receipt(
        &api,
        &business,
        "collection",
        result,
        Answer::Created,
        key.as_ref(),
        used,
    )
    .await)
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
    let amount = booking_amount(&api, &business, &id, body.amount.as_deref()).await?;
    let command = AuthorizeBooking {
        booking: id,
        amount,
        source: source(body.payment_method)?,
        idempotency_key: key.clone(),
    };
    let used = key_was_used(&api, &business, key.as_ref()).await?;
    let engine = Arc::clone(&api.engine);
    let tenant = business.clone();
    let result = run_to_end(async move { engine.authorize(&tenant, command).await }).await?;
    Ok(answer_receipt(
        &api,
        &business,
        "authorization",
        result,
        Answer::Created,
        key.as_ref(),
        used,
    )
    .await)
}

/// Charge several bookings, each for what can be charged.
///
/// The bookings are charged in parallel (a bounded number at once, paced under the gateway's
/// rate limit); the results come back one per booking, in the order asked, each with the status
/// a single charge would have answered. One decline does not stop the others. With an
/// `Idempotency-Key`, each booking's charge runs under `{key}/{booking}`, and the same batch
/// sent again answers each booking's settled result (charged or declined) exactly as the first
/// time.
#[utoipa::path(
    post, path = "/v1/charges/bulk", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters")),
    request_body = BulkRequest,
    responses((status = 200, description = "One result per booking", body = BulkResponse), MoneyProblems),
    security(("api_key" = []))
)]
pub(crate) async fn bulk_charge(
    State(api): State<Api>,
    Tenant(business): Tenant,
    IdemKey(key): IdemKey,
    ApiJson(body): ApiJson<BulkRequest>,
) -> Result<Response, Problem> {
    if body.bookings.is_empty() || body.bookings.len() > api.config.bulk_max_bookings {
        return Err(Problem::invalid_request(format!(
            "a bulk charge takes 1 to {} bookings",
            api.config.bulk_max_bookings
        )));
    }
    let bookings = body
        .bookings
        .iter()
        .map(|b| booking_id(b))
        .collect::<Result<Vec<_>, _>>()?;
    let source = source(body.payment_method)?;
    let concurrency = api.config.bulk_concurrency.max(1);
    let shared = Arc::clone(&api);
    // The whole batch runs in its own task: a client that goes away does not stop it half-way.
    let results = run_to_end(async move {
        futures_util::stream::iter(bookings)
            .map(|booking| {
                let api = Arc::clone(&shared);
                let business = business.clone();
                let command = ChargeBooking {
                    idempotency_key: key.as_ref().map(|k| k.part(booking.as_str())),
                    booking,
                    amount: None,
                    source: source.clone(),
                    allow_duplicate: false,
                };
                async move { charge_one(api, business, command).await }
            })
            // `buffered` keeps the request's order while running up to `concurrency` at once.
            .buffered(concurrency)
            .collect::<Vec<_>>()
            .await
    })
    .await?;
    // What `Json(BulkResponse { results })` writes, with each result as its own JSON text: a
    // result kept from the first run goes in as it was written then.
    let body = format!("{{\"results\":[{}]}}", results.join(","));
    let mut response = body.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(JSON),
    );
    Ok(response)
}

/// How many times a bulk charge sends one booking's charge that the gateway refused as rate
/// limited.
const BULK_ATTEMPTS: u32 = 4;

/// One booking of a bulk charge, paced by the token bucket, as the JSON text of its
/// [`BulkResultJson`]. Under a key, a settled result (charged or declined) is kept as the
/// part's first answer, and a replay whose first answer was kept answers it as it was.
async fn charge_one(api: Api, business: Business, command: ChargeBooking) -> String {
    let key = command.idempotency_key.clone();
    let booking = command.booking.to_string();
    // The bucket keeps the batch under the gateway's limit, but the two limits do not tick
    // together: a charge the gateway refused as rate limited did nothing (its key is free
    // again), so it waits for another token and goes again, a few times.
    let mut attempts = 0;
    let result = loop {
        api.limiter.acquire().await;
        attempts += 1;
        let engine = Arc::clone(&api.engine);
        let tenant = business.clone();
        let command = command.clone();
        let result = run_to_end(async move { engine.charge(&tenant, command).await }).await;
        let rate_limited = matches!(
            &result,
            Ok(Err(BillingError::Gateway {
                error: GatewayError::RateLimited,
                ..
            }))
        );
        if !rate_limited || attempts >= BULK_ATTEMPTS {
            break result;
        }
    };
    let result = match result {
        Ok(result) => result,
        Err(problem) => {
            return result_text(&BulkResultJson {
                booking,
                status: problem.status,
                payment: None,
                error: Some(problem.into_details()),
            });
        }
    };
    let mut keep = key.as_ref();
    let result = match result {
        Ok(mut receipt) => match receipt.first_response.take() {
            Some(stored) if stored.content_type == BULK_RESULT => {
                count_payment(
                    "charge",
                    match &receipt.payment.state {
                        PaymentState::Failed(_) => "declined",
                        state => state.name(),
                    },
                );
                return stored.body;
            }
            // A single charge's answer was kept under the key (the client used the part's
            // key on its own): this result is answered from the payment, and not kept.
            Some(_) => {
                keep = None;
                as_outcome(receipt)
            }
            None => Ok(receipt),
        },
        other => other,
    };
    let (entry, settled) = bulk_result(&api, &business, booking, result).await;
    let text = result_text(&entry);
    if let Some(key) = keep.filter(|_| settled) {
        let stored = StoredResponse {
            status: entry.status,
            content_type: BULK_RESULT.to_owned(),
            body: text.clone(),
        };
        keep_first_answer(&api, &business, key, stored).await;
    }
    text
}

/// A booking's result in a bulk charge, and whether it is settled (charged or declined: the
/// result a replay must answer again).
async fn bulk_result(
    api: &Api,
    business: &Business,
    booking: String,
    result: Result<billing_core::billing::Receipt, BillingError>,
) -> (BulkResultJson, bool) {
    match result {
        Ok(receipt) => {
            count_payment("charge", receipt.payment.state.name());
            let entry = BulkResultJson {
                booking,
                status: created_status(&receipt.payment).as_u16(),
                payment: Some(PaymentJson::from(&receipt.payment)),
                error: None,
            };
            (entry, !receipt.payment.state.is_in_flight())
        }
        Err(error) => {
            let shown = match &error {
                BillingError::Declined { payment, .. }
                | BillingError::Gateway {
                    payment: Some(payment),
                    ..
                } => api
                    .engine
                    .payment(business, payment)
                    .await
                    .ok()
                    .map(|view| PaymentJson::from(&view.payment)),
                _ => None,
            };
            // An unknown outcome is a pending payment, as for a single charge.
            if let BillingError::Gateway {
                error: billing_core::ports::GatewayError::UnknownOutcome(_),
                payment: Some(_),
            } = &error
            {
                count_payment("charge", "pending");
                let entry = BulkResultJson {
                    booking,
                    status: StatusCode::ACCEPTED.as_u16(),
                    payment: shown,
                    error: None,
                };
                return (entry, false);
            }
            let declined = matches!(error, BillingError::Declined { .. });
            count_payment("charge", if declined { "declined" } else { error.code() });
            let problem = Problem::from(error);
            let entry = BulkResultJson {
                booking,
                status: problem.status,
                payment: shown,
                error: Some(problem.into_details()),
            };
            (entry, declined)
        }
    }
}

/// A bulk result as JSON text.
fn result_text(entry: &BulkResultJson) -> String {
    serde_json::to_string(entry).unwrap_or_else(|error| {
        tracing::error!(%error, "a bulk result could not be written as JSON");
        format!(
            "{{\"booking\":{},\"status\":500}}",
            serde_json::Value::String(entry.booking.clone())
        )
    })
}
