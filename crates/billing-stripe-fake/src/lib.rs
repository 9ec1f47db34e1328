//! A stateful fake of the Stripe HTTP API, for the tests of the Stripe adapter.
//!
//! ```no_run
//! # async fn demo() {
//! use billing_stripe_fake::{FakeStripe, Fault};
//!
//! let fake = FakeStripe::start().await;
//! // async-stripe: ClientBuilder::new(fake.secret_key()).url(fake.base_url()).build()
//! fake.inject(Fault::RateLimited, 1); // the next request gets a 429
//! let (payload, signature) = fake.signed_event("payment_intent.succeeded", serde_json::json!({}));
//! # let _ = (payload, signature);
//! # }
//! ```
//!
//! # Faithful to Stripe
//! - Objects in full Stripe shape (every field of Stripe's example objects, `object`,
//!   `livemode: false`, nulls where Stripe has null, Stripe id prefixes), so that
//!   async-stripe parses exactly what it parses from the real API.
//! - Form-encoded parameters with nested keys (`metadata[k]`, `card[token]`,
//!   `expand[]` / `expand[0]`); unknown top-level parameters are refused with
//!   `parameter_unknown`, as Stripe does; metadata merge/unset semantics.
//! - Customers, card PaymentMethods (test ids `pm_card_visa`, tokens `tok_visa`, test
//!   numbers), PaymentIntents (confirm, manual capture with partial capture, cancel,
//!   declines answered with HTTP 402 `card_error` carrying `decline_code`, the charge
//!   and the PaymentIntent), Refunds (bounded by what remains, with Stripe's
//!   `charge_already_refunded` / `amount_too_large` errors), SetupIntents, Charges,
//!   Disputes, Events, list pagination and `GET /v1/payment_intents/search`.
//! - Stripe's amount rules on PaymentIntents (create, update, confirm): currencies Stripe
//!   does not take are refused (param `currency`); amounts under Stripe's minimum charge
//!   amount are refused with `amount_too_small` (its table: USD/EUR/CAD/AUD/CHF/NZD/SGD/BRL/INR
//!   0.50, GBP 0.30, JPY ¥50, HKD 4, MXN 10, THB 10, DKK 2.50, NOK/SEK 3, PLN/RON/AED/MYR 2,
//!   BGN 1, CZK 15, HUF 175); three-decimal currencies (BHD, JOD, KWD, OMR, TND) need a final
//!   0, ISK amounts whole units; at most eight digits. Captures and refunds follow the
//!   three-decimal rule and are bounded by what is capturable or refundable.
//! - Multicapture: a manual-capture intent with
//!   `payment_method_options[card][request_multicapture]=if_available` gets it when its
//!   account allows it (on by default; [`FakeStripe::set_multicapture`]) and the card's
//!   network offers it; the charge shows `payment_method_details.card.multicapture.status`
//!   `available` or `unavailable`. `final_capture=false` is refused without it; with it the
//!   intent stays `requires_capture` (`amount_capturable` down, `amount_received` summed,
//!   `payment_intent.amount_capturable_updated`), captured parts can be refunded, and the
//!   final capture (or a cancel, or the hold's expiry) ends it `succeeded`, the rest
//!   released. At most 50 captures.
//! - Test cards behave as documented: decline cards cannot be attached (use
//!   `pm_card_chargeCustomerFail` to attach a card whose charges then fail).
//!   3-D Secure: `pm_card_authenticationRequired` (4000 0027 6000 3184),
//!   `pm_card_threeDSecure2Required` (4000 0000 0000 3220) and
//!   `pm_card_threeDSecureRequired` (4000 0000 0000 3063) always ask;
//!   `pm_card_authenticationRequiredOnSetup` (4000 0025 0000 3155) asks on session and when
//!   set up, and pays off session once set up (by a SetupIntent, or saved with
//!   `setup_future_usage=off_session` by an authenticated payment). Off session
//!   (`off_session=true`), asking means HTTP 402 `authentication_required` and the intent
//!   left `requires_payment_method` with `last_payment_error`; on session it means
//!   `requires_action` with `next_action` `redirect_to_url` (to the fake's page
//!   `/_fake/3ds/{intent}`, when a `return_url` was given) or `use_stripe_sdk`. The page's
//!   buttons (or [`FakeStripe::complete_authentication`], or `POST /_fake/authenticate`)
//!   complete it (`succeeded` / `requires_capture`; for a SetupIntent the card is attached)
//!   or fail it (`requires_payment_method`, `payment_intent_authentication_failure`); the
//!   page then redirects to the `return_url` with `payment_intent`,
//!   `payment_intent_client_secret` and `redirect_status`, as Stripe does.
//! - Disputes (`GET /v1/disputes` filtered by `payment_intent` or `charge`, paginated;
//!   `GET`/`POST /v1/disputes/{id}`, `POST /v1/disputes/{id}/close`): opened by the network
//!   ([`FakeStripe::open_dispute`]) `needs_response`, with the charge `disputed`; evidence
//!   submitted makes them `under_review`; closed `won` or `lost`. Events
//!   `charge.dispute.created`, `.funds_withdrawn`, `.updated`, `.closed`, `.funds_reinstated`
//!   carry the dispute (its `charge` and `payment_intent`, not the payment's metadata). A
//!   charge with an open or lost dispute cannot be refunded (`charge_disputed`).
//! - What a business does in the Dashboard, outside the API: capture (full or partial,
//!   final or not), cancel, refund (with no metadata), with Stripe's rules and events
//!   ([`FakeStripe::capture_in_dashboard`] and friends, or the control API).
//! - Every state change records its event, in order, with `account` on a connected
//!   account's events; `GET /v1/events` (`type`, `types[]` with `*` wildcards, `created`,
//!   `starting_after`/`ending_before`) shows an account its own events only.
//! - `Authorization: Bearer` checked (401), `Stripe-Account` scoping (objects of one
//!   account are `resource_missing` from any other), `Idempotency-Key` per account
//!   (same parameters: replay with `Idempotent-Replayed: true`; different: 400
//!   `idempotency_error`; only successes and card errors are saved).
//! - Uncaptured authorizations expire at `capture_before` = created + 7 days
//!   (shown on the charge's `payment_method_details.card.capture_before`); when the clock
//!   passes it ([`FakeStripe::advance_clock`] at once, real time at the next request or
//!   control call) the intent is canceled as
//!   `automatic`, with `charge.expired` and `payment_intent.canceled` (a `request.id` of
//!   null, as Stripe's own changes have).
//! - Connect: `POST /v1/accounts` (the platform's only) makes a restricted account (charges
//!   and payouts disabled, `requirements.currently_due` listed, `disabled_reason`
//!   `requirements.past_due`), `GET /v1/accounts/{id}` and `GET /v1/account` read it,
//!   `POST /v1/account_links` (`account_onboarding`, or `account_update` once onboarded; both
//!   URLs required) answers a link to the fake's onboarding page, single use, for five
//!   minutes (used or expired, it sends the owner to `refresh_url`). The page's
//!   **Complete onboarding** (or [`FakeStripe::complete_onboarding`]) enables charges and
//!   payouts and records `account.updated` (with `account` and `previous_attributes`), then
//!   returns to `return_url`; [`FakeStripe::restrict_account`] takes charges away again. A
//!   PaymentIntent created or confirmed on an account the platform made that cannot take
//!   charges is refused (400, Stripe's "cannot currently make live charges").
//! - Search lag, when set ([`FakeStripe::set_search_lag`]): intents newer than the lag are
//!   not yet found by `/v1/payment_intents/search` (Stripe's index lags up to a minute).
//! - Webhook events in full shape, signed like Stripe (`t=...,v1=hmac_sha256`); with a
//!   webhook URL ([`FakeStripeConfig::webhook_url`]) each is POSTed in the background,
//!   signed at sending, retried with a growing backoff until the endpoint answers 2xx,
//!   concurrently (so possibly out of order) and, with [`DeliverySettings`], late and twice.
//!
//! # Not faithful
//! - Cards only; no Checkout, invoices, subscriptions, transfers, payouts, balance
//!   transactions (a dispute's `balance_transactions` is empty).
//! - Everything settles within the request (no `processing`); the clock only moves
//!   holds to their expiry.
//! - The minimum charge amount is checked for the currencies of Stripe's table only;
//!   elsewhere Stripe converts to the settlement currency, which the fake does not.
//! - Error messages follow Stripe's wording where it is known (the `amount_too_small`
//!   and refund messages are Stripe's); the messages for a refused `final_capture`, the
//!   three-decimal rule and disputes are the fake's own. Not every validation of the real
//!   API is made (e.g. statement descriptor rules); parameters that are valid on Stripe but
//!   that the fake does not model are accepted and ignored, except those that would change
//!   the outcome, which are refused naming the fake
//!   (`payment_method_options[card][capture_method]`,
//!   `payment_method_options[card][request_three_d_secure]` other than `automatic`, ...).
//! - How a partly captured multicapture hold ends when canceled or expired (`succeeded`,
//!   the rest released) is the fake's reading of Stripe's documentation.
//! - Any other `acct_...` (one not made by `POST /v1/accounts`) is a valid connected account
//!   that can take charges, with no account object. Onboarding asks nothing: its page has
//!   two buttons. Capabilities follow `charges_enabled`; `settings` is null.
//!   Multicapture is an account setting of the fake (on Stripe it comes with IC+ pricing).
//! - Webhook delivery goes to one `http://` URL for every account (Stripe has separate
//!   Connect endpoints); its backoff is in milliseconds, not Stripe's hours; events are not
//!   filtered by type.
//!
//! # As a process of its own: `billing-stripe-fake`
//! For tests where the fake must outlive the service under test (a crash campaign):
//!
//! ```text
//! billing-stripe-fake [--port PORT] [--secret-key KEY] [--webhook-secret SECRET]
//!                     [--webhook-url URL] [--seed N]
//! ```
//!
//! It listens on 127.0.0.1 (`--port 0`, the default: any free port) and prints
//! `listening on http://127.0.0.1:PORT` as its first line, then `secret key: ...` and
//! `webhook secret: ...` (random unless given). It stops on Ctrl-C, SIGTERM or
//! `POST /_fake/shutdown`.
//!
//! # The control API, under `/_fake/`
//! Served by every fake (in process too), with no Stripe authentication. Bodies are JSON
//! objects; `account` is a connected account (`"acct_..."`) or absent/`null` for the
//! platform. Answers are JSON; errors are Stripe-shaped (`{"error": {"type", "message",
//! ...}}`), 400 for a bad body and Stripe's own status and code when Stripe would refuse
//! the operation (e.g. 404 `resource_missing`).
//!
//! | Method and path | Body | Answer |
//! |---|---|---|
//! | `GET /_fake/health` | | `{"ok": true, "now"}` |
//! | `GET /_fake/state` | | the state dump, below |
//! | `GET /_fake/requests` | | `{"requests": [{"request_id", "method", "path", "query", "stripe_account", "idempotency_key", "fault", "status", "replayed"}]}` |
//! | `POST /_fake/faults` | `{"fault": "timeout_after_processing" \| "reset_after_processing" \| "server_error" \| "rate_limited" \| "connection_reset", "status"?: 503, "times"?: 1, "method"?, "path_prefix"?}` | `{"pending"}` |
//! | `GET /_fake/faults`, `DELETE /_fake/faults` | | `{"pending"}` |
//! | `POST /_fake/chaos` | `{"latency_min_ms"?, "latency_max_ms"?, "lost_response_rate"?: 0..1, "seed"?, "method"?, "path_prefix"?}` | `{"chaos": true}` |
//! | `DELETE /_fake/chaos` | | `{"chaos": false}` |
//! | `POST /_fake/clock/advance` | `{"seconds"}` | `{"now"}` |
//! | `POST /_fake/multicapture` | `{"account"?, "allowed": bool}` | `{"account", "multicapture"}` |
//! | `POST /_fake/search_lag` | `{"seconds"}` | `{"search_lag"}` |
//! | `POST /_fake/authenticate` | `{"account"?, "intent": "pi_...\|seti_...", "success"?: true}` | the intent |
//! | `POST /_fake/dashboard/capture` | `{"account"?, "payment_intent", "amount"?, "final_capture"?: true}` | the PaymentIntent |
//! | `POST /_fake/dashboard/cancel` | `{"account"?, "payment_intent", "cancellation_reason"?}` | the PaymentIntent |
//! | `POST /_fake/dashboard/refund` | `{"account"?, "payment_intent", "amount"?}` | the Refund |
//! | `POST /_fake/disputes` | `{"account"?, "payment": "pi_...\|ch_...", "amount"?, "reason"?: "fraudulent"}` | the Dispute |
//! | `POST /_fake/disputes/{id}/review` | `{"account"?}` | the Dispute (`under_review`) |
//! | `POST /_fake/disputes/{id}/close` | `{"account"?, "outcome": "won" \| "lost"}` | the Dispute |
//! | `GET /_fake/webhooks` | | `{"settings", "pending", "attempts": [{"event_id", "event_type", "attempt", "status", "error"}]}` |
//! | `POST /_fake/webhooks` | `{"retry_base_ms"?, "retry_max_ms"?, "max_attempts"?, "duplicate_rate"?, "max_delay_ms"?, "attempt_timeout_ms"?}` | `{"settings"}` |
//! | `POST /_fake/shutdown` | | `{"stopping": true}` |
//! | `POST /_fake/accounts/{id}/complete` | | the account, onboarded |
//! | `POST /_fake/accounts/{id}/restrict` | `{"disabled_reason"?: "requirements.past_due", "past_due"?: [...]}` | the account |
//! | `GET /_fake/connect/onboarding/{token}` | | the onboarding page (HTML, buttons `#complete`, `#leave`) |
//! | `POST /_fake/connect/onboarding/{token}` | form `result=complete\|leave` | 303 to the link's `return_url` (`refresh_url` once used or expired) |
//! | `GET /_fake/3ds/{intent}?account=` | | the 3-D Secure page (HTML, buttons `#approve`, `#fail`) |
//! | `POST /_fake/3ds/{intent}?account=` | form `result=approve\|fail` | 303 to the `return_url` (or an HTML page) |
//!
//! Faults are taken by the next matching requests, in the order injected, one per request
//! (see [`Fault`]). Chaos ([`Chaos`]) adds a random latency before each matching API
//! request and drops the answer of a `lost_response_rate` share of them after processing
//! (recorded as `reset_after_processing`); its draws are seeded, so that a run can be
//! repeated. The dashboard and dispute operations are those of [`FakeStripe`]'s methods.
//!
//! The state dump, what a campaign compares a ledger with:
//!
//! ```text
//! {"now": 1700000000,
//!  "accounts": [{"account": null | "acct_...", "multicapture": true,
//!    "payment_intents": [{"id", "created", "status", "currency", "amount",
//!      "amount_received", "amount_capturable", "amount_refunded", "capture_method",
//!      "customer", "latest_charge", "cancellation_reason", "metadata",
//!      "refunds": [{"id", "created", "amount", "status", "reason", "metadata"}],
//!      "disputes": [{"id", "created", "amount", "status", "reason", "charge"}]}]}]}
//! ```
//!
//! The platform comes first, then connected accounts by id; intents oldest first.

#![forbid(unsafe_code)]
// `json!` of the full Stripe objects nests deeper than the default limit.
#![recursion_limit = "256"]

mod api;
mod cards;
mod conn;
mod connect;
mod currency;
mod error;
mod form;
mod params;
mod render;
mod search;
mod server;
mod state;
mod webhook;

pub use server::{
    Chaos, DEFAULT_API_VERSION, DeliveryAttempt, DeliverySettings, FakeStripe, FakeStripeConfig,
    Fault, RecordedRequest, RequestFilter,
};
pub use webhook::signature_header;
