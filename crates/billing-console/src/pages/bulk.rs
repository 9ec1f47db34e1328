//! "Charge selected" on the bookings list: a preview of what would be charged (how many, the
//! total, which have no card or nothing due), then the charges, each booking with its own
//! result. The confirmation carries an idempotency key made with the preview: sent twice (a
//! double click, a reload), each booking is charged once.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::Form;
use billing_core::billing::{BulkCharge, BulkChargeResult, PaymentSource};
use billing_core::email::CardLabel;
use billing_core::error::BillingError;
use billing_core::idempotency::IdempotencyKey;
use billing_core::ids::{BookingId, CustomerId};
use billing_core::money::{Currency, Money};
use billing_core::payment::Origin;
use billing_core::receipt::Outcome;
use serde::Deserialize;

use super::bookings::form_key;
use super::{failed, forbidden, header_of};
use crate::Console;
use crate::session::SignedIn;
use crate::views::{Header, page};

/// The most bookings one "Charge selected" takes (a page of the list).
const MOST: usize = 100;

/// The list's checkboxes, or the preview's confirmation.
#[derive(Debug, Deserialize)]
pub(crate) struct Selection {
    csrf: String,
    #[serde(default)]
    booking: Vec<String>,
    /// The confirmation's idempotency key (absent from the list's form).
    #[serde(default)]
    key: String,
}

/// One selected booking, previewed.
#[derive(Debug)]
pub(crate) struct PreviewRow {
    id: String,
    customer: String,
    amount: String,
    /// How it would be charged, or why it would not.
    note: String,
    /// Charged when confirmed.
    chargeable: bool,
}

#[derive(Debug, Template)]
#[template(path = "bulk_preview.html")]
pub(crate) struct PreviewPage {
    header: Option<Header>,
    rows: Vec<PreviewRow>,
    /// How many would be charged.
    count: usize,
    /// What they would be charged, per currency.
    totals: Vec<String>,
    /// How many have no card on file.
    without_card: usize,
    key: String,
    /// A booking not of this business, or not a booking id, was asked for.
    unknown: usize,
}

/// One booking's result.
#[derive(Debug)]
pub(crate) struct ResultRow {
    id: String,
    /// `success`, `pending` or `error`.
    tone: &'static str,
    text: String,
}

#[derive(Debug, Template)]
#[template(path = "bulk_results.html")]
pub(crate) struct ResultsPage {
    header: Option<Header>,
    rows: Vec<ResultRow>,
    charged: usize,
    not_charged: usize,
}

/// The ids asked for: each once, in order, at most [`MOST`].
fn selected(selection: &Selection) -> Result<Vec<BookingId>, &'static str> {
    let mut ids = Vec::new();
    for raw in &selection.booking {
        let Ok(id) = BookingId::new(raw.trim()) else {
            return Err("not a booking");
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err("Select at least one booking.");
    }
    if ids.len() > MOST {
        return Err("Select at most 100 bookings at once.");
    }
    Ok(ids)
}

fn refused(why: &'static str) -> Response {
    crate::views::message(StatusCode::BAD_REQUEST, "Nothing to charge", why)
}

/// `POST /console/bookings/bulk`: the preview.
pub(crate) async fn preview(
    State(console): State<Console>,
    member: SignedIn,
    Form(selection): Form<Selection>,
) -> Response {
    if !member.checks(&selection.csrf) {
        return forbidden();
    }
    let ids = match selected(&selection) {
        Ok(ids) => ids,
        Err(why) => return refused(why),
    };
    let business = &member.visit.business;
    let billing = &console.billing;
    let mut cards: HashMap<CustomerId, Option<String>> = HashMap::new();
    let mut totals: BTreeMap<Currency, Money> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut unknown = 0;
    for id in ids {
        let view = match billing.booking(business, &id).await {
            Ok(view) => view,
            Err(BillingError::BookingNotFound(_)) => {
                unknown += 1;
                continue;
            }
            Err(error) => {
                tracing::error!(%error, "the console's bulk preview failed");
                return failed();
            }
        };
        let customer = view.account.customer.clone();
        if !cards.contains_key(&customer) {
            let default = match billing.cards(business, &customer).await {
                Ok(saved) => saved
                    .iter()
                    .find(|c| c.is_default)
                    .map(|c| CardLabel::from(c).describe()),
                Err(error) => {
                    tracing::error!(%error, "the console's bulk preview failed");
                    return failed();
                }
            };
            cards.insert(customer.clone(), default);
        }
        let card = cards.get(&customer).cloned().flatten();
        let due = view.summary.balance.chargeable().clamp_at_zero();
        let (note, chargeable) = match (&card, due.is_positive()) {
            (_, false) => ("Nothing to charge".to_owned(), false),
            (None, true) => ("No card on file: not charged".to_owned(), false),
            (Some(card), true) => (card.clone(), true),
        };
        if chargeable {
            let total = totals
                .entry(due.currency())
                .or_insert_with(|| Money::zero(due.currency()));
            match total.checked_add(&due) {
                Ok(sum) => *total = sum,
                Err(error) => {
                    tracing::error!(%error, "the console's bulk preview could not add up");
                    return failed();
                }
            }
        }
        rows.push(PreviewRow {
            id: id.to_string(),
            customer: customer.to_string(),
            amount: due.to_string(),
            note,
            chargeable,
        });
    }
    let without_card = rows
        .iter()
        .filter(|r| r.note.starts_with("No card"))
        .count();
    page(
        StatusCode::OK,
        &PreviewPage {
            header: Some(header_of(&member)),
            count: rows.iter().filter(|r| r.chargeable).count(),
            totals: totals.values().map(ToString::to_string).collect(),
            without_card,
            key: form_key(),
            unknown,
            rows,
        },
    )
}

fn result_row(result: &BulkChargeResult) -> ResultRow {
    let id = result.booking.to_string();
    let (tone, text) = match &result.result {
        Ok(receipt) => match receipt.outcome() {
            Outcome::Settled => ("success", format!("Charged {}", receipt.payment.amount)),
            Outcome::Pending => (
                "pending",
                format!(
                    "{} sent; the card processor has not answered yet",
                    receipt.payment.amount
                ),
            ),
            Outcome::Declined(failure) => ("error", format!("Declined: {}", failure.message)),
        },
        Err(BillingError::NothingToCharge { .. }) => ("error", "Nothing to charge".to_owned()),
        Err(BillingError::NoCardOnFile(_)) => ("error", "No card on file".to_owned()),
        Err(BillingError::BookingNotFound(_)) => ("error", "No such booking".to_owned()),
        Err(BillingError::PaymentInFlight(_) | BillingError::RequestInProgress(_)) => (
            "pending",
            "A payment is already being made for it".to_owned(),
        ),
        Err(error) => ("error", format!("Not charged: {error}")),
    };
    ResultRow { id, tone, text }
}

/// `POST /console/bookings/bulk/charge`: the charges, then each booking's result.
pub(crate) async fn charge(
    State(console): State<Console>,
    member: SignedIn,
    Form(selection): Form<Selection>,
) -> Response {
    if !member.checks(&selection.csrf) {
        return forbidden();
    }
    let Ok(key) = IdempotencyKey::new(format!("console:{}", selection.key.trim())) else {
        return forbidden();
    };
    let ids = match selected(&selection) {
        Ok(ids) => ids,
        Err(why) => return refused(why),
    };
    let billing = console.billing.clone();
    let business = member.visit.business.clone();
    let by = Origin::Staff(member.visit.member.id.clone());
    let command = BulkCharge {
        bookings: ids,
        source: PaymentSource::CardOnFile,
        idempotency_key: Some(key),
    };
    // In its own task: a closed tab cannot cut a charge between the gateway and the ledger.
    let made =
        tokio::spawn(async move { billing.charge_many_as(&business, command, by).await }).await;
    let results = match made {
        Ok(Ok(results)) => results,
        Ok(Err(error)) => {
            tracing::warn!(code = error.code(), %error, "a console bulk charge was refused");
            return refused("That selection cannot be charged.");
        }
        Err(_) => return failed(),
    };
    tracing::info!(
        staff = %member.visit.member.id,
        bookings = results.len(),
        "console bulk charge"
    );
    results_page(&member, &results)
}

/// Each booking's result of a charge of several.
pub(crate) fn results_page(member: &SignedIn, results: &[BulkChargeResult]) -> Response {
    let rows: Vec<ResultRow> = results.iter().map(result_row).collect();
    let charged = rows.iter().filter(|r| r.tone == "success").count();
    page(
        StatusCode::OK,
        &ResultsPage {
            header: Some(header_of(member)),
            not_charged: rows.len() - charged,
            charged,
            rows,
        },
    )
}
