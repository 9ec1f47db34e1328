//! Sample email data shared by the tests.
#![allow(dead_code)]

use billing_core::money::{Currency, Money};
use billing_mail::templates::{
    AutomationConcern, AutomationNoticeData, BookingLine, CardLabel, PaymentData, PaymentLinkData,
    UpcomingChargeData,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a valid time")
}

pub fn bookings() -> Vec<BookingLine> {
    vec![
        BookingLine {
            date: NaiveDate::from_ymd_opt(2026, 1, 15),
            service: "Deep clean".into(),
            price: usd(21550),
            paid: usd(3000),
            due: usd(18550),
        },
        BookingLine {
            date: NaiveDate::from_ymd_opt(2026, 1, 22),
            service: "Windows & <b>balcony</b>".into(),
            price: usd(3000),
            paid: usd(0),
            due: usd(3000),
        },
    ]
}

pub fn payment_link(customer: &str) -> PaymentLinkData {
    PaymentLinkData {
        business_name: "Acme Cleaning".into(),
        customer_name: customer.into(),
        amount: usd(21550),
        bookings: bookings(),
        url: "https://pay.example.com/l/abc123?lang=en&src=email".into(),
        expires_at: at(2026, 1, 22, 17, 30),
    }
}

pub fn receipt(customer: &str) -> PaymentData {
    PaymentData {
        business_name: "Acme Cleaning".into(),
        customer_name: customer.into(),
        amount: usd(21550),
        card: Some(CardLabel {
            brand: "visa".into(),
            last4: "4242".into(),
        }),
        bookings: bookings(),
        tip: None,
        paid_at: at(2026, 1, 15, 9, 5),
    }
}

pub fn upcoming_charge(customer: &str, hold: bool) -> UpcomingChargeData {
    UpcomingChargeData {
        business_name: "Acme Cleaning".into(),
        customer_name: customer.into(),
        amount: usd(21550),
        hold,
        card: Some(CardLabel {
            brand: "visa".into(),
            last4: "4242".into(),
        }),
        at: at(2026, 1, 14, 9, 0),
        bookings: bookings(),
    }
}

pub fn automation_notice(customer: &str, concern: AutomationConcern) -> AutomationNoticeData {
    AutomationNoticeData {
        business_name: "Acme Cleaning".into(),
        customer_name: customer.into(),
        booking: "bk_123".into(),
        bookings: bookings(),
        concern,
    }
}

/// One of each concern, in declaration order.
pub fn concerns() -> Vec<AutomationConcern> {
    vec![
        AutomationConcern::RetriesSpent {
            reason: "The card was declined (insufficient funds).".into(),
        },
        AutomationConcern::HoldRunningOut {
            expires_at: at(2026, 1, 20, 12, 0),
        },
        AutomationConcern::CardExpiring {
            card: CardLabel {
                brand: "amex".into(),
                last4: "0005".into(),
            },
            due_at: at(2026, 2, 1, 8, 0),
        },
    ]
}
