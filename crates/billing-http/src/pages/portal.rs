//! The customer portal's pages: `/portal/{token}` opens an emailed link once and keeps the
//! session it starts in a cookie; `/portal` lists the customer's bookings with what they owe
//! and paid, and their cards. Paying sends the customer to a payment link's page (`/pay/...`)
//! and adding a card to a card request's (`/cards/...`), whose last pages bring them back: the
//! card never reaches this server in Stripe mode, as on every hosted page.
//!
//! The session cookie is `HttpOnly`, `SameSite=Lax` (the emailed link is a navigation from
//! another site, which a `Strict` cookie would not follow through the redirect) and scoped to
//! `/portal`. Forms are refused when the browser says they come from another site
//! (`Sec-Fetch-Site`), and must carry the session's form token.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use billing_core::billing::{PORTAL_PATH, PortalOverview, PortalVisit, ReceiptKind};
use billing_core::email::CardLabel;
use billing_core::error::BillingError;
use billing_core::ids::BookingId;
use billing_core::portal::{form_token, form_token_matches};
use serde::Deserialize;

use super::answers::unavailable;
use super::views::{LineView, MessagePage, page};
use crate::state::Api;

/// The session cookie's name.
const COOKIE: &str = "portal_session";

/// The portal's page.
#[derive(Debug, askama::Template)]
#[template(path = "portal.html")]
pub(crate) struct PortalPage {
    business: String,
    customer: String,
    /// Until when the session lasts (UTC).
    until: String,
    form_token: String,
    bookings: Vec<BookingView>,
    /// What all the bookings owe, one amount per currency.
    total_due: Vec<String>,
    cards: Vec<CardView>,
    truncated: bool,
    notice: Option<&'static str>,
    error: Option<&'static str>,
}

#[derive(Debug)]
struct BookingView {
    id: String,
    line: LineView,
    payable: bool,
    receipts: Vec<ReceiptView>,
}

#[derive(Debug)]
struct ReceiptView {
    date: String,
    what: String,
    amount: String,
    refund: bool,
}

#[derive(Debug)]
struct CardView {
    payment_method: String,
    label: String,
    expires: String,
    is_default: bool,
}

/// The notices a redirect back to the portal shows, by its `done` query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

fn notice_of(done: &str) -> Option<&'static str> {
    match done {
        "card-removed" => Some("Your card was removed."),
        _ => None,
    }
}

/// `GET /portal/{token}`: opens an emailed portal link (once) and goes to the portal.
#[utoipa::path(
    get, path = "/portal/{token}", tag = "hosted pages",
    params(("token" = String, Path, description = "The portal link's secret token, from its email")),
    responses(
        (status = 303, description = "To `/portal`, with the session's cookie"),
        (status = 404, description = "`#link-unavailable`: unknown or expired", body = String, content_type = "text/html"),
        (status = 410, description = "`#portal-link-used`: opened already", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
        (status = 503, description = "`#page-error`: the store could not be read or written", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn open_link(
    State(api): State<Api>,
    jar: CookieJar,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return unavailable();
    };
    match api.billing.open_portal(&token).await {
        Ok(entry) => {
            let cookie = session_cookie(&api, entry.session_token);
            (jar.add(cookie), Redirect::to(PORTAL_PATH)).into_response()
        }
        Err(BillingError::LinkAlreadyUsed) => page(StatusCode::GONE, &LINK_USED),
        Err(BillingError::LinkUnavailable) => unavailable(),
        Err(error) => failed(&error),
    }
}

/// `GET /portal`: the customer's bookings, receipts and cards.
#[utoipa::path(
    get, path = "/portal", tag = "hosted pages",
    responses(
        (status = 200, description = "The portal (`#portal`, `#pay-selected`, `#add-card`)", body = String, content_type = "text/html"),
        (status = 401, description = "`#portal-ended`: no session, or it ended", body = String, content_type = "text/html"),
        (status = 429, description = "`#too-many-requests`, with `Retry-After`", body = String, content_type = "text/html"),
        (status = 503, description = "`#page-error`: the store could not be read", body = String, content_type = "text/html"),
    )
)]
pub(crate) async fn overview(
    State(api): State<Api>,
    jar: CookieJar,
    done: Result<Query<Done>, QueryRejection>,
) -> Response {
    let (token, visit) = match visit(&api, &jar).await {
        Ok(found) => found,
        Err(ended) => return ended,
    };
    let notice = done.ok().and_then(|Query(d)| notice_of(&d.done));
    show(&api, &token, &visit, StatusCode::OK, notice, None).await
}

/// The fields of the portal's forms (each reads those it has).
#[derive(Debug, Default, Deserialize)]
struct PortalFields {
    #[serde(default)]
    form_token: String,
    /// The pay form: the bookings ticked.
    #[serde(default)]
    booking: Vec<String>,
    /// The remove form: the card.
    #[serde(default)]
    payment_method: String,
}

/// A form posted by a live session from the portal's own page ([`checked`]): its session's
/// token and visit, and its fields. Any other request is answered before the handler runs.
pub(crate) struct SessionForm {
    token: String,
    visit: PortalVisit,
    fields: PortalFields,
}

impl FromRequest<Api> for SessionForm {
    type Rejection = Response;

    async fn from_request(request: Request, api: &Api) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(request.headers());
        let headers = request.headers().clone();
        // An unreadable form reads as empty: it then lacks the form token, and is refused.
        let fields = Form::<PortalFields>::from_request(request, api)
            .await
            .map(|Form(fields)| fields)
            .unwrap_or_default();
        let (token, visit) = checked(api, &jar, &headers, &fields.form_token).await?;
        Ok(SessionForm {
            token,
            visit,
            fields,
        })
    }
}

/// `POST /portal/pay`: a payment link for the bookings ticked, and the customer goes to its
/// page.
pub(crate) async fn pay(State(api): State<Api>, form: SessionForm) -> Response {
    let SessionForm {
        token,
        visit,
        fields,
    } = form;
    let mut bookings = Vec::with_capacity(fields.booking.len());
    for id in &fields.booking {
        match BookingId::new(id.as_str()) {
            Ok(id) => bookings.push(id),
            Err(_) => return show_error(&api, &token, &visit, NOT_PAYABLE).await,
        }
    }
    if bookings.is_empty() {
        return show_error(&api, &token, &visit, CHOOSE_ONE).await;
    }
    match api.billing.portal_payment_link(&visit, bookings).await {
        Ok(issued) => Redirect::to(&issued.url).into_response(),
        Err(
            BillingError::NothingToCharge { .. }
            | BillingError::BookingNotFound(_)
            | BillingError::InvalidInput(_),
        ) => show_error(&api, &token, &visit, NOT_PAYABLE).await,
        Err(BillingError::AmountNotChargeable(_) | BillingError::AccountCannotCharge { .. }) => {
            show_error(&api, &token, &visit, CANNOT_PAY_ONLINE).await
        }
        Err(error) => failed(&error),
    }
}

/// `POST /portal/cards`: a card request, and the customer goes to its page.
pub(crate) async fn add_card(State(api): State<Api>, form: SessionForm) -> Response {
    match api.billing.portal_card_request(&form.visit).await {
        Ok(issued) => Redirect::to(&issued.url).into_response(),
        Err(error) => failed(&error),
    }
}

/// `POST /portal/cards/remove`: removes one of the customer's cards.
pub(crate) async fn remove_card(State(api): State<Api>, form: SessionForm) -> Response {
    let SessionForm {
        token,
        visit,
        fields,
    } = form;
    match api
        .billing
        .portal_remove_card(&visit, &fields.payment_method)
        .await
    {
        Ok(()) => Redirect::to("/portal?done=card-removed").into_response(),
        Err(BillingError::CardNotFound(_)) => {
            show_error(&api, &token, &visit, CARD_NOT_FOUND).await
        }
        Err(BillingError::CardInUse { .. }) => show_error(&api, &token, &visit, CARD_IN_USE).await,
        Err(error) => failed(&error),
    }
}

/// `POST /portal/sign-out`: ends the session.
pub(crate) async fn sign_out(
    State(api): State<Api>,
    jar: CookieJar,
    form: SessionForm,
) -> Response {
    if let Err(error) = api.billing.end_portal_session(&form.token).await {
        return failed(&error);
    }
    let mut gone = session_cookie(&api, String::new());
    gone.make_removal();
    (jar.add(gone), page(StatusCode::OK, &SIGNED_OUT)).into_response()
}

const CHOOSE_ONE: &str = "Choose at least one booking to pay.";
const NOT_PAYABLE: &str = "One of these bookings has nothing to pay now, or a payment on it is in progress. Please check the list and try again.";
const CANNOT_PAY_ONLINE: &str =
    "These bookings cannot be paid online right now. Please contact the business.";
const CARD_NOT_FOUND: &str = "That card is no longer on file.";
const CARD_IN_USE: &str =
    "That card is being used for a payment in progress. Please try again in a few minutes.";

const LINK_USED: MessagePage = MessagePage {
    id: "portal-link-used",
    title: "This link was already used",
    message: "For your security, a link to your bookings opens once. Please ask the business for a new link.",
};

const ENDED: MessagePage = MessagePage {
    id: "portal-ended",
    title: "Your session has ended",
    message: "For your security, the page of your bookings stays open for an hour. Please ask the business for a new link.",
};

const SIGNED_OUT: MessagePage = MessagePage {
    id: "portal-signed-out",
    title: "You are signed out",
    message: "You can close this page. Ask the business for a new link to see your bookings again.",
};

const FORGED: MessagePage = MessagePage {
    id: "portal-refused",
    title: "This request was refused",
    message: "It did not come from your bookings' page. Please go back to the page and try again.",
};

/// The session cookie (removed when `token` is empty and made a removal).
fn session_cookie(api: &Api, token: String) -> Cookie<'static> {
    Cookie::build((COOKIE, token))
        .path(PORTAL_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(api.config.secure_cookies)
        .build()
}

/// The session of the request's cookie, or the page that says it ended.
async fn visit(api: &Api, jar: &CookieJar) -> Result<(String, PortalVisit), Response> {
    let ended = || page(StatusCode::UNAUTHORIZED, &ENDED);
    let Some(token) = jar.get(COOKIE).map(|c| c.value().to_owned()) else {
        return Err(ended());
    };
    match api.billing.portal_visit(&token).await {
        Ok(visit) => Ok((token, visit)),
        Err(BillingError::LinkUnavailable) => Err(ended()),
        Err(error) => Err(failed(&error)),
    }
}

/// The session of a form, which must come from the portal's own page: not from another site
/// (as the browser says), and with the session's form token.
async fn checked(
    api: &Api,
    jar: &CookieJar,
    headers: &HeaderMap,
    given: &str,
) -> Result<(String, PortalVisit), Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // `Origin` cannot tell: under the pages' `no-referrer` policy, the browser sends `null`
    // for the portal's own forms too.
    if matches!(header("sec-fetch-site"), Some("cross-site" | "same-site")) {
        return Err(page(StatusCode::FORBIDDEN, &FORGED));
    }
    let (token, visit) = visit(api, jar).await?;
    if !form_token_matches(&token, given) {
        return Err(page(StatusCode::FORBIDDEN, &FORGED));
    }
    Ok((token, visit))
}

async fn show_error(api: &Api, token: &str, visit: &PortalVisit, error: &'static str) -> Response {
    show(
        api,
        token,
        visit,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        Some(error),
    )
    .await
}

async fn show(
    api: &Api,
    token: &str,
    visit: &PortalVisit,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> Response {
    match api.billing.portal_overview(visit).await {
        Ok(overview) => page(status, &portal_page(token, visit, overview, notice, error)),
        Err(error) => failed(&error),
    }
}

fn portal_page(
    token: &str,
    visit: &PortalVisit,
    overview: PortalOverview,
    notice: Option<&'static str>,
    error: Option<&'static str>,
) -> PortalPage {
    PortalPage {
        business: visit.business.name.clone(),
        customer: visit.customer.name.clone(),
        until: visit.expires_at.format("%H:%M UTC").to_string(),
        form_token: form_token(token),
        bookings: overview
            .bookings
            .iter()
            .map(|b| BookingView {
                id: b.booking.to_string(),
                line: LineView::from(&b.line),
                payable: b.payable.is_positive(),
                receipts: b
                    .receipts
                    .iter()
                    .map(|r| ReceiptView {
                        date: r.at.format("%-d %b %Y").to_string(),
                        what: match &r.what {
                            ReceiptKind::Card { last4: Some(last4) } => {
                                format!("Card ending {last4}")
                            }
                            ReceiptKind::Card { last4: None } => "Card".to_owned(),
                            ReceiptKind::Collected { method } => format!("Paid by {method}"),
                            ReceiptKind::Refund => "Refund".to_owned(),
                        },
                        amount: r.amount.to_string(),
                        refund: r.what == ReceiptKind::Refund,
                    })
                    .collect(),
            })
            .collect(),
        total_due: overview.total_due.iter().map(ToString::to_string).collect(),
        cards: overview
            .cards
            .iter()
            .map(|c| CardView {
                payment_method: c.payment_method.clone(),
                label: CardLabel::from(c).describe(),
                expires: format!("{:02}/{}", c.exp_month, c.exp_year),
                is_default: c.is_default,
            })
            .collect(),
        truncated: overview.truncated,
        notice,
        error,
    }
}

fn failed(error: &BillingError) -> Response {
    tracing::error!(code = error.code(), %error, "a portal page failed");
    page(StatusCode::SERVICE_UNAVAILABLE, &MessagePage::FAILED)
}
