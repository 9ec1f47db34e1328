//! The API keys: make one (its text shown once), revoke one (asked first; never the last that
//! works). Ids of another business's keys are unknown here (404).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use billing_core::billing::NewApiKey;
use billing_core::error::BillingError;
use billing_core::ids::ApiKeyId;
use serde::Deserialize;

use super::{ConfirmPage, CsrfOnly, Drawn, KeyForm, Owner, SecretPage, done, settings_page};
use crate::Console;
use crate::pages::forbidden;
use crate::pages::{failed, header_of, missing};
use crate::views::page;

/// The make-a-key form.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    /// `live` or `test`.
    #[serde(default)]
    kind: String,
}

/// `POST /console/settings/api-keys`: the key made, its text shown once; a refused label, the
/// settings page again with why (400).
pub(crate) async fn create(
    State(console): State<Console>,
    Owner(member): Owner,
    Form(form): Form<CreateFields>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let live = form.kind == "live";
    let made = console
        .billing
        .create_api_key(
            &member.visit.business,
            NewApiKey {
                label: form.label.clone(),
                live,
            },
        )
        .await;
    match made {
        Ok(made) => {
            tracing::info!(
                staff = %member.visit.member.id,
                key = %made.record.id,
                "API key made in the console"
            );
            page(
                StatusCode::OK,
                &SecretPage {
                    header: Some(header_of(&member)),
                    title: "API key created",
                    intro: format!(
                        "The key \u{201c}{}\u{201d} works from now on: give it to the service that calls the API, as its bearer token.",
                        made.record.label
                    ),
                    label: "API key",
                    secret: made.key.expose().to_owned(),
                    warning: "This key is shown only now and will not be shown again: copy it before you leave this page. If it is lost, create another and revoke this one.",
                },
            )
        }
        Err(BillingError::InvalidInput(_)) => {
            let again = Drawn {
                key: Some(KeyForm {
                    label: form.label.clone(),
                    live,
                    error: Some("Give the key a label of 1 to 100 characters.".to_owned()),
                }),
                ..Drawn::default()
            };
            settings_page(&console, &member, again).await
        }
        Err(error) => {
            tracing::error!(%error, "an API key could not be made");
            failed()
        }
    }
}

/// `GET /console/settings/api-keys/{id}/revoke`: are you sure?
pub(crate) async fn confirm_revoke(
    State(console): State<Console>,
    Owner(member): Owner,
    Path(id): Path<String>,
) -> Response {
    let keys = match console.billing.api_keys(&member.visit.business).await {
        Ok(keys) => keys,
        Err(error) => {
            tracing::error!(%error, "the console could not read the API keys");
            return failed();
        }
    };
    let Some(key) = keys.iter().find(|k| k.id.as_str() == id) else {
        return missing();
    };
    page(
        StatusCode::OK,
        &ConfirmPage {
            header: Some(header_of(&member)),
            title: "Revoke an API key",
            question: format!(
                "Revoke the key \u{201c}{}\u{201d} ({})?",
                key.label,
                key.hint
                    .as_deref()
                    .unwrap_or("made before keys were listed")
            ),
            consequence: "Every request made with it is refused from then on. This cannot be undone.",
            action: format!("/console/settings/api-keys/{}/revoke", key.id),
            button: "Yes, revoke it",
        },
    )
}

/// `POST /console/settings/api-keys/{id}/revoke`.
pub(crate) async fn revoke(
    State(console): State<Console>,
    Owner(member): Owner,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(id) = ApiKeyId::new(id) else {
        return missing();
    };
    match console
        .billing
        .revoke_api_key(&member.visit.business, &id)
        .await
    {
        Ok(_) => {
            tracing::info!(staff = %member.visit.member.id, key = %id, "API key revoked in the console");
            done("key-revoked")
        }
        Err(BillingError::ApiKeyNotFound(_)) => missing(),
        Err(BillingError::LastApiKey) => done("last-key"),
        Err(error) => {
            tracing::error!(%error, "an API key could not be revoked");
            failed()
        }
    }
}
