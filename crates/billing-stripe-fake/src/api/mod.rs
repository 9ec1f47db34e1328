//! The Stripe endpoints: routing and the behaviour shared by resources.

pub(crate) mod accounts;
mod customers;
pub(crate) mod dashboard;
mod disputes;
mod payment_intents;
mod payment_methods;
mod refunds;
mod setup_intents;

use serde_json::{Value, json};

use crate::connect::Connect;
pub(crate) use crate::currency::format_amount;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::render;
use crate::state::{AccountState, State, StoredEvent, new_id};

/// Everything one request may touch: the objects of its account, the clock and the
/// event log.
pub(crate) struct Ctx<'a> {
    pub acct: &'a mut AccountState,
    pub account: Option<String>,
    pub now: i64,
    pub request_id: String,
    pub idempotency_key: Option<String>,
    pub api_version: String,
    /// Where the fake's own pages are (`http://127.0.0.1:PORT`), for 3-D Secure URLs.
    pub public_url: String,
    /// Seconds a new PaymentIntent stays out of search results.
    pub search_lag: i64,
    /// The platform's connected accounts and their links.
    pub connect: &'a mut Connect,
    seq: &'a mut u64,
    events: &'a mut Vec<StoredEvent>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        state: &'a mut State,
        account: Option<String>,
        request_id: String,
        idempotency_key: Option<String>,
        api_version: String,
    ) -> Self {
        let now = state.now();
        let State {
            accounts,
            events,
            seq,
            public_url,
            search_lag,
            connect,
            ..
        } = state;
        let acct = accounts.entry(account.clone()).or_default();
        Ctx {
            acct,
            account,
            now,
            request_id,
            idempotency_key,
            api_version,
            public_url: public_url.clone(),
            search_lag: *search_lag,
            connect,
            seq,
            events,
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        *self.seq += 1;
        *self.seq
    }

    /// Records an event as Stripe would send it to a webhook endpoint.
    pub fn emit(&mut self, event_type: &str, object: Value) {
        self.record_event(event_type, object, Value::Null, true);
    }

    /// Records an `*.updated` event with its `previous_attributes`.
    pub fn emit_with_previous(&mut self, event_type: &str, object: Value, previous: Value) {
        self.record_event(event_type, object, previous, true);
    }

    /// Records an event Stripe makes on its own (e.g. an expired authorization):
    /// its `request.id` is null.
    pub fn emit_automatic(&mut self, event_type: &str, object: Value) {
        self.record_event(event_type, object, Value::Null, false);
    }

    fn record_event(&mut self, event_type: &str, object: Value, previous: Value, by_request: bool) {
        let event = crate::webhook::EventSpec {
            id: new_id("evt"),
            event_type: event_type.to_owned(),
            object,
            previous_attributes: Some(previous)
                .filter(|p| p.as_object().is_some_and(|m| !m.is_empty())),
            created: self.now,
            api_version: self.api_version.clone(),
            account: self.account.clone(),
            request_id: Some(self.request_id.clone()).filter(|r| by_request && !r.is_empty()),
            idempotency_key: self.idempotency_key.clone().filter(|_| by_request),
        }
        .to_json();
        self.events.push(StoredEvent {
            account: self.account.clone(),
            event,
        });
    }

    pub fn events(&self) -> &[StoredEvent] {
        self.events
    }
}

/// Lets Stripe's own clock act on every account: uncaptured authorizations past their
/// `capture_before` expire, with their events.
pub(crate) fn sweep(state: &mut State) {
    let accounts: Vec<Option<String>> = state.accounts.keys().cloned().collect();
    for account in accounts {
        let mut ctx = Ctx::new(
            state,
            account,
            String::new(),
            None,
            crate::server::DEFAULT_API_VERSION.into(),
        );
        payment_intents::expire_holds(&mut ctx);
    }
}

/// Routes one request. `segments` is the path after `/v1/`, split on `/`.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    method: &str,
    segments: &[&str],
    params: &Params,
) -> ApiResult<Value> {
    // Uncaptured authorizations expire lazily, whenever the account is touched.
    payment_intents::expire_holds(ctx);
    refuse_charges_when_disabled(ctx, method, segments)?;
    match (method, segments) {
        ("POST", ["accounts"]) => accounts::create(ctx, params),
        ("GET", ["accounts", id]) => accounts::retrieve(ctx, id, params),
        ("GET", ["account"]) => accounts::retrieve_own(ctx, params),
        ("POST", ["account_links"]) => accounts::create_link(ctx, params),

        ("POST", ["customers"]) => customers::create(ctx, params),
        ("GET", ["customers"]) => customers::list(ctx, params),
        ("GET", ["customers", id]) => customers::retrieve(ctx, id, params),
        ("POST", ["customers", id]) => customers::update(ctx, id, params),
        ("DELETE", ["customers", id]) => customers::delete(ctx, id, params),
        ("GET", ["customers", id, "payment_methods"]) => {
            payment_methods::list_for_customer(ctx, id, params)
        }

        ("POST", ["payment_methods"]) => payment_methods::create(ctx, params),
        ("GET", ["payment_methods"]) => payment_methods::list(ctx, params),
        ("GET", ["payment_methods", id]) => payment_methods::retrieve(ctx, id, params),
        ("POST", ["payment_methods", id]) => payment_methods::update(ctx, id, params),
        ("POST", ["payment_methods", id, "attach"]) => payment_methods::attach(ctx, id, params),
        ("POST", ["payment_methods", id, "detach"]) => payment_methods::detach(ctx, id, params),

        ("POST", ["payment_intents"]) => payment_intents::create(ctx, params),
        ("GET", ["payment_intents"]) => payment_intents::list(ctx, params),
        ("GET", ["payment_intents", "search"]) => payment_intents::search(ctx, params),
        ("GET", ["payment_intents", id]) => payment_intents::retrieve(ctx, id, params),
        ("POST", ["payment_intents", id]) => payment_intents::update(ctx, id, params),
        ("POST", ["payment_intents", id, "confirm"]) => payment_intents::confirm(ctx, id, params),
        ("POST", ["payment_intents", id, "capture"]) => payment_intents::capture(ctx, id, params),
        ("POST", ["payment_intents", id, "cancel"]) => payment_intents::cancel(ctx, id, params),

        ("GET", ["charges"]) => payment_intents::list_charges(ctx, params),
        ("GET", ["charges", id]) => payment_intents::retrieve_charge(ctx, id, params),

        ("POST", ["refunds"]) => refunds::create(ctx, params),
        ("GET", ["refunds"]) => refunds::list(ctx, params),
        ("GET", ["refunds", id]) => refunds::retrieve(ctx, id, params),
        ("POST", ["refunds", id]) => refunds::update(ctx, id, params),

        ("POST", ["setup_intents"]) => setup_intents::create(ctx, params),
        ("GET", ["setup_intents"]) => setup_intents::list(ctx, params),
        ("GET", ["setup_intents", id]) => setup_intents::retrieve(ctx, id, params),
        ("POST", ["setup_intents", id, "confirm"]) => setup_intents::confirm(ctx, id, params),
        ("POST", ["setup_intents", id, "cancel"]) => setup_intents::cancel(ctx, id, params),

        ("GET", ["events"]) => list_events(ctx, params),
        ("GET", ["events", id]) => retrieve_event(ctx, id, params),

        ("GET", ["disputes"]) => disputes::list(ctx, params),
        ("GET", ["disputes", id]) => disputes::retrieve(ctx, id, params),
        ("POST", ["disputes", id]) => disputes::update(ctx, id, params),
        ("POST", ["disputes", id, "close"]) => disputes::close(ctx, id, params),

        _ => Err(unrecognized(method, segments)),
    }
}

/// A connected account the platform made that cannot take charges yet (onboarding not
/// finished, or restricted) is refused PaymentIntents, as Stripe refuses them.
fn refuse_charges_when_disabled(ctx: &Ctx<'_>, method: &str, segments: &[&str]) -> ApiResult<()> {
    let charging = matches!(
        (method, segments),
        ("POST", ["payment_intents"]) | ("POST", ["payment_intents", _, "confirm"])
    );
    match &ctx.account {
        Some(account) if charging && !ctx.connect.can_charge(account) => Err(ApiError::invalid(
            "This Connect account cannot currently make live charges. The `requirements.disabled_reason` property on the account will provide information about why this account is currently disabled.",
        )),
        _ => Ok(()),
    }
}

/// The current JSON of any stored object of the context's account, by id prefix.
pub(crate) fn render_object(ctx: &Ctx<'_>, id: &str) -> Option<Value> {
    let acct = &*ctx.acct;
    let prefix = id.split('_').next().unwrap_or_default();
    match prefix {
        "cus" => render::customer(acct.customers.get(id)?, acct, &[]).ok(),
        "pm" => acct.payment_methods.get(id).map(render::payment_method),
        "pi" => render::payment_intent(acct.payment_intents.get(id)?, acct, &[]).ok(),
        "ch" => render::charge(acct.charges.get(id)?, acct, &[]).ok(),
        "re" => render::refund(acct.refunds.get(id)?, acct, &[]).ok(),
        "seti" => render::setup_intent(acct.setup_intents.get(id)?, acct, &[]).ok(),
        "dp" => render::dispute(acct.disputes.get(id)?, acct, &[]).ok(),
        "acct" => ctx
            .connect
            .accounts
            .get(id)
            .map(crate::connect::ConnectAccount::to_json),
        "evt" => ctx
            .events()
            .iter()
            .find(|e| e.account == ctx.account && e.event["id"] == json!(id))
            .map(|e| e.event.clone()),
        _ => None,
    }
}

/// Completes (or fails) the 3-D Secure step of an intent in `requires_action`.
pub(crate) fn complete_authentication(
    ctx: &mut Ctx<'_>,
    id: &str,
    success: bool,
) -> ApiResult<Value> {
    payment_intents::expire_holds(ctx);
    if id.starts_with("seti_") {
        setup_intents::complete_authentication(ctx, id, success)
    } else {
        payment_intents::complete_authentication(ctx, id, success)
    }
}

pub(crate) fn unrecognized(method: &str, segments: &[&str]) -> ApiError {
    ApiError::new(
        404,
        "invalid_request_error",
        format!(
            "Unrecognized request URL ({method}: /v1/{}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            segments.join("/")
        ),
    )
}

/// Orders newest first, as Stripe lists do.
pub(crate) fn newest_first<T>(items: &mut [T], key: impl Fn(&T) -> (i64, u64)) {
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
}

/// Applies `limit`, `starting_after` and `ending_before` to a newest-first list.
/// Returns the page and `has_more`.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    id_of: impl Fn(&T) -> &str,
    params: &Params,
) -> ApiResult<(Vec<T>, bool)> {
    let limit = limit(params)?;
    let starting_after = params.non_empty_str("starting_after")?;
    let ending_before = params.non_empty_str("ending_before")?;
    if starting_after.is_some() && ending_before.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: starting_after, ending_before.",
        ));
    }
    if let Some(cursor) = starting_after {
        let pos = items
            .iter()
            .position(|i| id_of(i) == cursor)
            .ok_or_else(|| ApiError::missing("object", &cursor, "starting_after"))?;
        let rest: Vec<T> = items.into_iter().skip(pos + 1).collect();
        let has_more = rest.len() > limit;
        return Ok((rest.into_iter().take(limit).collect(), has_more));
    }
    if let Some(cursor) = ending_before {
        let pos = items
            .iter()
            .position(|i| id_of(i) == cursor)
            .ok_or_else(|| ApiError::missing("object", &cursor, "ending_before"))?;
        let before: Vec<T> = items.into_iter().take(pos).collect();
        let skip = before.len().saturating_sub(limit);
        return Ok((before.into_iter().skip(skip).collect(), skip > 0));
    }
    let has_more = items.len() > limit;
    Ok((items.into_iter().take(limit).collect(), has_more))
}

pub(crate) fn limit(params: &Params) -> ApiResult<usize> {
    match params.int("limit")? {
        None => Ok(10),
        Some(n) if (1..=100).contains(&n) => Ok(usize::try_from(n).unwrap_or(10)),
        Some(_) => Err(
            ApiError::invalid("Invalid limit: must be an integer between 1 and 100").param("limit"),
        ),
    }
}

/// `created` filters on list endpoints: `created=123` or `created[gte]=...` and friends.
pub(crate) fn created_filter(params: &Params) -> ApiResult<impl Fn(i64) -> bool + use<>> {
    let mut bounds: Vec<(String, i64)> = Vec::new();
    if let Some(exact) = params.int("created").ok().flatten() {
        bounds.push(("eq".into(), exact));
    } else if let Some(range) = params.object("created")? {
        for op in ["gt", "gte", "lt", "lte"] {
            if let Some(v) = range.int(op)? {
                bounds.push((op.into(), v));
            }
        }
    }
    Ok(move |created: i64| {
        bounds.iter().all(|(op, v)| match op.as_str() {
            "eq" => created == *v,
            "gt" => created > *v,
            "gte" => created >= *v,
            "lt" => created < *v,
            _ => created <= *v,
        })
    })
}

fn retrieve_event(ctx: &mut Ctx<'_>, id: &str, params: &Params) -> ApiResult<Value> {
    params.allow_only(&["expand"])?;
    render::check_expand(&params.expand()?, &[])?;
    ctx.events()
        .iter()
        .find(|e| e.account == ctx.account && e.event["id"] == json!(id))
        .map(|e| e.event.clone())
        .ok_or_else(|| ApiError::missing("event", id, "id"))
}

fn list_events(ctx: &mut Ctx<'_>, params: &Params) -> ApiResult<Value> {
    params.allow_only(&[
        "created",
        "delivery_success",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
        "type",
        "types",
    ])?;
    render::list_item_expand(&params.expand()?, &[])?;
    let wanted_type = params.non_empty_str("type")?;
    let wanted_types = params.str_list("types")?;
    if wanted_type.is_some() && wanted_types.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: type, types.",
        ));
    }
    let created = created_filter(params)?;
    let items: Vec<Value> = ctx
        .events()
        .iter()
        .rev() // the log is oldest first
        .filter(|e| e.account == ctx.account)
        .map(|e| e.event.clone())
        .filter(|e| {
            let t = e["type"].as_str().unwrap_or_default();
            wanted_type.as_deref().is_none_or(|w| type_matches(w, t))
                && wanted_types
                    .as_ref()
                    .is_none_or(|ws| ws.iter().any(|w| type_matches(w, t)))
                && created(e["created"].as_i64().unwrap_or_default())
        })
        .collect();
    let (page, has_more) = paginate(items, |e| e["id"].as_str().unwrap_or_default(), params)?;
    Ok(render::list("/v1/events", page, has_more))
}

/// Stripe's event type filter takes `*` wildcards (`payment_intent.*`).
fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination() {
        let items: Vec<String> = (0..5).map(|i| format!("x{i}")).collect();
        let p = Params::new(json!({"limit": "2", "starting_after": "x1"}));
        let (page, more) = paginate(items.clone(), |s| s.as_str(), &p).expect("page");
        assert_eq!(page, vec!["x2", "x3"]);
        assert!(more);
        let p = Params::new(json!({"limit": "2", "ending_before": "x1"}));
        let (page, more) = paginate(items, |s| s.as_str(), &p).expect("page");
        assert_eq!(page, vec!["x0"]);
        assert!(!more);
    }

    #[test]
    fn event_type_patterns() {
        assert!(type_matches("payment_intent.*", "payment_intent.succeeded"));
        assert!(!type_matches("charge.refunded", "charge.succeeded"));
    }
}
