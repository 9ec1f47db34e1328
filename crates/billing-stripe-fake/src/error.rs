//! Stripe's error body: `{"error": {"type", "code", "message", "param", "doc_url", ...}}`.
//!
//! Keys whose value would be null are left out, as Stripe does in error bodies.

use serde_json::{Map, Value, json};

/// An API error answered with a Stripe-shaped body.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// Further keys of the error object: `decline_code`, `payment_intent`, `charge`, ...
    pub extra: Map<String, Value>,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            extra: Map::new(),
        }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message)
    }

    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// 404 `resource_missing`, worded as Stripe words it: `No such customer: 'cus_123'`.
    pub fn missing(resource: &str, id: &str, param: &str) -> Self {
        Self::new(
            404,
            "invalid_request_error",
            format!("No such {resource}: '{id}'"),
        )
        .code("resource_missing")
        .param(param)
    }

    /// 400 `parameter_missing`.
    pub fn param_missing(param: &str) -> Self {
        Self::invalid(format!("Missing required param: {param}."))
            .code("parameter_missing")
            .param(param)
    }

    /// 400 `parameter_unknown`.
    pub fn param_unknown(param: &str) -> Self {
        Self::invalid(format!("Received unknown parameter: {param}"))
            .code("parameter_unknown")
            .param(param)
    }

    /// The error object (the value of the top-level `error` key).
    pub fn error_object(&self, request_id: &str) -> Value {
        let mut obj = Map::new();
        if let Some(code) = &self.code {
            obj.insert("code".into(), json!(code));
            obj.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        obj.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            obj.insert("param".into(), json!(param));
        }
        if !request_id.is_empty() {
            obj.insert(
                "request_log_url".into(),
                json!(format!(
                    "https://dashboard.stripe.com/test/logs/{request_id}?t={}",
                    crate::state::unix_now()
                )),
            );
        }
        obj.insert("type".into(), json!(self.kind));
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        Value::Object(obj)
    }

    /// The whole response body.
    pub fn body(&self, request_id: &str) -> Value {
        json!({ "error": self.error_object(request_id) })
    }
}
