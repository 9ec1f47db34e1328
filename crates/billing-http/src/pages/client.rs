//! Who a hosted page's request comes from, for its rate limit: the connection's peer, or —
//! when the peer is a proxy the operator trusts — the client address the proxy forwarded in
//! `X-Forwarded-For`. Behind a load balancer every connection comes from the balancer, so
//! without this every customer would share one bucket; believing the header from anyone else
//! would let a client pick a fresh bucket for each request.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// A proxy (or a range of them) whose `X-Forwarded-For` is believed: an address
/// (`10.0.0.7`, `2001:db8::1`) or a CIDR range (`10.0.0.0/8`, `2001:db8::/32`).
///
/// ```
/// use billing_http::TrustedProxy;
///
/// let range: TrustedProxy = "10.0.0.0/8".parse()?;
/// assert!(range.contains("10.1.2.3".parse()?));
/// assert!(!range.contains("192.0.2.1".parse()?));
/// assert_eq!(range.to_string(), "10.0.0.0/8");
/// assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// True when `address` is this proxy, or in its range (an IPv4 address written as IPv6,
    /// `::ffff:10.0.0.7`, counts as the IPv4 one).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// Why a trusted proxy setting was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTrustedProxy(String);

impl fmt::Display for InvalidTrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is no address or CIDR range (10.0.0.7, 10.0.0.0/8, 2001:db8::/32)",
            self.0
        )
    }
}

impl std::error::Error for InvalidTrustedProxy {}

impl FromStr for TrustedProxy {
    type Err = InvalidTrustedProxy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidTrustedProxy(text.to_owned());
        let trimmed = text.trim();
        let (address, prefix) = match trimmed.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (trimmed, None),
        };
        let network: IpAddr = address.parse().map_err(|_| invalid())?;
        let network = network.to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
                prefix.parse::<u8>().map_err(|_| invalid())?
            }
            Some(_) => return Err(invalid()),
        };
        if prefix > bits {
            return Err(invalid());
        }
        Ok(TrustedProxy { network, prefix })
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == bits {
            write!(f, "{}", self.network)
        } else {
            write!(f, "{}/{}", self.network, self.prefix)
        }
    }
}

/// The address a request comes from: the peer's, unless the peer is a trusted proxy; then the
/// right-most address of `X-Forwarded-For` that is not itself a trusted proxy (each proxy
/// appends the address it saw, so what lies left of that was written by the client and proves
/// nothing). `None` when the peer is unknown (the header is then ignored: nobody vouches for
/// it).
pub(crate) fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[TrustedProxy],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |address: IpAddr| trusted.iter().any(|proxy| proxy.contains(address));
    if !is_trusted(peer) {
        return Some(peer);
    }
    // Several header lines read as one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop a trusted proxy wrote is an address; anything else was written by the client
        // (or a proxy not worth believing): stop at the last address vouched for.
        let Some(address) = hop_address(hop) else {
            break;
        };
        client = address;
        if !is_trusted(address) {
            break;
        }
    }
    Some(client)
}

/// An `X-Forwarded-For` entry's address: `192.0.2.1`, `2001:db8::1`, or either with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;
    use std::time::{Duration, Instant};

    use axum::http::HeaderValue;

    use crate::pages::limit::{ClientKey, ClientLimiter};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn addresses_and_ranges_parse_and_match() {
        let one: TrustedProxy = "10.0.0.7".parse().unwrap();
        assert!(one.contains(ip("10.0.0.7")));
        assert!(!one.contains(ip("10.0.0.8")));
        assert!(one.contains(ip("::ffff:10.0.0.7")), "IPv4 written as IPv6");
        let range: TrustedProxy = "2001:db8::/32".parse().unwrap();
        assert!(range.contains(ip("2001:db8:ffff::1")));
        assert!(!range.contains(ip("2001:db9::1")));
        assert!(!range.contains(ip("10.0.0.7")));
        let everyone: TrustedProxy = "0.0.0.0/0".parse().unwrap();
        assert!(everyone.contains(ip("192.0.2.1")));
        assert_eq!(
            " 10.0.0.0/8 ".parse::<TrustedProxy>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!("::1".parse::<TrustedProxy>().unwrap().to_string(), "::1");
        for bad in [
            "",
            "10.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/+8",
            "x/8",
        ] {
            assert!(bad.parse::<TrustedProxy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let headers = forwarded(&["198.51.100.7"]);
        // No proxy trusted (the default): the peer.
        assert_eq!(
            client_address(Some(ip("203.0.113.9")), &headers, &[]),
            Some(ip("203.0.113.9"))
        );
        // A proxy trusted, but this peer is not it.
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(Some(ip("203.0.113.9")), &headers, &trusted),
            Some(ip("203.0.113.9"))
        );
        // No peer known: nobody vouches for the header.
        assert_eq!(client_address(None, &headers, &trusted), None);
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "2001:db8::/32"]);
        let peer = Some(ip("10.0.0.2"));
        let client = |values: &[&str]| client_address(peer, &forwarded(values), &trusted);
        assert_eq!(client(&["198.51.100.7"]), Some(ip("198.51.100.7")));
        // What the client wrote itself is left of what the proxies appended.
        assert_eq!(
            client(&["1.2.3.4, 198.51.100.7, 10.0.0.9"]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client(&["1.2.3.4", "198.51.100.7:4711", "10.0.0.9"]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(client(&["[2001:db9::5]:443"]), Some(ip("2001:db9::5")));
        // Garbage stops the walk at the last address vouched for.
        assert_eq!(client(&["unknown, 10.0.0.9"]), Some(ip("10.0.0.9")));
        assert_eq!(client(&["not an address"]), Some(ip("10.0.0.2")));
        // No header: the proxy itself.
        assert_eq!(client(&[]), Some(ip("10.0.0.2")));
        // Only proxies: the left-most.
        assert_eq!(client(&["10.0.0.3, 10.0.0.9"]), Some(ip("10.0.0.3")));
    }

    #[test]
    fn behind_a_trusted_proxy_two_customers_get_two_buckets() {
        let limiter = ClientLimiter::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60), 100);
        let trusted = proxies(&["10.0.0.2"]);
        let now = Instant::now();
        let take = |customer: &str| {
            let client = client_address(Some(ip("10.0.0.2")), &forwarded(&[customer]), &trusted);
            limiter.check(ClientKey::of(client), now)
        };
        assert!(take("198.51.100.1").is_ok());
        assert!(take("198.51.100.1").is_ok());
        assert!(
            take("198.51.100.1").is_err(),
            "the first customer's burst is spent"
        );
        assert!(
            take("198.51.100.2").is_ok(),
            "the second has their own bucket"
        );
        // Without the setting, both share the proxy's bucket.
        let shared = ClientLimiter::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(60), 100);
        let untrusted = |customer: &str| {
            let client = client_address(Some(ip("10.0.0.2")), &forwarded(&[customer]), &[]);
            shared.check(ClientKey::of(client), now)
        };
        assert!(untrusted("198.51.100.1").is_ok());
        assert!(untrusted("198.51.100.2").is_ok());
        assert!(untrusted("198.51.100.3").is_err());
    }
}
