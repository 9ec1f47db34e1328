//! Decoding of Stripe-style form parameters (`application/x-www-form-urlencoded`
//! bodies and query strings) into a nested JSON value.
//!
//! Stripe takes nested parameters with bracket keys: `metadata[payment_id]=x`,
//! `card[token]=tok_visa`, arrays as `expand[]=a&expand[]=b` or, as serde_qs (used by
//! async-stripe) writes them, `expand[0]=a&expand[1]=b`. Brackets may arrive
//! percent-encoded (`metadata%5Bk%5D=v`), so keys are decoded before being split.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One node of the parameter tree while it is being built.
enum Node {
    Leaf(String),
    Branch(BTreeMap<String, Node>),
}

/// Parses a form-encoded string into a JSON object. Values are always strings
/// (Stripe's form encoding carries no types); maps whose keys are all indices
/// become arrays.
pub(crate) fn parse(input: &str) -> Value {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for pair in input.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(raw_key);
        let value = percent_decode(raw_value);
        let path = split_key(&key);
        insert(&mut root, &path, value);
    }
    into_value(Node::Branch(root), false)
}

/// Splits `a[b][c]` into `["a", "b", "c"]`; `a[]` gives `["a", ""]`.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_owned()];
    };
    let mut parts = vec![key[..open].to_owned()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(close) => {
                parts.push(stripped[..close].to_owned());
                rest = &stripped[close + 1..];
            }
            None => {
                // Unbalanced bracket: keep the remainder as a literal segment.
                parts.push(stripped.to_owned());
                rest = "";
            }
        }
    }
    parts
}

fn insert(map: &mut BTreeMap<String, Node>, path: &[String], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    // `[]` appends: give the element the next free index.
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, Node::Leaf(value));
        return;
    }
    let entry = map
        .entry(key)
        .or_insert_with(|| Node::Branch(BTreeMap::new()));
    if let Node::Leaf(_) = entry {
        // `a=1&a[b]=2`: the nested form wins, as it does on Stripe's side.
        *entry = Node::Branch(BTreeMap::new());
    }
    if let Node::Branch(child) = entry {
        insert(child, rest, value);
    }
}

fn into_value(node: Node, under_metadata: bool) -> Value {
    match node {
        Node::Leaf(s) => Value::String(s),
        Node::Branch(map) => {
            let all_indices = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
            if all_indices && !under_metadata {
                let mut items: Vec<(usize, Node)> = map
                    .into_iter()
                    .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(
                    items
                        .into_iter()
                        .map(|(_, v)| into_value(v, false))
                        .collect(),
                )
            } else {
                let mut out = Map::new();
                for (k, v) in map {
                    // Metadata keys are free-form: never turn `metadata[0]` into an array.
                    let is_metadata = k == "metadata";
                    out.insert(k, into_value(v, is_metadata));
                }
                Value::Object(out)
            }
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space and `%XX` a byte.
/// Invalid escapes are kept literally; invalid UTF-8 is replaced.
pub(crate) fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes text for a query string: everything but ASCII letters, digits and `-._~` as `%XX`.
pub(crate) fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_keys_arrays_and_escapes() {
        let parsed = parse(
            "amount=1000&metadata%5Bpayment_id%5D=p%2541+x&expand[0]=a&expand[1]=b&tags[]=x&tags[]=y&card[token]=tok_visa&metadata[0]=zero",
        );
        assert_eq!(
            parsed,
            json!({
                "amount": "1000",
                "metadata": {"payment_id": "p%41 x", "0": "zero"},
                "expand": ["a", "b"],
                "tags": ["x", "y"],
                "card": {"token": "tok_visa"},
            })
        );
    }

    #[test]
    fn empty_and_odd_input() {
        assert_eq!(parse(""), json!({}));
        assert_eq!(parse("a=&b"), json!({"a": "", "b": ""}));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_encode("acct_1 x/é"), "acct_1%20x%2F%C3%A9");
        assert_eq!(percent_decode(&percent_encode("a&b=c d")), "a&b=c d");
    }
}
