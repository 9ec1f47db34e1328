//! A subset of Stripe's search query language
//! (<https://docs.stripe.com/search#search-query-language>):
//! clauses `field:value`, `field~"substring"`, `field>n` (`>=`, `<`, `<=`),
//! `-field:value` (negation), `field:null`, and `metadata['key']:'value'`, joined
//! by `AND` or by `OR` (not both, as on Stripe).

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    Metadata(String),
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldValue {
    Text(String),
    Number(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Contains,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Literal {
    Text(String),
    Number(i64),
    Null,
}

#[derive(Debug, Clone)]
struct Clause {
    negated: bool,
    field: Field,
    op: Op,
    value: Literal,
}

#[derive(Debug, Clone)]
pub(crate) struct Query {
    clauses: Vec<Clause>,
    any: bool,
}

fn syntax_error(query: &str, detail: &str) -> ApiError {
    ApiError::invalid(format!(
        "We were unable to parse your search query. Try using the format `metadata[\"key\"]:\"value\"` to query for metadata or key:\"value\" to query for other fields. ({detail}; query: {query})"
    ))
    .param("query")
}

struct Lexer<'a> {
    query: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn quoted(&mut self) -> ApiResult<String> {
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(syntax_error(self.query, "expected a quoted string")),
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(syntax_error(self.query, "unterminated string")),
                Some('\\') => {
                    self.pos += 1;
                    if let Some(c) = self.peek() {
                        out.push(c);
                        self.pos += 1;
                    }
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn field(&mut self) -> ApiResult<Field> {
        let name = self.ident();
        if name.is_empty() {
            return Err(syntax_error(self.query, "expected a field"));
        }
        if name == "metadata" {
            if !self.eat('[') {
                return Err(syntax_error(self.query, "expected metadata['key']"));
            }
            let key = self.quoted()?;
            if !self.eat(']') {
                return Err(syntax_error(self.query, "expected ]"));
            }
            return Ok(Field::Metadata(key));
        }
        Ok(Field::Named(name))
    }

    fn op(&mut self) -> ApiResult<Op> {
        let op = match self.peek() {
            Some(':') => Op::Eq,
            Some('~') => Op::Contains,
            Some('>') => Op::Gt,
            Some('<') => Op::Lt,
            _ => return Err(syntax_error(self.query, "expected an operator")),
        };
        self.pos += 1;
        Ok(match op {
            Op::Gt if self.eat('=') => Op::Gte,
            Op::Lt if self.eat('=') => Op::Lte,
            other => other,
        })
    }

    fn literal(&mut self) -> ApiResult<Literal> {
        match self.peek() {
            Some('\'' | '"') => Ok(Literal::Text(self.quoted()?)),
            _ => {
                let word = self.ident();
                if word == "null" {
                    Ok(Literal::Null)
                } else if let Ok(n) = word.parse::<i64>() {
                    Ok(Literal::Number(n))
                } else {
                    Err(syntax_error(self.query, "string values must be quoted"))
                }
            }
        }
    }
}

impl Query {
    /// Parses `query`; fields other than metadata must be in `fields`.
    pub fn parse(query: &str, fields: &[&str]) -> ApiResult<Query> {
        let mut lx = Lexer {
            query,
            chars: query.chars().collect(),
            pos: 0,
        };
        let mut clauses = Vec::new();
        let mut joiner: Option<String> = None;
        loop {
            lx.skip_ws();
            let negated = lx.eat('-');
            let field = lx.field()?;
            if let Field::Named(name) = &field
                && !fields.contains(&name.as_str())
            {
                return Err(ApiError::invalid(format!(
                    "Field '{name}' is an unsupported search field for resource payment_intents. See https://stripe.com/docs/search#query-fields-for-payment-intents for a list of supported fields."
                ))
                .param("query"));
            }
            let op = lx.op()?;
            let value = lx.literal()?;
            clauses.push(Clause {
                negated,
                field,
                op,
                value,
            });
            lx.skip_ws();
            if lx.peek().is_none() {
                break;
            }
            let word = lx.ident();
            match (word.as_str(), joiner.as_deref()) {
                ("AND" | "OR", None) => joiner = Some(word),
                ("AND" | "OR", Some(j)) if j == word => {}
                ("AND" | "OR", Some(_)) => {
                    return Err(syntax_error(query, "AND and OR cannot be mixed"));
                }
                _ => return Err(syntax_error(query, "expected AND or OR")),
            }
        }
        if clauses.len() > 10 {
            return Err(syntax_error(query, "at most 10 clauses"));
        }
        Ok(Query {
            clauses,
            any: joiner.as_deref() == Some("OR"),
        })
    }

    /// Evaluates the query against an object whose fields `get` reads.
    pub fn matches(&self, get: &dyn Fn(&Field) -> Option<FieldValue>) -> bool {
        let eval = |c: &Clause| {
            let actual = get(&c.field);
            let hit = match (&c.op, &c.value, &actual) {
                (Op::Eq, Literal::Null, v) => v.is_none(),
                (_, _, None) => false,
                (Op::Eq, Literal::Text(want), Some(FieldValue::Text(have))) => {
                    have.eq_ignore_ascii_case(want)
                }
                (Op::Eq, Literal::Number(want), Some(FieldValue::Number(have))) => have == want,
                (Op::Eq, Literal::Text(want), Some(FieldValue::Number(have))) => {
                    want.parse::<i64>().is_ok_and(|w| w == *have)
                }
                (Op::Contains, Literal::Text(want), Some(FieldValue::Text(have))) => {
                    have.to_lowercase().contains(&want.to_lowercase())
                }
                (op, Literal::Number(want), Some(FieldValue::Number(have))) => match op {
                    Op::Gt => have > want,
                    Op::Gte => have >= want,
                    Op::Lt => have < want,
                    Op::Lte => have <= want,
                    _ => false,
                },
                _ => false,
            };
            hit != c.negated
        };
        if self.any {
            self.clauses.iter().any(eval)
        } else {
            self.clauses.iter().all(eval)
        }
    }
}

const PAGE_PREFIX: &str = "fakepage_";

/// Search pagination tokens are opaque on Stripe; here they carry an offset.
pub(crate) fn encode_page(offset: usize) -> String {
    format!("{PAGE_PREFIX}{offset}")
}

pub(crate) fn decode_page(page: &str) -> ApiResult<usize> {
    page.strip_prefix(PAGE_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ApiError::invalid("Invalid page token.").param("page"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["status", "amount"];

    fn get(field: &Field) -> Option<FieldValue> {
        match field {
            Field::Metadata(k) if k == "payment_id" => Some(FieldValue::Text("pay_1".into())),
            Field::Named(n) if n == "status" => Some(FieldValue::Text("succeeded".into())),
            Field::Named(n) if n == "amount" => Some(FieldValue::Number(1000)),
            _ => None,
        }
    }

    fn check(q: &str) -> bool {
        Query::parse(q, FIELDS).expect("parses").matches(&get)
    }

    #[test]
    fn clauses() {
        assert!(check("metadata['payment_id']:'pay_1'"));
        assert!(check("metadata[\"payment_id\"]:\"pay_1\""));
        assert!(!check("metadata['payment_id']:'pay_2'"));
        assert!(check("status:'succeeded' AND amount>=1000"));
        assert!(!check("status:'succeeded' AND amount>1000"));
        assert!(check("status:'canceled' OR amount<2000"));
        assert!(check("-status:'canceled'"));
        assert!(check("metadata['other']:null"));
        assert!(check("status~'succ'"));
    }

    #[test]
    fn errors() {
        assert!(Query::parse("status:'a' AND amount>1 OR status:'b'", FIELDS).is_err());
        assert!(Query::parse("status:succeeded", FIELDS).is_err());
        assert!(Query::parse("unknown:'x'", FIELDS).is_err());
        assert!(Query::parse("metadata['x'", FIELDS).is_err());
        assert_eq!(decode_page(&encode_page(20)).ok(), Some(20));
    }
}
