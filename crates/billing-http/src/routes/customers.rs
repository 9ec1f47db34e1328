//! Customers, their saved cards ("payment options") and what they owe.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use billing_core::customer::Customer;
use billing_core::error::BillingError;
use billing_core::ports::GatewayError;

use crate::extract::{ApiJson, ApiPath, Tenant};
use crate::problem::{Problem, ReadProblems, WriteProblems};
use crate::state::Api;
use crate::wire::{
    AttachCard, CardJson, CardList, CustomerBalanceJson, CustomerJson, MoneyJson, NewCustomer,
    check_text, customer_id, phone_number,
};

/// Create or update a customer.
///
/// 201 when the customer is new, 200 when it existed and was updated (its gateway customer and
/// saved cards are kept).
#[utoipa::path(
    post, path = "/v1/customers", tag = "customers",
    request_body = NewCustomer,
    responses(
        (status = 201, description = "Created", body = CustomerJson),
        (status = 200, description = "Updated", body = CustomerJson),
        WriteProblems,
    ),
    security(("api_key" = []))
)]
pub(crate) async fn put_customer(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<NewCustomer>,
) -> Result<Response, Problem> {
    let id = customer_id(&body.id)?;
    check_text("name", &body.name)?;
    if let Some(email) = &body.email {
        check_text("email", email)?;
    }
    let phone = match &body.phone {
        Some(phone) => Some(phone_number(phone, body.phone_region.as_deref())?),
        None if body.phone_region.is_some() => {
            return Err(Problem::invalid_request(
                "phone_region is given without a phone",
            ));
        }
        None => None,
    };
    let (customer, created) = api
        .billing
        .put_customer(
            &business,
            Customer {
                id: id.clone(),
                name: body.name,
                email: body.email,
                phone,
                gateway_customer: None,
            },
        )
        .await?;
    // A new customer has no cards yet; one updated keeps theirs.
    let (status, cards) = if created {
        (StatusCode::CREATED, Vec::new())
    } else {
        (StatusCode::OK, api.billing.cards(&business, &id).await?)
    };
    Ok((status, Json(CustomerJson::new(customer, cards))).into_response())
}

/// A customer with their saved cards.
#[utoipa::path(
    get, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    responses((status = 200, description = "The customer", body = CustomerJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_customer(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CustomerJson>, Problem> {
    let id = customer_id(&id)?;
    let customer = api.billing.customer(&business, &id).await?;
    let cards = api.billing.cards(&business, &id).await?;
    Ok(Json(CustomerJson::new(customer, cards)))
}

/// The customer's saved cards, the default first.
#[utoipa::path(
    get, path = "/v1/customers/{id}/payment-methods", tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    responses((status = 200, description = "The cards", body = CardList), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn list_cards(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CardList>, Problem> {
    let id = customer_id(&id)?;
    let cards = api.billing.cards(&business, &id).await?;
    Ok(Json(CardList {
        data: cards.into_iter().map(CardJson::from).collect(),
    }))
}

/// Create a payment option: attach a payment method made by the gateway's card form
/// (`pm_card_visa` on the sandbox). The first card becomes the default.
#[utoipa::path(
    post, path = "/v1/customers/{id}/payment-methods", tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    request_body = AttachCard,
    responses((status = 201, description = "The saved card", body = CardJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn attach_card(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AttachCard>,
) -> Result<Response, Problem> {
    let id = customer_id(&id)?;
    check_payment_method(&body.payment_method)?;
    let card = api
        .billing
        .attach_card(&business, &id, &body.payment_method)
        .await
        .map_err(|error| match error {
            // The gateway refused this card (a test card that declines cannot be saved): the
            // client's card is the problem, not the gateway.
            BillingError::Gateway {
                error: GatewayError::InvalidRequest { message, .. },
                ..
            } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "gateway_invalid_request",
                message,
            ),
            other => Problem::from(other),
        })?;
    Ok((StatusCode::CREATED, Json(CardJson::from(card))).into_response())
}

/// Remove a saved card (detached at the gateway).
///
/// A card that a payment still in flight uses (pending, or waiting for the customer to
/// authenticate) cannot be removed: 409 `card_in_use`, naming the `payment`; settle or cancel
/// that payment first.
#[utoipa::path(
    delete, path = "/v1/customers/{id}/payment-methods/{pm}", tag = "customers",
    params(
        ("id" = String, Path, description = "The customer id"),
        ("pm" = String, Path, description = "The card's payment method id"),
    ),
    responses((status = 204, description = "Removed"), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn remove_card(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath((id, pm)): ApiPath<(String, String)>,
) -> Result<StatusCode, Problem> {
    let id = customer_id(&id)?;
    check_payment_method(&pm)?;
    api.billing.remove_card(&business, &id, &pm).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a saved card the one charged as "card on file".
#[utoipa::path(
    post, path = "/v1/customers/{id}/payment-methods/{pm}/default", tag = "customers",
    params(
        ("id" = String, Path, description = "The customer id"),
        ("pm" = String, Path, description = "The card's payment method id"),
    ),
    responses((status = 200, description = "The card, now the default", body = CardJson), WriteProblems),
    security(("api_key" = []))
)]
pub(crate) async fn set_default_card(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath((id, pm)): ApiPath<(String, String)>,
) -> Result<Json<CardJson>, Problem> {
    let id = customer_id(&id)?;
    check_payment_method(&pm)?;
    let card = api.billing.set_default_card(&business, &id, &pm).await?;
    Ok(Json(CardJson::from(card)))
}

/// What the customer owes, one amount per currency.
#[utoipa::path(
    get, path = "/v1/customers/{id}/balance", tag = "customers",
    params(("id" = String, Path, description = "The customer id")),
    responses((status = 200, description = "The balance due", body = CustomerBalanceJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn balance(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CustomerBalanceJson>, Problem> {
    let id = customer_id(&id)?;
    // Another business's customer is not found, rather than owing nothing.
    let owed = api.billing.customer_balance(&business, &id).await?;
    Ok(Json(CustomerBalanceJson {
        customer: id.to_string(),
        balance_due: owed.iter().map(MoneyJson::from).collect(),
    }))
}

/// A gateway payment method id: short visible ASCII, so that it cannot smuggle anything into a
/// gateway URL or the log.
pub(crate) fn check_payment_method(pm: &str) -> Result<(), Problem> {
    let valid = !pm.is_empty()
        && pm.len() <= 255
        && pm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Problem::invalid_id(format!(
            "invalid payment method id {pm:?}: letters, digits, '_' or '-'"
        )))
    }
}
