//! Phone numbers, checked and kept in E.164 (`+14155550123`): the one form every text provider
//! takes and the one form two spellings of the same number share.
//!
//! Checking is `phonenumber`'s, Google's libphonenumber metadata compiled into the crate (pure:
//! no file, no network): a number must be *valid*, in a range its country assigns, not only
//! the right length. National input (`(415) 555-0123`, `020 7946 0018`) is read in a default
//! region; international input (`+44 20 7946 0018`, `0044 …` is not accepted without a region)
//! needs none.

use std::fmt;
use std::str::FromStr;

/// A region whose national numbering reads numbers written without a country code: an ISO
/// 3166-1 alpha-2 code (`US`, `GB`, `FR`), as the business's country.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PhoneRegion(phonenumber::country::Id);

impl PhoneRegion {
    /// The region of an ISO 3166-1 alpha-2 code, in either case.
    ///
    /// # Errors
    /// [`PhoneError::UnknownRegion`] when the numbering plan does not know the code.
    pub fn from_code(code: &str) -> Result<PhoneRegion, PhoneError> {
        let upper = code.trim().to_ascii_uppercase();
        // The library also names non-geographic entities ("001"); only two letters are regions.
        if upper.len() != 2 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(PhoneError::UnknownRegion(code.to_owned()));
        }
        phonenumber::country::Id::from_str(&upper)
            .map(PhoneRegion)
            .map_err(|_| PhoneError::UnknownRegion(code.to_owned()))
    }

    /// The region's two-letter code (`US`).
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl FromStr for PhoneRegion {
    type Err = PhoneError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        PhoneRegion::from_code(code)
    }
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not a phone number at all: no digits, letters, too short or too long to be one.
    #[error("{0:?} is not a phone number")]
    Unreadable(String),
    /// Written without a country code, and no default region was given to read it in.
    #[error("{0:?} has no country code (write it as +<country code> <number>)")]
    NoCountry(String),
    /// Read, but not a number its country assigns (a wrong length or an unused range).
    #[error("{0:?} is not a valid phone number")]
    Invalid(String),
    /// Carries an extension, which a text cannot reach.
    #[error("{0:?} has an extension; a text needs a number without one")]
    Extension(String),
    /// The region code is not one the numbering plan knows.
    #[error("{0:?} is not a known region code (ISO 3166-1 alpha-2, like US or GB)")]
    UnknownRegion(String),
}

/// A valid phone number, kept and printed in E.164 (`+14155550123`): `+`, the country code and
/// the national number, digits only, at most 15 of them.
///
/// Two spellings of one number parse to equal values, so that a number is stored, compared and
/// looked up (an opt-out, a customer's reply) in one form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as a person writes it: international (`+1 415-555-0123`), or national in
    /// `default_region` (`(415) 555-0123` in `US`). Spaces, dashes, dots and brackets are
    /// ignored; a national trunk prefix (the UK's leading `0`) is dropped.
    ///
    /// # Errors
    /// [`PhoneError`] when the input is not a valid number without an extension, or is national
    /// with no region to read it in.
    pub fn parse(input: &str, default_region: Option<PhoneRegion>) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        // Without a region the library would guess nothing useful from a national number; say
        // what is missing rather than "invalid".
        if default_region.is_none() && !trimmed.starts_with('+') {
            return Err(if trimmed.chars().any(|c| c.is_ascii_digit()) {
                PhoneError::NoCountry(input.to_owned())
            } else {
                PhoneError::Unreadable(input.to_owned())
            });
        }
        // The library reads letters as keypad digits ("1-800-FLOWERS"); a number typed into a
        // form or a reply never means that, so anything but digits and punctuation is refused.
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
        {
            return Err(PhoneError::Unreadable(input.to_owned()));
        }
        let number = phonenumber::parse(default_region.map(|r| r.0), trimmed)
            .map_err(|_| PhoneError::Unreadable(input.to_owned()))?;
        if number.extension().is_some() {
            return Err(PhoneError::Extension(input.to_owned()));
        }
        if !number.is_valid() {
            return Err(PhoneError::Invalid(input.to_owned()));
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(PhoneNumber(e164))
    }

    /// Reads a number that must already be in E.164 (`+14155550123`), as a provider sends it
    /// or a store gives it back.
    ///
    /// # Errors
    /// [`PhoneError`] when it is not exactly the E.164 form of a valid number.
    pub fn from_e164(input: &str) -> Result<Self, PhoneError> {
        let digits = input.strip_prefix('+').unwrap_or("");
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Unreadable(input.to_owned()));
        }
        let number = PhoneNumber::parse(input, None)?;
        if number.0 != input {
            // A valid number written another way (a national trunk `0` after the country code).
            return Err(PhoneError::Invalid(input.to_owned()));
        }
        Ok(number)
    }

    /// The E.164 form (`+14155550123`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as people write it internationally (`+1 415-555-0123`), for pages and logs
    /// meant to be read.
    pub fn international(&self) -> String {
        match phonenumber::parse(None, &self.0) {
            Ok(number) => number
                .format()
                .mode(phonenumber::Mode::International)
                .to_string(),
            // Cannot happen for a value that parsed; E.164 is readable anyway.
            Err(_) => self.0.clone(),
        }
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    /// International input only: a string carries no region.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        PhoneNumber::parse(input, None)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn region(code: &str) -> Option<PhoneRegion> {
        Some(PhoneRegion::from_code(code).unwrap())
    }

    #[test]
    fn international_input_is_kept_in_e164() {
        for input in [
            "+1 415-555-2671",
            "+1 (415) 555 2671",
            "+14155552671",
            " +1.415.555.2671 ",
        ] {
            assert_eq!(
                PhoneNumber::parse(input, None).unwrap().as_str(),
                "+14155552671",
                "{input}"
            );
        }
        assert_eq!(
            "+44 20 7946 0018".parse::<PhoneNumber>().unwrap().as_str(),
            "+442079460018"
        );
    }

    #[test]
    fn national_input_is_read_in_the_default_region() {
        let us = PhoneNumber::parse("(415) 555-2671", region("US")).unwrap();
        assert_eq!(us.to_string(), "+14155552671");
        // The UK's trunk prefix 0 is dropped.
        let uk = PhoneNumber::parse("07400 123456", region("gb")).unwrap();
        assert_eq!(uk.as_str(), "+447400123456");
        // An international number ignores the default region.
        let fr = PhoneNumber::parse("+33 6 12 34 56 78", region("US")).unwrap();
        assert_eq!(fr.as_str(), "+33612345678");
    }

    #[test]
    fn national_input_without_a_region_names_what_is_missing() {
        assert_eq!(
            PhoneNumber::parse("415 555 2671", None),
            Err(PhoneError::NoCountry("415 555 2671".into()))
        );
    }

    #[test]
    fn what_is_not_a_valid_number_is_refused() {
        for input in [
            "",
            "hello",
            "+",
            "+1",
            "12",
            "+1 800 FLOWERS",
            "+999 123456",
        ] {
            assert!(PhoneNumber::parse(input, region("US")).is_err(), "{input}");
        }
        // The right shape, but a range the US does not assign (area codes never start with 1).
        assert!(matches!(
            PhoneNumber::parse("+1 123 555 2671", None),
            Err(PhoneError::Invalid(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("+1 415 555 2671 ext. 12", None),
            Err(PhoneError::Extension(_) | PhoneError::Unreadable(_))
        ));
    }

    #[test]
    fn e164_input_must_be_exactly_e164() {
        assert_eq!(
            PhoneNumber::from_e164("+14155552671").unwrap().as_str(),
            "+14155552671"
        );
        for input in [
            "14155552671",
            "+1 415 555 2671",
            "+4407400123456",
            "+1415555267a",
        ] {
            assert!(PhoneNumber::from_e164(input).is_err(), "{input}");
        }
    }

    #[test]
    fn international_format_is_for_reading() {
        let number = PhoneNumber::from_e164("+14155552671").unwrap();
        assert_eq!(number.international(), "+1 415-555-2671");
    }

    #[test]
    fn regions_are_two_letter_codes() {
        assert_eq!(PhoneRegion::from_code("us").unwrap().code(), "US");
        for code in ["", "USA", "001", "ZZ", "1A"] {
            assert!(PhoneRegion::from_code(code).is_err(), "{code}");
        }
    }

    proptest! {
        /// Any valid number, written nationally in its region or internationally with any
        /// spacing, parses to the same E.164 value, which reads back as itself.
        #[test]
        fn e164_round_trips(
            (code, national) in prop_oneof![
                // (region, a national significant number in a range it assigns)
                (2_u64..=9, 0_u64..=99, 2_u64..=9, 0_u64..=999_999).prop_map(|(a, b, c, d)| {
                    (String::from("US"), format!("{a}{b:02}{c}{d:06}"))
                }),
                (0_u64..=999_999).prop_map(|n| (String::from("GB"), format!("7400{n:06}"))),
                (0_u64..=999_999).prop_map(|n| (String::from("FR"), format!("612{n:06}"))),
            ],
            separator in prop_oneof![Just(""), Just(" "), Just("-"), Just(".")],
        ) {
            let region = PhoneRegion::from_code(&code).unwrap();
            let calling_code = match code.as_str() { "US" => "1", "GB" => "44", _ => "33" };
            let e164 = format!("+{calling_code}{national}");
            let Ok(parsed) = PhoneNumber::from_e164(&e164) else {
                // Not every US number of the shape is assigned (area codes like 911 or N11);
                // the GB and FR ranges are. What is refused is refused however it is written.
                prop_assert_eq!(code.as_str(), "US", "{} refused", e164);
                prop_assert!(PhoneNumber::parse(&national, Some(region)).is_err());
                return Ok(());
            };
            prop_assert_eq!(parsed.as_str(), e164.as_str());
            prop_assert_eq!(&PhoneNumber::from_e164(parsed.as_str()).unwrap(), &parsed);
            prop_assert_eq!(&parsed.to_string().parse::<PhoneNumber>().unwrap(), &parsed);
            let (head, tail) = national.split_at(3);
            let spaced = format!("+{calling_code}{separator}{head}{separator}{tail}");
            prop_assert_eq!(&PhoneNumber::parse(&spaced, None).unwrap(), &parsed);
            let trunk = if code == "US" { "" } else { "0" };
            let written = format!("{trunk}{head}{separator}{tail}");
            prop_assert_eq!(&PhoneNumber::parse(&written, Some(region)).unwrap(), &parsed);
            prop_assert_eq!(PhoneNumber::parse(&parsed.international(), None).unwrap(), parsed);
        }
    }
}
