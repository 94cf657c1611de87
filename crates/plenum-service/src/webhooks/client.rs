//! The HTTP client of the delivery task, and the one rule it keeps whatever the URL says:
//! no private, loopback or link-local address unless the installation allows them.
//!
//! An endpoint's host was judged when it was registered, but a name may resolve elsewhere
//! since (DNS rebinding) and the installation's setting may have changed: so every
//! connection judges the addresses again. Names go through [`GuardedResolver`], which
//! refuses a name if any address it resolves to is not public (a name that answers both is
//! not trusted with either); an address written in the URL, which no resolver sees, is
//! judged before the request ([`refused_address`]). No redirect is followed (a redirect to a
//! private address would get around both), no proxy from the environment is used, each
//! attempt has a timeout, and at most `max_response_bytes` of an answer is read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use plenum_domain::webhooks::is_public;

/// Resolves names with the system resolver and refuses non-public answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver {
    pub(crate) allow_private: bool,
}

/// A name that resolved to an address the installation does not post to.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves to {address}, a private, loopback or link-local address")]
pub(crate) struct RefusedAddress {
    name: String,
    address: IpAddr,
}

impl reqwest_rustls::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest_rustls::dns::Name) -> reqwest_rustls::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(Box::new(RefusedAddress {
                    name: host,
                    address: bad.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest_rustls::dns::Addrs)
        })
    }
}

/// Why a URL's literal address is refused, if it is (names are judged by the resolver).
pub(crate) fn refused_address(url: &str, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    let ip = match parsed.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(_) => return None,
    };
    (!is_public(ip)).then(|| format!("{ip} is a private, loopback or link-local address"))
}

/// The client every attempt uses: rustls, no redirects, no proxy, the attempt's timeout.
pub(crate) fn client(
    allow_private: bool,
    attempt_timeout: Duration,
) -> Result<reqwest_rustls::Client, reqwest_rustls::Error> {
    reqwest_rustls::Client::builder()
        .redirect(reqwest_rustls::redirect::Policy::none())
        .no_proxy()
        .timeout(attempt_timeout)
        .connect_timeout(attempt_timeout)
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(concat!("Plenum-Webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest_rustls::dns::Resolve as _;

    #[test]
    fn literal_addresses_are_judged_before_the_request() {
        assert!(refused_address("http://127.0.0.1:8080/x", false).is_some());
        assert!(refused_address("http://[::1]/", false).is_some());
        assert!(refused_address("http://10.0.0.8/", false).is_some());
        assert!(refused_address("http://127.0.0.1:8080/x", true).is_none());
        assert!(refused_address("https://93.184.216.34/", false).is_none());
        assert!(refused_address("https://hooks.example.com/", false).is_none());
    }

    #[tokio::test]
    async fn names_of_private_addresses_are_refused_when_connecting() {
        let name: reqwest_rustls::dns::Name = "localhost".parse().expect("a name");
        let refused = GuardedResolver {
            allow_private: false,
        }
        .resolve(name)
        .await;
        let Err(e) = refused else {
            panic!("localhost resolved for a guarded client")
        };
        assert!(e.to_string().contains("localhost resolves to"), "{e}");
        let name: reqwest_rustls::dns::Name = "localhost".parse().expect("a name");
        let allowed = GuardedResolver {
            allow_private: true,
        }
        .resolve(name)
        .await
        .map(|addrs| addrs.count());
        assert!(matches!(allowed, Ok(n) if n > 0));
    }
}
