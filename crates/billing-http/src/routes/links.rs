//! Payment links and card requests: make them (and email them), read them, cancel them. The
//! customer uses them on the hosted pages (see `pages`), not here.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use billing_core::billing::{CreatePaymentLink, Sending, StartCheckout};
use serde::Deserialize;
use utoipa::IntoParams;

use super::run_to_end;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Tenant};
use crate::problem::{
    CancelLinkProblems, CheckoutProblems, LinkProblems, ListProblems, Problem, ReadProblems,
};
use crate::state::Api;
use crate::wire::{
    CardRequestRequest, CheckoutRequest, CheckoutStartedJson, IssuedLinkJson, LinkJson, LinkList,
    PaymentLinkRequest, PortalLinkRequest, PortalLinkSentJson, booking_id, customer_id, link_id,
    parse_amount,
};

/// The default and largest page of a customer's links or notifications.
pub(crate) const DEFAULT_LIMIT: u32 = 20;
pub(crate) const MAX_LIMIT: u32 = 100;

/// `?limit=`: how many to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LimitQuery {
    /// At most this many, newest first (1 to 100, default 20).
    limit: Option<u32>,
}

impl LimitQuery {
    pub(crate) fn limit(&self) -> Result<u32, Problem> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if (1..=MAX_LIMIT).contains(&limit) {
            Ok(limit)
        } else {
            Err(Problem::invalid_query(format!("limit is 1 to {MAX_LIMIT}")))
        }
    }
}

/// Make a payment link for some of a customer's bookings, for all they owe or a part (taken
/// from the bookings in the order given), email it unless `send_email` is false, and text it
/// when `send_text` is true.
///
/// The answer holds the page's `url`, with the link's secret token: it is shown only here (only
/// the token's hash is stored). The link works once, for 7 days by default; it is refused if a
/// booking's balance changes meanwhile.
#[utoipa::path(
    post, path = "/v1/payment-links", tag = "links",
    request_body = PaymentLinkRequest,
    responses((status = 201, description = "The link, its URL and the email queued", body = IssuedLinkJson), LinkProblems),
    security(("api_key" = []))
)]
pub(crate) async fn create_payment_link(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<PaymentLinkRequest>,
) -> Result<Response, Problem> {
    let customer = customer_id(&body.customer)?;
    let bookings = body
        .bookings
        .iter()
        .map(|b| booking_id(b))
        .collect::<Result<Vec<_>, _>>()?;
    let command = CreatePaymentLink {
        customer,
        bookings,
        // Read by the core in the bookings' currency.
        amount: parse_amount(body.amount.as_deref())?,
        send: Sending {
            email: body.send_email,
            text: body.send_text,
        },
    };
    // The link and its email are written together, even if the client goes away meanwhile.
    let billing = api.billing.clone();
    let issued =
        run_to_end(async move { billing.create_payment_link(&business, command).await }).await??;
    let body = IssuedLinkJson::new(&issued, api.now());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Ask a customer to save a card: a link to a page where they enter one, emailed unless
/// `send_email` is false and texted when `send_text` is true. The answer's `url` is shown
/// only here.
#[utoipa::path(
    post, path = "/v1/card-requests", tag = "links",
    request_body = CardRequestRequest,
    responses((status = 201, description = "The card request, its URL and the email queued", body = IssuedLinkJson), LinkProblems),
    security(("api_key" = []))
)]
pub(crate) async fn create_card_request(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<CardRequestRequest>,
) -> Result<Response, Problem> {
    let customer = customer_id(&body.customer)?;
    let send = Sending {
        email: body.send_email,
        text: body.send_text,
    };
    let billing = api.billing.clone();
    let issued =
        run_to_end(async move { billing.request_card(&business, &customer, send).await }).await??;
    let body = IssuedLinkJson::new(&issued, api.now());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Send a customer a link into their portal, where they see their bookings with balances and
/// receipts, pay what is due and manage their cards: emailed unless `send_email` is false,
/// texted when `send_text` is true. The link works once, for 30 minutes, and opens a session
/// of an hour; its URL is never in the answer.
#[utoipa::path(
    post, path = "/v1/customers/{id}/portal-link", tag = "links",
    params(("id" = String, Path, description = "The customer")),
    request_body = PortalLinkRequest,
    responses((status = 202, description = "The link is sent: when it expires, and the email and text queued", body = PortalLinkSentJson), LinkProblems),
    security(("api_key" = []))
)]
pub(crate) async fn send_portal_link(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PortalLinkRequest>,
) -> Result<Response, Problem> {
    let customer = customer_id(&id)?;
    let send = Sending {
        email: body.send_email,
        text: body.send_text,
    };
    let billing = api.billing.clone();
    let sent =
        run_to_end(async move { billing.send_portal_link(&business, &customer, send).await })
            .await??;
    Ok((StatusCode::ACCEPTED, Json(PortalLinkSentJson::from(&sent))).into_response())
}

/// Start a checkout for a booking a customer just made on the business's own booking page.
///
/// The booking's payment policy (its own, else the business's) decides what the checkout's
/// page does: charge what is due at booking (the deposit, or all of it under
/// `charge_at_booking`), place a hold for the balance (`authorize_at_booking`), or only keep the
/// card for the charges the policy makes later (the other policies). Every checkout keeps the
/// card on the customer's profile. While it is open (an hour at most) payment automation takes
/// nothing for the booking; once completed, or abandoned, automation goes on with what is left.
///
/// The answer's `url` (shown only here) is the page to send the customer to, or to frame from
/// `return_url`'s origin (the only one allowed to). Done, the page returns to `return_url`
/// with `checkout` and `result` in its query or, framed, posts its result to the parent page:
/// read the booking to know how it stands.
#[utoipa::path(
    post, path = "/v1/checkouts", tag = "links",
    request_body = CheckoutRequest,
    responses((status = 201, description = "The checkout: its link, its page's URL, what the page does", body = CheckoutStartedJson), CheckoutProblems),
    security(("api_key" = []))
)]
pub(crate) async fn start_checkout(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<CheckoutRequest>,
) -> Result<Response, Problem> {
    let command = StartCheckout {
        booking: booking_id(&body.booking)?,
        return_url: body.return_url,
    };
    let billing = api.billing.clone();
    let started =
        run_to_end(async move { billing.start_checkout(&business, command).await }).await??;
    let body = CheckoutStartedJson::new(&started, api.now());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A payment link or card request: where it stands and, once completed, the payment made or
/// the card saved.
#[utoipa::path(
    get, path = "/v1/links/{id}", tag = "links",
    params(("id" = String, Path, description = "The link id")),
    responses((status = 200, description = "The link", body = LinkJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_link(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<LinkJson>, Problem> {
    let id = link_id(&id)?;
    let link = api.billing.link(&business, &id).await?;
    Ok(Json(LinkJson::new(&link, api.now())))
}

/// A customer's payment links and card requests, newest first.
#[utoipa::path(
    get, path = "/v1/customers/{id}/links", tag = "links",
    params(("id" = String, Path, description = "The customer id"), LimitQuery),
    responses((status = 200, description = "The links", body = LinkList), ListProblems),
    security(("api_key" = []))
)]
pub(crate) async fn customer_links(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LimitQuery>,
) -> Result<Json<LinkList>, Problem> {
    let id = customer_id(&id)?;
    let limit = query.limit()?;
    let links = api.billing.customer_links(&business, &id, limit).await?;
    let now = api.now();
    Ok(Json(LinkList {
        data: links.iter().map(|l| LinkJson::new(l, now)).collect(),
    }))
}

/// Cancel an open link: its page then answers like an unknown link's. A completed or canceled
/// link is 409 `link_not_open` (an expired one can still be canceled).
#[utoipa::path(
    post, path = "/v1/links/{id}/cancel", tag = "links",
    params(("id" = String, Path, description = "The link id")),
    responses((status = 200, description = "The canceled link", body = LinkJson), CancelLinkProblems),
    security(("api_key" = []))
)]
pub(crate) async fn cancel_link(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<LinkJson>, Problem> {
    let id = link_id(&id)?;
    let link = api.billing.cancel_link(&business, &id).await?;
    Ok(Json(LinkJson::new(&link, api.now())))
}
