//! The tip on a payment link's page: preset percentages, "no tip" and an amount of the
//! customer's own, as plain radio buttons and a text field inside the card form (no script:
//! the form posts them with the card). Each preset shows its tip and the total it makes, so
//! the customer sees what they will pay before paying. A booking page's checkout offers no
//! tip: it takes money before the service, and a tip is for the service done.

use billing_core::automation::Percent;
use billing_core::billing::LinkPage;
use billing_core::link::LinkPurpose;
use billing_core::money::{Amount, Money, MoneyError};
use billing_core::tip::{PRESET_PERCENTS, Tip, TipError};

/// No tip chosen (the default).
const NONE: &str = "none";
/// An amount of the customer's own.
const CUSTOM: &str = "custom";

/// What the customer chose, as posted: kept to show the form again as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TipChoice {
    /// `none`, a preset percentage (`15`), or `custom`.
    pub(crate) choice: String,
    /// The custom amount as typed.
    pub(crate) amount: String,
}

impl TipChoice {
    /// A choice as posted (`tip`, `tip_amount`).
    pub(crate) fn posted(choice: &str, amount: &str) -> TipChoice {
        TipChoice {
            choice: choice.trim().to_owned(),
            amount: amount.trim().to_owned(),
        }
    }

    /// The tip chosen, checked on `base` (what the link asks for) as the core will: `None`
    /// for no tip; what to tell the customer when it cannot be taken. An amount typed is taken
    /// with "Another amount", or with no choice made; beside a percentage it is refused,
    /// rather than one of them guessed.
    pub(crate) fn read(&self, base: &Money) -> Result<Option<Tip>, String> {
        let typed = !self.amount.is_empty();
        let tip = match self.choice.as_str() {
            "" | NONE | CUSTOM if typed => {
                Tip::Amount(Amount::parse(&self.amount).map_err(|e| amount_message(&e, base))?)
            }
            "" | NONE => return Ok(None),
            CUSTOM => return Err("Type the tip's amount, or choose No tip.".to_owned()),
            _ if typed => {
                return Err("Choose a percentage or type a tip amount, not both.".to_owned());
            }
            preset => Tip::Percent(
                preset
                    .parse::<u32>()
                    .ok()
                    .filter(|p| PRESET_PERCENTS.contains(p))
                    .and_then(|p| Percent::from_basis_points(p * 100))
                    .ok_or_else(|| "Please choose one of the tips offered.".to_owned())?,
            ),
        };
        match tip.on(base) {
            Ok(Some(_)) => Ok(Some(tip)),
            Ok(None) => Ok(None),
            Err(TipError::Negative) => Err("A tip cannot be negative.".to_owned()),
            Err(TipError::TooLarge { base, .. }) => Err(format!(
                "A tip is at most the amount paid ({base}). Please check the tip's amount."
            )),
            Err(TipError::Money(error)) => Err(amount_message(&error, base)),
        }
    }
}

fn amount_message(error: &MoneyError, base: &Money) -> String {
    let currency = base.currency();
    match error {
        MoneyError::TooManyDecimals { digits, .. } => format!(
            "A tip in {} has at most {digits} decimal places.",
            currency.code()
        ),
        _ => format!(
            "The tip's amount could not be read: type it in {} like 5.00.",
            currency.code()
        ),
    }
}

/// The tip chosen on `link`'s page, checked: `None` where no tip is offered (a tip posted
/// there anyway is not taken), or when none was chosen.
pub(crate) fn chosen_tip(link: &LinkPage, chosen: &TipChoice) -> Result<Option<Tip>, String> {
    match &link.link.purpose {
        LinkPurpose::Payment { amount, .. } if link.link.checkout.is_none() => chosen.read(amount),
        _ => Ok(None),
    }
}

/// A preset tip as the page offers it.
#[derive(Debug)]
pub(crate) struct PresetView {
    /// What the radio button posts (`15`).
    pub(crate) value: String,
    /// The tip it makes.
    pub(crate) tip: String,
    /// What the customer pays with it.
    pub(crate) total: String,
}

/// The tip's part of the card form.
#[derive(Debug)]
pub(crate) struct TipView {
    pub(crate) presets: Vec<PresetView>,
    /// The choice to show checked.
    pub(crate) choice: String,
    /// The custom amount to show again.
    pub(crate) amount: String,
    /// The link's currency, for the custom amount's label.
    pub(crate) currency: String,
}

/// The tip's part of a link's page: `None` where no tip is offered (a checkout, a card
/// request).
pub(crate) fn tip_view(link: &LinkPage, chosen: &TipChoice) -> Option<TipView> {
    if link.link.checkout.is_some() {
        return None;
    }
    let LinkPurpose::Payment { amount, .. } = &link.link.purpose else {
        return None;
    };
    let presets = PRESET_PERCENTS
        .iter()
        .filter_map(|&p| {
            let tip = Percent::from_basis_points(p * 100)?.of(amount).ok()?;
            let total = amount.checked_add(&tip).ok()?;
            Some(PresetView {
                value: p.to_string(),
                tip: tip.to_string(),
                total: total.to_string(),
            })
        })
        .collect();
    let choice = match chosen.choice.as_str() {
        "" => NONE.to_owned(),
        other => other.to_owned(),
    };
    Some(TipView {
        presets,
        choice,
        amount: chosen.amount.clone(),
        currency: amount.currency().code().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use billing_core::money::Currency;

    use super::*;

    fn usd(text: &str) -> Money {
        Money::parse(text, Currency::USD).unwrap()
    }

    fn read(choice: &str, amount: &str) -> Result<Option<Money>, String> {
        let base = usd("95.50");
        TipChoice::posted(choice, amount)
            .read(&base)
            .map(|tip| tip.and_then(|t| t.on(&base).unwrap()))
    }

    #[test]
    fn a_choice_reads_as_the_tip_it_makes() {
        assert_eq!(read("none", ""), Ok(None));
        assert_eq!(read("", ""), Ok(None));
        assert_eq!(read("15", ""), Ok(Some(usd("14.33"))));
        assert_eq!(read("20", ""), Ok(Some(usd("19.10"))));
        assert_eq!(read("custom", "7.25"), Ok(Some(usd("7.25"))));
        assert_eq!(read("none", " 7.25 "), Ok(Some(usd("7.25"))));
        assert_eq!(read("custom", "0"), Ok(None));
    }

    #[test]
    fn what_cannot_be_taken_is_said_in_words() {
        let refused = |choice, amount| read(choice, amount).unwrap_err();
        assert!(refused("custom", "1.005").contains("at most 2 decimal places"));
        assert!(refused("custom", "").contains("Type the tip's amount"));
        assert!(refused("15", "3.00").contains("not both"));
        assert!(refused("17", "").contains("tips offered"));
        assert!(refused("custom", "-2").contains("negative"));
        assert!(refused("custom", "abc").contains("could not be read"));
        assert!(refused("custom", "100.00").contains("at most the amount paid"));
    }
}
