//! The events a test reads back, and Stripe-shaped events and signatures it builds for its
//! webhook handler.

use serde_json::{Value, json};

use super::{DEFAULT_API_VERSION, FakeStripe, lock};
use crate::state::new_id;
use crate::webhook;

/// Events: what the fake emitted, and events built on demand.
impl FakeStripe {
    /// The events the fake emitted (all accounts), oldest first. Connect events
    /// carry `account`.
    pub fn events(&self) -> Vec<Value> {
        lock(&self.shared.state)
            .events
            .iter()
            .map(|e| e.event.clone())
            .collect()
    }

    /// The emitted events of `event_type` (e.g. `payment_intent.succeeded`), oldest first.
    pub fn events_of_type(&self, event_type: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["type"] == json!(event_type))
            .collect()
    }

    /// Builds an `event` object in full Stripe shape around `object`.
    pub fn event(&self, event_type: &str, object: Value) -> Value {
        self.build_event(None, event_type, object)
    }

    fn build_event(&self, account: Option<&str>, event_type: &str, object: Value) -> Value {
        webhook::EventSpec {
            id: new_id("evt"),
            event_type: event_type.to_owned(),
            object,
            previous_attributes: None,
            created: self.now(),
            api_version: DEFAULT_API_VERSION.into(),
            account: account.map(str::to_owned),
            request_id: None,
            idempotency_key: None,
        }
        .to_json()
    }

    /// A webhook delivery: `(payload, Stripe-Signature header value)` for an event of
    /// `event_type` around `object`, signed now with [`FakeStripe::webhook_secret`].
    pub fn signed_event(&self, event_type: &str, object: Value) -> (String, String) {
        let payload = self.event(event_type, object).to_string();
        let header = self.sign(&payload);
        (payload, header)
    }

    /// Like [`FakeStripe::signed_event`], for an event of a connected account
    /// (the event carries `account`).
    pub fn signed_connect_event(
        &self,
        account: &str,
        event_type: &str,
        object: Value,
    ) -> (String, String) {
        let payload = self
            .build_event(Some(account), event_type, object)
            .to_string();
        let header = self.sign(&payload);
        (payload, header)
    }

    /// The `Stripe-Signature` header for `payload`, signed now with the fake's secret.
    pub fn sign(&self, payload: &str) -> String {
        webhook::signature_header(
            payload,
            &self.shared.webhook_secret,
            crate::state::unix_now(),
        )
    }

    /// The `Stripe-Signature` header for `payload` at a chosen timestamp (e.g. an
    /// old one, to test the tolerance) with the fake's secret.
    pub fn sign_at(&self, payload: &str, timestamp: i64) -> String {
        webhook::signature_header(payload, &self.shared.webhook_secret, timestamp)
    }
}
