//! Warning lists: values that must never correlate cases.

use std::collections::HashSet;
use std::net::IpAddr;

use super::{domain, Indicator, IndicatorKind, Network};
use crate::DomainError;

/// Values that must never correlate cases (a public mail provider's domain, the helpline's
/// own domains, documentation address ranges), each list with its name.
#[derive(Debug, Clone, Default)]
pub struct WarningList {
    lists: Vec<(String, HashSet<String>, Vec<Network>)>,
}

impl WarningList {
    /// Builds the lists; each entry is a domain or a network.
    pub fn new<'a>(
        lists: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<Self, DomainError> {
        let mut out = Vec::new();
        for (name, entries) in lists {
            let mut domains = HashSet::new();
            let mut nets = Vec::new();
            for e in entries {
                if e.contains('/') {
                    nets.push(
                        Network::parse(e)
                            .map_err(|why| DomainError::invalid("warning list", why))?,
                    );
                } else if let Ok(ip) = e.parse::<IpAddr>() {
                    nets.push(Network {
                        addr: ip,
                        prefix: if ip.is_ipv4() { 32 } else { 128 },
                    });
                } else {
                    domains.insert(domain(e).map_err(|why| {
                        DomainError::invalid("warning list", format!("`{e}`: {why}"))
                    })?);
                }
            }
            out.push((name.to_owned(), domains, nets));
        }
        Ok(Self { lists: out })
    }

    /// The name of the list that names this indicator, if one does.
    pub fn warns(&self, i: &Indicator) -> Option<&str> {
        let host: Option<String> = match i.kind {
            IndicatorKind::Domain => Some(i.value.clone()),
            IndicatorKind::Url => url::Url::parse(&i.value)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
            _ => None,
        };
        let ip: Option<IpAddr> = match i.kind {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => i.value.parse().ok(),
            IndicatorKind::Cidr => Network::parse(&i.value).ok().map(|n| n.addr),
            IndicatorKind::Url => url::Url::parse(&i.value).ok().and_then(|u| match u.host() {
                Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
                Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
                _ => None,
            }),
            _ => None,
        };
        self.lists
            .iter()
            .find(|(_, domains, nets)| {
                host.as_deref().is_some_and(|h| within(h, domains))
                    || ip.is_some_and(|ip| nets.iter().any(|n| n.contains(ip)))
            })
            .map(|(name, _, _)| name.as_str())
    }
}

/// Whether `host` is one of `domains` or below one: each of its suffixes at a label boundary
/// is looked up, so a check costs the host's labels, not the list's length (correlation checks
/// thousands of indicators against lists of hundreds of domains).
fn within(host: &str, domains: &HashSet<String>) -> bool {
    let mut rest = host;
    loop {
        if domains.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) => rest = parent,
            None => return false,
        }
    }
}
