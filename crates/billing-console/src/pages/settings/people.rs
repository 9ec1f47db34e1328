//! The staff: add a member (their invitation link shown once), send a new invitation, remove a
//! member (asked first). Ids of another business's members are unknown here (404).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use billing_core::billing::{Invited, NewStaff};
use billing_core::error::BillingError;
use billing_core::ids::StaffId;
use billing_core::staff::StaffRole;
use serde::Deserialize;

use super::{ConfirmPage, CsrfOnly, Drawn, MemberForm, Owner, SecretPage, done, settings_page};
use crate::pages::forbidden;
use crate::pages::{failed, header_of, missing};
use crate::session::SignedIn;
use crate::views::page;
use crate::{Console, invitation_path};

/// The add-a-member form.
#[derive(Debug, Deserialize)]
pub(crate) struct AddFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    /// `owner` or `staff`.
    #[serde(default)]
    role: String,
}

/// The page that shows a member's invitation link, this once.
fn invitation_page(console: &Console, member: &SignedIn, invited: &Invited, new: bool) -> Response {
    let base = console.config.public_url.trim_end_matches('/');
    let link = format!("{base}{}", invitation_path(invited.token.expose()));
    let intro = if new {
        format!(
            "{} ({}) was added. Send them this link: it lets them set a password and sign in, once, within 7 days.",
            invited.member.name, invited.member.email
        )
    } else {
        format!(
            "A new invitation for {} ({}): the earlier one no longer works. Send them this link: it lets them set a password and sign in, once, within 7 days.",
            invited.member.name, invited.member.email
        )
    };
    page(
        StatusCode::OK,
        &SecretPage {
            header: Some(header_of(member)),
            title: if new {
                "Member added"
            } else {
                "New invitation"
            },
            intro,
            label: "Invitation link",
            secret: link,
            warning: "This link is shown only now: copy it before you leave this page. If it is lost, send a new invitation.",
        },
    )
}

/// `POST /console/settings/staff`: the member added, and their invitation link shown once; a
/// refused address or name, the settings page again with why (400).
pub(crate) async fn add(
    State(console): State<Console>,
    Owner(member): Owner,
    Form(form): Form<AddFields>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let role = match form.role.as_str() {
        "owner" => Some(StaffRole::Owner),
        "staff" => Some(StaffRole::Staff),
        _ => None,
    };
    let again = |error: &str| Drawn {
        member: Some(MemberForm {
            email: form.email.clone(),
            name: form.name.clone(),
            owner: role == Some(StaffRole::Owner),
            error: Some(error.to_owned()),
        }),
        ..Drawn::default()
    };
    let Some(role) = role else {
        return settings_page(&console, &member, again("Choose a role: owner or staff.")).await;
    };
    let added = console
        .billing
        .add_staff(
            &member.visit.business,
            NewStaff {
                email: form.email.clone(),
                name: form.name.clone(),
                role,
            },
        )
        .await;
    match added {
        Ok(invited) => {
            tracing::info!(
                staff = %member.visit.member.id,
                added = %invited.member.id,
                "staff member added in the console"
            );
            invitation_page(&console, &member, &invited, true)
        }
        Err(BillingError::InvalidStaff(_)) => {
            let why = "Give an email address and a name of 1 to 200 characters.";
            settings_page(&console, &member, again(why)).await
        }
        Err(BillingError::StaffEmailTaken(_)) => {
            let why =
                "Someone already signs in with this email address (here or in another business).";
            settings_page(&console, &member, again(why)).await
        }
        Err(error) => {
            tracing::error!(%error, "a staff member could not be added");
            failed()
        }
    }
}

/// `POST /console/settings/staff/{id}/invitation`: a new invitation link, shown once.
pub(crate) async fn invite_again(
    State(console): State<Console>,
    Owner(member): Owner,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(id) = StaffId::new(id) else {
        return missing();
    };
    match console
        .billing
        .invite_again(&member.visit.business, &id)
        .await
    {
        Ok(invited) => invitation_page(&console, &member, &invited, false),
        Err(BillingError::StaffNotFound(_)) => missing(),
        Err(BillingError::StaffRemoved(_)) => done("removed-member"),
        Err(error) => {
            tracing::error!(%error, "a staff member could not be invited again");
            failed()
        }
    }
}

/// `GET /console/settings/staff/{id}/remove`: are you sure?
pub(crate) async fn confirm_remove(
    State(console): State<Console>,
    Owner(member): Owner,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = StaffId::new(id) else {
        return missing();
    };
    let them = match console
        .billing
        .staff_member(&member.visit.business, &id)
        .await
    {
        Ok(them) => them,
        Err(BillingError::StaffNotFound(_)) => return missing(),
        Err(error) => {
            tracing::error!(%error, "the console could not read a staff member");
            return failed();
        }
    };
    page(
        StatusCode::OK,
        &ConfirmPage {
            header: Some(header_of(&member)),
            title: "Remove a member",
            question: format!("Remove {} ({}) from your staff?", them.name, them.email),
            consequence: "They are signed out at once and can no longer sign in. Their name stays on the payments they made.",
            action: format!("/console/settings/staff/{id}/remove"),
            button: "Yes, remove them",
        },
    )
}

/// `POST /console/settings/staff/{id}/remove`.
pub(crate) async fn remove(
    State(console): State<Console>,
    Owner(member): Owner,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !member.checks(&form.csrf) {
        return forbidden();
    }
    let Ok(id) = StaffId::new(id) else {
        return missing();
    };
    let removed = console
        .billing
        .remove_staff(&member.visit.business, &member.visit.member.id, &id)
        .await;
    match removed {
        Ok(_) => {
            tracing::info!(
                staff = %member.visit.member.id,
                removed = %id,
                "staff member removed in the console"
            );
            done("member-removed")
        }
        Err(BillingError::StaffNotFound(_)) => missing(),
        Err(BillingError::CannotRemoveSelf) => done("self"),
        Err(BillingError::LastOwner) => done("last-owner"),
        Err(error) => {
            tracing::error!(%error, "a staff member could not be removed");
            failed()
        }
    }
}
