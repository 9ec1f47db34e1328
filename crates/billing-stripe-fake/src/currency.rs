//! Stripe's amount rules per currency: which currencies it takes, how many decimals each has,
//! the minimum charge amounts of its documented table and the three-decimal rule.
//!
//! This is the fake's own copy of Stripe's published rules, kept apart from the adapter's on
//! purpose: the fake is the adapter's independent peer, so a rule the adapter gets wrong shows
//! up as a disagreement instead of being shared.

use crate::error::{ApiError, ApiResult};

/// Currencies without minor units: the amount is in whole units (`500` is ¥500).
pub(crate) const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Currencies with three decimals, whose amounts Stripe only takes with a final 0.
pub(crate) const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// Stripe's presentment currencies for card payments.
const SUPPORTED: &[&str] = &[
    "usd", "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd",
    "bdt", "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad",
    "cdf", "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp",
    "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl",
    "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf",
    "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd",
    "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok",
    "npr", "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd",
    "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl",
    "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "uyu", "uzs", "vnd",
    "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
];

/// Stripe's table of minimum charge amounts, in minor units.
const MINIMUMS: &[(&str, i64)] = &[
    ("usd", 50),
    ("aed", 200),
    ("aud", 50),
    ("bgn", 100),
    ("brl", 50),
    ("cad", 50),
    ("chf", 50),
    ("czk", 1500),
    ("dkk", 250),
    ("eur", 50),
    ("gbp", 30),
    ("hkd", 400),
    ("huf", 17500),
    ("inr", 50),
    ("jpy", 50),
    ("mxn", 1000),
    ("myr", 200),
    ("nok", 300),
    ("nzd", 50),
    ("pln", 200),
    ("ron", 200),
    ("sek", 300),
    ("sgd", 50),
    ("thb", 1000),
];

/// The largest amount Stripe takes (eight digits).
const MAXIMUM: i64 = 99_999_999;

/// The number of decimals of a currency's minor unit.
pub(crate) fn decimals(currency: &str) -> u32 {
    if ZERO_DECIMAL.contains(&currency) {
        0
    } else if THREE_DECIMAL.contains(&currency) {
        3
    } else {
        2
    }
}

/// The minimum charge amount of a currency in Stripe's table, in minor units.
pub(crate) fn minimum(currency: &str) -> Option<i64> {
    MINIMUMS
        .iter()
        .find(|(c, _)| *c == currency)
        .map(|(_, min)| *min)
}

/// Refuses a currency Stripe does not take (lowercase ISO code expected).
pub(crate) fn check_currency(currency: &str) -> ApiResult<()> {
    if SUPPORTED.contains(&currency) {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Invalid currency: {currency}. Stripe currently supports these currencies: {}",
        SUPPORTED.join(", ")
    ))
    .param("currency"))
}

/// The rules every amount of a payment follows (the amount of an intent, a capture, a
/// refund): positive, at most eight digits, a final 0 in three-decimal currencies, and whole
/// units in ISK (which Stripe takes with two decimals).
pub(crate) fn check_any_amount(amount: i64, currency: &str, param: &str) -> ApiResult<()> {
    if amount < 1 {
        return Err(
            ApiError::invalid("This value must be greater than or equal to 1.").param(param),
        );
    }
    if amount > MAXIMUM {
        return Err(
            ApiError::invalid(format!("Amount must be no more than {MAXIMUM}"))
                .code("amount_too_large")
                .param(param),
        );
    }
    if THREE_DECIMAL.contains(&currency) && amount % 10 != 0 {
        return Err(ApiError::invalid(format!(
            "Invalid amount: {amount}. Amounts in {} must be rounded to the nearest ten (the least significant digit must be 0), e.g. {} or {}.",
            currency.to_uppercase(),
            amount - amount % 10,
            amount - amount % 10 + 10,
        ))
        .param(param));
    }
    if currency == "isk" && amount % 100 != 0 {
        return Err(ApiError::invalid(format!(
            "Invalid amount: {amount}. ISK amounts are given with two decimals and must be evenly divisible by 100."
        ))
        .param(param));
    }
    Ok(())
}

/// The rules of a PaymentIntent's amount: those of every amount, and Stripe's minimum charge
/// amount (`amount_too_small`).
pub(crate) fn check_charge_amount(amount: i64, currency: &str) -> ApiResult<()> {
    check_any_amount(amount, currency, "amount")?;
    match minimum(currency) {
        Some(min) if amount < min => Err(ApiError::invalid(format!(
            "Amount must be at least {} {currency}",
            format_amount(min, currency)
        ))
        .code("amount_too_small")
        .param("amount")),
        _ => Ok(()),
    }
}

/// Formats an amount the way Stripe's error messages do: `$10.00`, `€5.50`, `¥500`,
/// `KWD 5.120`.
pub(crate) fn format_amount(amount: i64, currency: &str) -> String {
    let symbol = match currency {
        "usd" | "cad" | "aud" | "nzd" | "sgd" | "hkd" | "mxn" => "$".to_owned(),
        "eur" => "€".to_owned(),
        "gbp" => "£".to_owned(),
        "jpy" => "¥".to_owned(),
        other => format!("{} ", other.to_uppercase()),
    };
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    match decimals(currency) {
        0 => format!("{sign}{symbol}{abs}"),
        3 => format!("{sign}{symbol}{}.{:03}", abs / 1000, abs % 1000),
        _ => format!("{sign}{symbol}{}.{:02}", abs / 100, abs % 100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_formatted_like_stripe() {
        assert_eq!(format_amount(1050, "usd"), "$10.50");
        assert_eq!(format_amount(5, "eur"), "€0.05");
        assert_eq!(format_amount(500, "jpy"), "¥500");
        assert_eq!(format_amount(100, "chf"), "CHF 1.00");
        assert_eq!(format_amount(5120, "kwd"), "KWD 5.120");
    }

    #[test]
    fn minimums_follow_stripes_table() {
        let too_small = check_charge_amount(49, "usd").expect_err("below $0.50");
        assert_eq!(too_small.code.as_deref(), Some("amount_too_small"));
        assert_eq!(too_small.message, "Amount must be at least $0.50 usd");
        assert!(check_charge_amount(50, "usd").is_ok());
        assert!(check_charge_amount(29, "gbp").is_err());
        assert!(check_charge_amount(30, "gbp").is_ok());
        assert!(check_charge_amount(49, "jpy").is_err());
        assert!(check_charge_amount(50, "jpy").is_ok());
        // Outside the table only the general rules apply.
        assert!(check_charge_amount(1, "idr").is_ok());
    }

    #[test]
    fn three_decimal_and_isk_rules() {
        assert!(check_charge_amount(10_125, "kwd").is_err());
        assert!(check_charge_amount(10_120, "kwd").is_ok());
        assert!(check_any_amount(5, "bhd", "amount").is_err());
        assert!(check_any_amount(150, "isk", "amount").is_err());
        assert!(check_any_amount(500, "isk", "amount").is_ok());
        assert!(check_any_amount(0, "eur", "amount").is_err());
        assert!(check_any_amount(100_000_000, "eur", "amount").is_err());
    }

    #[test]
    fn currencies() {
        assert!(check_currency("eur").is_ok());
        let err = check_currency("xyz").expect_err("not a Stripe currency");
        assert_eq!(err.param.as_deref(), Some("currency"));
        assert_eq!(decimals("jpy"), 0);
        assert_eq!(decimals("kwd"), 3);
        assert_eq!(decimals("eur"), 2);
    }
}
