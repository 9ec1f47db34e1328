//! Typed reads of decoded form parameters, failing with Stripe's own errors.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// The refusal of a parameter that is valid on Stripe but that the fake does not model.
pub(crate) fn unmodeled(name: &str) -> ApiError {
    ApiError::invalid(format!(
        "FakeStripe does not model the `{name}` parameter (valid on Stripe): extend billing-stripe-fake before relying on it."
    ))
    .param(name)
}

/// The decoded parameters of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    map: Map<String, Value>,
}

impl Params {
    pub fn new(value: Value) -> Self {
        match value {
            Value::Object(map) => Self { map },
            _ => Self::default(),
        }
    }

    pub fn as_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// Rejects top-level parameters that the endpoint does not take, as Stripe does.
    pub fn allow_only(&self, allowed: &[&str]) -> ApiResult<()> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::param_unknown(unknown)),
            None => Ok(()),
        }
    }

    /// Refuses parameters that are valid on Stripe but that the fake does not model
    /// and that would change the outcome, so that no test passes by accident.
    /// A boolean parameter only counts when `true`.
    pub fn reject_unmodeled(&self, names: &[&str]) -> ApiResult<()> {
        let used = |name: &&&str| match self.map.get(**name) {
            None => false,
            Some(Value::String(s)) => !s.is_empty() && s != "false",
            Some(_) => true,
        };
        match names.iter().find(used) {
            Some(name) => Err(unmodeled(name)),
            None => Ok(()),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// A string parameter; `Some("")` means "unset" for the fields Stripe lets you clear.
    pub fn str(&self, key: &str) -> ApiResult<Option<String>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid(format!("Invalid string: {key}")).param(key)),
        }
    }

    /// A string parameter where the empty string means "no value".
    pub fn non_empty_str(&self, key: &str) -> ApiResult<Option<String>> {
        Ok(self.str(key)?.filter(|s| !s.is_empty()))
    }

    pub fn required_str(&self, key: &str) -> ApiResult<String> {
        self.non_empty_str(key)?
            .ok_or_else(|| ApiError::param_missing(key))
    }

    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid(format!("Invalid integer: {s}"))
                    .code("parameter_invalid_integer")
                    .param(key)
            }),
        }
    }

    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.str(key)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid(format!("Invalid boolean: {other}")).param(key)),
        }
    }

    /// One of a fixed set of string values.
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        match self.non_empty_str(key)? {
            None => Ok(None),
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
            Some(_) => Err(ApiError::invalid(format!(
                "Invalid {key}: must be one of {}",
                allowed.join(", ")
            ))
            .param(key)),
        }
    }

    /// A nested object parameter (`card[token]=...`).
    pub fn object(&self, key: &str) -> ApiResult<Option<Params>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Params { map: map.clone() })),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(_) => Err(ApiError::invalid(format!(
                "Invalid object: {key} must be given as {key}[...]"
            ))
            .param(key)),
        }
    }

    /// A list of strings (`expand[]=a`, `expand[0]=a`).
    pub fn str_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(ApiError::invalid(format!("Invalid array: {key}")).param(key)),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(Value::String(s)) if s.is_empty() => Ok(Some(Vec::new())),
            Some(_) => Err(ApiError::invalid(format!("Invalid array: {key}")).param(key)),
        }
    }

    /// The `expand` list.
    pub fn expand(&self) -> ApiResult<Vec<String>> {
        Ok(self.str_list("expand")?.unwrap_or_default())
    }

    /// Applies a `metadata` parameter to existing metadata with Stripe's semantics:
    /// keys are merged, a key set to "" is removed, `metadata=""` clears everything.
    pub fn apply_metadata(&self, target: &mut BTreeMap<String, String>) -> ApiResult<()> {
        match self.map.get("metadata") {
            None => Ok(()),
            Some(Value::String(s)) if s.is_empty() => {
                target.clear();
                Ok(())
            }
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) if s.is_empty() => {
                            target.remove(k);
                        }
                        Value::String(s) => {
                            if k.chars().count() > 40 {
                                return Err(ApiError::invalid(format!(
                                    "Metadata keys must be at most 40 characters: {k}"
                                ))
                                .param(format!("metadata[{k}]")));
                            }
                            if s.chars().count() > 500 {
                                return Err(ApiError::invalid(
                                    "Metadata values can have up to 500 characters.",
                                )
                                .param(format!("metadata[{k}]")));
                            }
                            target.insert(k.clone(), s.clone());
                        }
                        _ => {
                            return Err(ApiError::invalid("Invalid metadata value")
                                .param(format!("metadata[{k}]")));
                        }
                    }
                }
                if target.len() > 50 {
                    return Err(
                        ApiError::invalid("You can have up to 50 metadata keys.").param("metadata")
                    );
                }
                Ok(())
            }
            Some(_) => Err(ApiError::invalid("Invalid hash").param("metadata")),
        }
    }
}
