//! The emails queued about a customer and where their delivery stands: what staff look at when
//! a customer says they got nothing.

use axum::Json;
use axum::extract::State;

use super::links::LimitQuery;
use crate::extract::{ApiPath, ApiQuery, Tenant};
use crate::problem::{ListProblems, Problem, ReadProblems};
use crate::state::Api;
use crate::wire::{NotificationJson, NotificationList, customer_id, notification_id};

/// A customer's notifications (emails to them, and the business's notices about them), newest
/// first.
#[utoipa::path(
    get, path = "/v1/customers/{id}/notifications", tag = "notifications",
    params(("id" = String, Path, description = "The customer id"), LimitQuery),
    responses((status = 200, description = "The notifications", body = NotificationList), ListProblems),
    security(("api_key" = []))
)]
pub(crate) async fn customer_notifications(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LimitQuery>,
) -> Result<Json<NotificationList>, Problem> {
    let id = customer_id(&id)?;
    let limit = query.limit()?;
    let log = api
        .billing
        .customer_notifications(&business, &id, limit)
        .await?;
    Ok(Json(NotificationList {
        data: log.iter().map(NotificationJson::from).collect(),
    }))
}

/// A notification: what, to whom, when, and where its delivery stands (`queued`; `sent` with the
/// mail server's reply; `failed` with the reason, the attempts and the next try).
#[utoipa::path(
    get, path = "/v1/notifications/{id}", tag = "notifications",
    params(("id" = String, Path, description = "The notification id")),
    responses((status = 200, description = "The notification", body = NotificationJson), ReadProblems),
    security(("api_key" = []))
)]
pub(crate) async fn get_notification(
    State(api): State<Api>,
    Tenant(business): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationJson>, Problem> {
    let id = notification_id(&id)?;
    let notification = api.billing.notification(&business, &id).await?;
    Ok(Json(NotificationJson::from(&notification)))
}
