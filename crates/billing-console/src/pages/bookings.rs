//! The bookings list and a booking's page, of the signed-in member's business only.

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use billing_core::booking::LineItemKind;
use billing_core::email::CardLabel;
use billing_core::error::BillingError;
use billing_core::ids::{BookingId, CustomerId, StaffId};
use billing_core::money::Money;
use billing_core::payment::{KindName, Origin, Payment, PaymentState};
use billing_core::ports::{BookingFilter, ScheduleFilter};
use billing_core::staff::StaffRole;
use billing_core::status::{PaymentStatus, hold_remaining, refundable};
use serde::Deserialize;

use super::charge;
use super::{failed, header_of, missing};
use crate::Console;
use crate::session::SignedIn;
use crate::views::{
    Badge, BookingPage, BookingRow, BookingsPage, ChargeForm, Flash, LineRow, PaymentRow,
    SourceOption, StatusOption, page,
};

/// A page of the list.
const PAGE: u32 = 50;

/// `?status=&customer=&from=&until=&q=&after=`: every filter optional, dates as
/// `YYYY-MM-DD` (the service's day, from its start to its end in UTC).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    customer: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

impl ListQuery {
    fn text(field: Option<&String>) -> &str {
        field.map_or("", |t| t.trim())
    }

    /// A date field: `Ok(None)` when empty.
    fn day(field: Option<&String>) -> Result<Option<chrono::NaiveDate>, ()> {
        match Self::text(field) {
            "" => Ok(None),
            text => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| ()),
        }
    }

    /// The address of the list with these filters, after `after`.
    fn next(&self, after: &BookingId) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("status", &self.status),
            ("customer", &self.customer),
            ("from", &self.from),
            ("until", &self.until),
            ("q", &self.q),
        ] {
            let value = Self::text(value.as_ref());
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        query.append_pair("after", after.as_str());
        format!("/console/bookings?{}", query.finish())
    }
}

/// What the filter form shows again.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    pub(crate) customer: String,
    pub(crate) from: String,
    pub(crate) until: String,
    pub(crate) q: String,
    /// Why the filters could not be applied.
    pub(crate) error: Option<&'static str>,
}

fn status_label(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::NotCharged => "Not charged",
        PaymentStatus::PreAuthorized => "Authorized",
        PaymentStatus::PartiallyCharged => "Partially charged",
        PaymentStatus::ChargedInFull => "Charged in full",
        PaymentStatus::Overpaid => "Overpaid",
        PaymentStatus::Refunded => "Refunded",
    }
}

/// `GET /console/bookings`.
pub(crate) async fn list(
    State(console): State<Console>,
    member: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    // The status filter also offers "Pending" (a payment in flight) and "Needs attention"
    // (automation gave up, or a card runs out before a charge).
    let chosen = ListQuery::text(query.status.as_ref()).to_owned();
    let status = PaymentStatus::parse(&chosen);
    let after = query.after.as_deref().and_then(|a| BookingId::new(a).ok());
    let mut filters = Filters {
        customer: ListQuery::text(query.customer.as_ref()).to_owned(),
        from: ListQuery::text(query.from.as_ref()).to_owned(),
        until: ListQuery::text(query.until.as_ref()).to_owned(),
        q: ListQuery::text(query.q.as_ref()).to_owned(),
        error: None,
    };
    let customer = match filters.customer.as_str() {
        "" => None,
        text => match CustomerId::new(text) {
            Ok(id) => Some(id),
            Err(_) => {
                filters.error = Some("No customer has that id.");
                None
            }
        },
    };
    let (from, until) = match (
        ListQuery::day(query.from.as_ref()),
        ListQuery::day(query.until.as_ref()),
    ) {
        (Ok(from), Ok(until)) if from.zip(until).is_none_or(|(f, u)| f <= u) => (from, until),
        _ => {
            filters.error =
                Some("Dates are days like 2026-12-31, the first no later than the last.");
            (None, None)
        }
    };
    if filters.error.is_some() {
        return list_page(
            &member,
            Vec::new(),
            &chosen,
            filters,
            None,
            StatusCode::BAD_REQUEST,
        );
    }
    let search = Some(filters.q.clone()).filter(|q| !q.is_empty());
    let filter = BookingFilter {
        status,
        pending: (chosen == "pending").then_some(true),
        customer,
        service_from: from.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()),
        service_until: until
            .and_then(|d| d.succ_opt())
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()),
        search,
        after,
        limit: PAGE,
        ..BookingFilter::default()
    };
    let business = &member.visit.business;
    let listed = if chosen == "needs_attention" {
        console
            .billing
            .bookings_by_attention(business, true, &filter)
            .await
    } else {
        console.billing.list_bookings(business, &filter).await
    };
    let summaries = match listed {
        Ok(summaries) => summaries,
        Err(error) => {
            tracing::error!(%error, "the console's bookings list failed");
            return failed();
        }
    };
    let attention = match flagged(&console, business, &filter, &summaries).await {
        Ok(attention) => attention,
        Err(error) => {
            tracing::error!(%error, "the console's bookings list failed");
            return failed();
        }
    };
    let next = (summaries.len() == PAGE as usize)
        .then(|| summaries.last())
        .flatten()
        .map(|last| query.next(&last.booking));
    let rows = summaries
        .iter()
        .map(|summary| BookingRow {
            id: summary.booking.to_string(),
            href: format!("/console/bookings/{}", summary.booking),
            customer: summary.customer.to_string(),
            service: summary.service_at.map_or_else(
                || "Not scheduled".to_owned(),
                |at| at.format("%a %-d %b %Y").to_string(),
            ),
            price: summary.balance.price.to_string(),
            paid: summary.balance.paid.to_string(),
            due: summary.balance.balance_due.to_string(),
            badge: Badge::of(&summary.status),
            attention: attention.contains(&summary.booking),
        })
        .collect();
    list_page(&member, rows, &chosen, filters, next, StatusCode::OK)
}

/// The list with its filter form.
fn list_page(
    member: &crate::session::SignedIn,
    rows: Vec<BookingRow>,
    chosen: &str,
    filters: Filters,
    next: Option<String>,
    status: StatusCode,
) -> Response {
    let statuses = PaymentStatus::ALL
        .into_iter()
        .map(|s| (s.as_str(), status_label(s)))
        .chain([
            ("pending", "Pending"),
            ("needs_attention", "Needs attention"),
        ])
        .map(|(value, label)| StatusOption {
            value,
            label,
            selected: value == chosen,
        })
        .collect();
    page(
        status,
        &BookingsPage {
            header: Some(header_of(member)),
            rows,
            statuses,
            filters,
            next,
        },
    )
}

/// Which bookings of a page of the list need attention: the flagged records from the page's
/// start, read until past its last booking (records and summaries are both in id order).
async fn flagged(
    console: &Console,
    business: &billing_core::customer::Business,
    filter: &BookingFilter,
    page: &[billing_core::status::BookingSummary],
) -> Result<HashSet<BookingId>, BillingError> {
    let mut found = HashSet::new();
    let Some(last) = page.last().map(|s| s.booking.clone()) else {
        return Ok(found);
    };
    let mut after = filter.after.clone();
    loop {
        let records = console
            .billing
            .booking_schedules(
                business,
                &ScheduleFilter {
                    customer: filter.customer.clone(),
                    needs_attention: Some(true),
                    after: after.clone(),
                    limit: PAGE,
                },
            )
            .await?;
        let full = records.len() == PAGE as usize;
        for record in records {
            if record.booking > last {
                return Ok(found);
            }
            after = Some(record.booking.clone());
            found.insert(record.booking);
        }
        if !full {
            return Ok(found);
        }
    }
}

fn kind_label(kind: LineItemKind) -> &'static str {
    match kind {
        LineItemKind::Service => "Service",
        LineItemKind::Extra => "Extra",
        LineItemKind::Discount => "Discount",
        LineItemKind::Tip => "Tip",
    }
}

fn what(payment: &Payment) -> &'static str {
    match payment.kind.name() {
        KindName::Charge => "Card charge",
        KindName::Collection => "Collection",
        KindName::Authorization => "Hold",
        KindName::Capture => "Capture",
        KindName::Refund => "Refund",
        KindName::Dispute => "Dispute",
    }
}

fn by(origin: &Origin, staff: &HashMap<StaffId, String>) -> String {
    match origin {
        Origin::Staff(id) => staff
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("Staff member {id}")),
        Origin::Command => "The API".to_owned(),
        Origin::PaymentLink(link) => format!("The customer (link {link})"),
        Origin::Gateway => "The card processor".to_owned(),
        Origin::Automation => "Payment automation".to_owned(),
    }
}

/// `?result=`: how the last action went.
#[derive(Debug, Deserialize)]
pub(crate) struct OneQuery {
    #[serde(default)]
    result: Option<String>,
}

/// A fresh idempotency key for a form drawn now.
pub(crate) fn form_key() -> String {
    use rand::Rng as _;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How long after a charge the page warns before another.
fn recent_window() -> chrono::Duration {
    chrono::Duration::minutes(10)
}

/// `GET /console/bookings/{id}`.
pub(crate) async fn one(
    State(console): State<Console>,
    member: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<OneQuery>,
) -> Response {
    let Ok(id) = BookingId::new(id) else {
        return missing();
    };
    let view = match console.billing.booking(&member.visit.business, &id).await {
        Ok(view) => view,
        Err(BillingError::BookingNotFound(_)) => return missing(),
        Err(error) => {
            tracing::error!(%error, "the console's booking page failed");
            return failed();
        }
    };
    let business = &member.visit.business;
    let cards = match console
        .billing
        .cards(business, &view.account.customer)
        .await
    {
        Ok(cards) => cards,
        Err(error) => {
            tracing::error!(%error, "the console could not read a customer's cards");
            return failed();
        }
    };
    let staff: HashMap<StaffId, String> = match console.billing.staff(business).await {
        Ok(members) => members.into_iter().map(|m| (m.id, m.name)).collect(),
        Err(error) => {
            tracing::error!(%error, "the console could not read the staff");
            return failed();
        }
    };
    let now = console.billing.now();
    let recent = view
        .payments
        .iter()
        .filter(|p| {
            matches!(p.kind.name(), KindName::Charge | KindName::Collection)
                && !matches!(p.state, PaymentState::Failed(_) | PaymentState::Canceled)
                && now - p.created_at < recent_window()
        })
        .max_by_key(|p| p.created_at)
        .map(|p| {
            let minutes = (now - p.created_at).num_minutes();
            let when = match minutes {
                0 => "moments ago".to_owned(),
                1 => "a minute ago".to_owned(),
                n => format!("{n} minutes ago"),
            };
            format!(
                "This booking was charged {when} ({}). Make sure this is not the same charge again.",
                p.amount
            )
        });
    let charge = ChargeForm {
        action: format!("/console/bookings/{id}/charges"),
        key: form_key(),
        collect_key: form_key(),
        amount: view
            .summary
            .balance
            .chargeable()
            .clamp_at_zero()
            .amount()
            .to_string(),
        cards: cards
            .iter()
            .map(|card| SourceOption {
                value: format!("card:{}", card.payment_method),
                label: format!(
                    "{}{}",
                    CardLabel::from(card).describe(),
                    if card.is_default { " (default)" } else { "" }
                ),
                selected: card.is_default,
            })
            .collect(),
        recent,
    };
    let flash = query
        .result
        .as_deref()
        .and_then(|r| charge::result_message(r).or_else(|| super::no_show::result_message(r)))
        .map(|(tone, text)| Flash { tone, text });
    let balance = &view.summary.balance;
    // Each payment's share of this booking, not its whole amount (a payment may pay several).
    let shares: HashMap<_, _> = view
        .payments
        .iter()
        .map(|p| {
            let share = p
                .allocations
                .iter()
                .find(|a| a.booking == id)
                .map_or(p.amount, |a| a.amount);
            (p.id.clone(), share)
        })
        .collect();
    let owner = member.visit.member.role == StaffRole::Owner;
    let payments = view
        .payments
        .iter()
        .map(|p| PaymentRow {
            id: p.id.to_string(),
            capturable: matches!(
                p.state,
                PaymentState::Authorized | PaymentState::PartiallyCaptured
            )
            .then(|| hold_remaining(p, &id, &view.payments).ok())
            .flatten()
            .filter(Money::is_positive)
            .map(|m| m.amount().to_string()),
            refundable: (owner
                && matches!(
                    p.kind.name(),
                    KindName::Charge | KindName::Collection | KindName::Capture
                ))
            .then(|| refundable(p, &view.payments).ok())
            .flatten()
            .filter(Money::is_positive)
            .map(|m| m.amount().to_string()),
            key: form_key(),
            stripe: console.config.stripe_dashboard.and_then(|dashboard| {
                p.gateway_reference
                    .as_deref()
                    .filter(|r| r.starts_with("pi_"))
                    .map(|r| {
                        dashboard.url(
                            business.gateway_account.as_deref(),
                            &format!("payments/{r}"),
                        )
                    })
            }),
            when: p.created_at.format("%-d %b %Y %H:%M UTC").to_string(),
            what: match p.tip_of(&id) {
                tip if tip.is_positive() => format!("{} with a tip of {tip}", what(p)),
                _ => what(p).to_owned(),
            },
            amount: shares.get(&p.id).unwrap_or(&p.amount).to_string(),
            state: p.state.name().replace('_', " "),
            by: by(&p.origin, &staff),
        })
        .collect();
    page(
        StatusCode::OK,
        &BookingPage {
            header: Some(header_of(&member)),
            flash,
            charge,
            id: id.to_string(),
            customer: view.account.customer.to_string(),
            badge: Badge::of(&view.summary.status),
            service_at: view.account.service_at.map_or_else(
                || "Not scheduled".to_owned(),
                |at| at.format("%a %-d %b %Y %H:%M UTC").to_string(),
            ),
            // The booking's own lines, then the tips of its succeeded charges.
            lines: view
                .lines()
                .iter()
                .map(|l| LineRow {
                    label: l.label.clone(),
                    kind: kind_label(l.kind),
                    amount: l.amount.to_string(),
                })
                .collect(),
            price: balance.price.to_string(),
            paid: balance.paid.to_string(),
            held: balance.held.to_string(),
            refunded: balance.refunded.to_string(),
            due: balance.balance_due.to_string(),
            payments,
            lines_seen: view.account.line_items.len(),
            customer_href: format!("/console/customers/{}", view.account.customer),
        },
    )
}
