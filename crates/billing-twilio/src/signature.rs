//! Twilio's request signature (`X-Twilio-Signature`): base64 of the HMAC-SHA1, keyed with the
//! account's auth token, of the full URL Twilio called followed by each POST parameter, sorted
//! by name, as its name then its value with no separator.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The header Twilio signs its requests with.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The signature Twilio sends with a POST of `params` to `url`, under `auth_token`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    mac(auth_token, url, params)
        .map(|mac| STANDARD.encode(mac.finalize().into_bytes()))
        .unwrap_or_default()
}

/// True when `signature` is Twilio's for a POST of `params` to `url` under `auth_token`.
///
/// The comparison is in constant time (`Mac::verify_slice`), so that timing tells an attacker
/// nothing about the right signature. As Twilio's own libraries do, the URL is also tried with
/// its default port written out (`:443`) or left out, since proxies differ in which they pass.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    if given.is_empty() {
        return false;
    }
    std::iter::once(url.to_owned())
        .chain(other_port_form(url))
        .filter_map(|url| mac(auth_token, &url, params))
        .any(|mac| mac.verify_slice(&given).is_ok())
}

/// The MAC over what Twilio signs. HMAC takes keys of any length, so it is never `None`; the
/// option only spares an `unwrap`.
fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Option<HmacSha1> {
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // By name; a name given twice (rare in callbacks) by value too, as Twilio's libraries do.
    sorted.sort();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    Some(mac)
}

/// `url` with its scheme's default port added when absent, or removed when present.
fn other_port_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // The host may carry credentials (`user:pass@host`) before it; the port follows the host.
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (format!("{userinfo}@"), host),
        None => (String::new(), authority),
    };
    let host = match host_port.rsplit_once(':') {
        // Not an IPv6 literal's colon.
        Some((host, port)) if !port.contains(']') => {
            if port != default {
                return None;
            }
            host.to_owned()
        }
        _ => format!("{host_port}:{default}"),
    };
    Some(format!("{scheme}://{userinfo}{host}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The example of Twilio's security documentation (and its libraries' tests).
    fn documented() -> (&'static str, &'static str, Vec<(String, String)>) {
        (
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            params(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", "+12349013030"),
                ("Digits", "1234"),
                ("From", "+12349013030"),
                ("To", "+18005551212"),
            ]),
        )
    }

    #[test]
    fn signs_twilios_documented_example() {
        let (token, url, params) = documented();
        assert_eq!(sign(token, url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify(token, url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    }

    #[test]
    fn the_order_of_the_params_does_not_matter() {
        let (token, url, mut params) = documented();
        params.reverse();
        assert_eq!(sign(token, url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    #[test]
    fn anything_changed_fails() {
        let (token, url, params) = documented();
        let good = sign(token, url, &params);
        assert!(!verify("54321", url, &params, &good));
        assert!(!verify(
            token,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            &good
        ));
        let mut tampered = params.clone();
        tampered[2].1 = "9999".into();
        assert!(!verify(token, url, &tampered, &good));
        let mut extra = params.clone();
        extra.push(("Body".into(), "hi".into()));
        assert!(!verify(token, url, &extra, &good));
        for bad in ["", "not base64!", "AAAA", &good[1..]] {
            assert!(!verify(token, url, &params, bad), "{bad}");
        }
    }

    #[test]
    fn the_default_port_may_be_written_or_not() {
        let (token, url, params) = documented();
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(verify(
            token,
            with_port,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        let signed_with_port = sign(token, with_port, &params);
        assert!(verify(token, url, &params, &signed_with_port));
        // Another port is another URL.
        let other = "https://mycompany.com:8443/myapp.php?foo=1&bar=2";
        assert!(!verify(
            token,
            other,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
    }

    #[test]
    fn port_forms() {
        assert_eq!(
            other_port_form("http://127.0.0.1/cb").as_deref(),
            Some("http://127.0.0.1:80/cb")
        );
        assert_eq!(
            other_port_form("https://u:p@h.example:443?x=1").as_deref(),
            Some("https://u:p@h.example?x=1")
        );
        assert_eq!(
            other_port_form("https://[::1]/cb").as_deref(),
            Some("https://[::1]:443/cb")
        );
        assert_eq!(other_port_form("http://127.0.0.1:8080/cb"), None);
        assert_eq!(other_port_form("ftp://h/cb"), None);
    }
}
