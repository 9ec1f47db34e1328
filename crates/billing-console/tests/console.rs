//! The console over HTTP (the router, in process): signing in and out, invitations, the
//! bookings of one's own business only, and the attacks a sign-in page meets — a fixed
//! session, a forged form, guessed passwords.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use billing_core::billing::NewStaff;
use billing_core::staff::StaffRole;
use common::*;

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_pages_are_locked_down() {
    let h = Harness::new().await;
    for path in ["/console", "/console/bookings", "/console/bookings/a-1"] {
        let reply = h.get(path, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.header("location"), "/console/sign-in", "{path}");
    }
    let page = h.get("/console/sign-in", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("id=\"sign-in-form\""));
    let policy = page.header("content-security-policy");
    assert!(
        policy.contains("default-src 'none'") && !policy.contains("script-src"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(!page.text.contains("<script"), "no script at all");
    let css = h.get("/console/assets/console.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
    let unknown = h.get("/console/nothing-here", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.header("content-type").starts_with("text/html"));
    assert!(
        !unknown.text.contains("sign-out"),
        "no header for a visitor"
    );
}

#[tokio::test]
async fn an_invited_member_sees_their_business_bookings_only() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let list = h.get("/console/bookings", Some(&session)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(list.text.contains("id=\"booking-a-1\""));
    assert!(list.text.contains("id=\"booking-a-2\""));
    assert!(!list.text.contains("g-1"), "another business's booking");
    assert!(list.text.contains("Partially charged"));
    assert!(list.text.contains("Not charged"));
    assert!(list.text.contains("Acme &#38; Sons"), "{}", list.text);
    assert!(list.text.contains("Grace &#60;Hopper&#62;"), "escaped");
    let filtered = h
        .get("/console/bookings?status=partially_charged", Some(&session))
        .await;
    assert!(filtered.text.contains("booking-a-1") && !filtered.text.contains("booking-a-2"));

    let one = h.get("/console/bookings/a-1", Some(&session)).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert!(one.text.contains("Deep clean &#60;b&#62;"), "escaped");
    assert!(one.text.contains("id=\"paid\">50.00 USD"), "{}", one.text);
    assert!(
        one.text.contains("id=\"balance\">150.00 USD"),
        "{}",
        one.text
    );
    assert!(one.text.contains("Card charge"));
    // Another business's booking is as good as unknown.
    let theirs = h.get("/console/bookings/g-1", Some(&session)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let none = h.get("/console/bookings/zz", Some(&session)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.text, none.text, "the same page for both");
    assert!(
        theirs
            .text
            .contains("id=\"signed-in-business\">Acme &#38; Sons"),
        "the member's header on the not-found page: {}",
        theirs.text
    );
    let stray = h.get("/console/nothing-here", Some(&session)).await;
    assert_eq!(stray.status, StatusCode::NOT_FOUND);
    assert!(stray.text.contains("id=\"sign-out\""), "{}", stray.text);
    // Globex's member sees Globex's.
    let other = h.member(&h.globex, "boss@globex.example").await;
    let theirs = h.get("/console/bookings", Some(&other)).await;
    assert!(theirs.text.contains("booking-g-1") && !theirs.text.contains("booking-a-1"));
}

#[tokio::test]
async fn sessions_are_http_only_lax_secure_and_new_at_each_sign_in() {
    let h = Harness::new().await;
    let first = h.member(&h.acme, "grace@acme.example").await;
    // An attacker's planted cookie: signing in never keeps it.
    let signed = h
        .post(
            "/console/sign-in",
            &format!(
                "email=grace%40acme.example&password={}",
                PASSWORD.replace(' ', "+")
            ),
            Some(&first),
            SAME_SITE,
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    let cookie = signed.header("set-cookie").to_owned();
    for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/console"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let second = signed.session().expect("a new session");
    assert_ne!(second, first);
    assert_eq!(
        h.get("/console/bookings", Some(&first)).await.status,
        StatusCode::SEE_OTHER,
        "the session the form came with was ended"
    );
    assert_eq!(
        h.get("/console/bookings", Some(&second)).await.status,
        StatusCode::OK
    );
    // A made-up token is no session.
    assert_eq!(
        h.get("/console/bookings", Some(&"A".repeat(43)))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forged_forms_are_refused_and_sign_out_needs_the_token() {
    let h = Harness::new().await;
    let session = h.member(&h.acme, "grace@acme.example").await;
    let page = h.get("/console/bookings", Some(&session)).await;
    let csrf = page.csrf();
    // Another site's form, even with the right token: refused before the handler.
    let forged = h
        .post(
            "/console/sign-out",
            &format!("csrf={csrf}"),
            Some(&session),
            "https://evil.example",
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The right site, the wrong token.
    let wrong = h
        .post(
            "/console/sign-out",
            &format!("csrf={}", "0".repeat(64)),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.get("/console/bookings", Some(&session)).await.status,
        StatusCode::OK,
        "still signed in"
    );
    // A sign-in form posted from elsewhere (signing the victim in as the attacker).
    let login_csrf = h
        .post(
            "/console/sign-in",
            "email=grace%40acme.example&password=whatever",
            None,
            "https://evil.example",
        )
        .await;
    assert_eq!(login_csrf.status, StatusCode::FORBIDDEN);
    let out = h
        .post(
            "/console/sign-out",
            &format!("csrf={csrf}"),
            Some(&session),
            SAME_SITE,
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.header("set-cookie").contains("console_session=;"),
        "{}",
        out.header("set-cookie")
    );
    assert_eq!(
        h.get("/console/bookings", Some(&session)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn guessing_passwords_is_slowed_to_a_stop() {
    let h = Harness::new().await;
    h.member(&h.acme, "grace@acme.example").await;
    for _ in 0..5 {
        let wrong = h
            .post(
                "/console/sign-in",
                "email=grace%40acme.example&password=not+the+password",
                None,
                SAME_SITE,
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.text.contains("do not match"));
        assert_eq!(wrong.session(), None);
    }
    // The right password now waits too.
    let right = h
        .post(
            "/console/sign-in",
            &format!(
                "email=grace%40acme.example&password={}",
                PASSWORD.replace(' ', "+")
            ),
            None,
            SAME_SITE,
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.session(), None);
    // An unknown address is refused with the same words.
    let unknown = h
        .post(
            "/console/sign-in",
            "email=nobody%40acme.example&password=not+the+password",
            None,
            SAME_SITE,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.text.contains("do not match"));
}

#[tokio::test]
async fn an_invitation_works_once_and_wants_a_long_password() {
    let h = Harness::new().await;
    let invited = h
        .billing
        .add_staff(
            &h.acme,
            NewStaff {
                email: "new@acme.example".into(),
                name: "New".into(),
                role: StaffRole::Owner,
            },
        )
        .await
        .unwrap();
    let path = format!("/console/invitations/{}", invited.token.expose());
    assert_eq!(h.get(&path, None).await.status, StatusCode::OK);
    let short = h.post(&path, "password=short", None, SAME_SITE).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text.contains("12 to 200"), "{}", short.text);
    let set = h
        .post(&path, "password=a+long+enough+password", None, SAME_SITE)
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let again = h
        .post(&path, "password=a+long+enough+password", None, SAME_SITE)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.text.contains("no longer works"));
}
