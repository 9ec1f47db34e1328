//! Support for the black-box tests of `billingd`.
#![forbid(unsafe_code)]
