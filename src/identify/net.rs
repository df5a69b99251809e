//! Site networks: which addresses are inside the site (CIDR blocks, checked per device, not per
//! packet), and which addresses can be a device at all (not broadcast, multicast, unspecified).

use std::net::IpAddr;

/// One CIDR block, e.g. `10.20.0.0/16` or `fe80::/10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: u128,
    len: u8,
    v6: bool,
}

fn word(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v) => (u128::from(u32::from(v)), false),
        IpAddr::V6(v) => (u128::from(v), true),
    }
}

impl Cidr {
    fn mask(&self) -> u128 {
        let bits = if self.v6 { 128 } else { 32 };
        let len = u32::from(self.len.min(bits));
        if len == 0 {
            0
        } else {
            (!0u128 << (128 - len)) >> (128 - bits)
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (w, v6) = word(ip);
        v6 == self.v6 && (w & self.mask()) == (self.net & self.mask())
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an address or CIDR block"))?;
        let (net, v6) = word(ip);
        let max = if v6 { 128 } else { 32 };
        let len = match len {
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= max)
                .ok_or_else(|| format!("`{s}`: prefix length must be 0-{max}"))?,
            None => max,
        };
        Ok(Cidr { net, len, v6 })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ip = if self.v6 {
            IpAddr::V6(self.net.into())
        } else {
            IpAddr::V4((self.net as u32).into())
        };
        write!(f, "{ip}/{}", self.len)
    }
}

/// The site's own networks. Default: private and link-local ranges.
#[derive(Clone, Debug)]
pub struct SiteNets(pub Vec<Cidr>);

impl Default for SiteNets {
    fn default() -> Self {
        let nets = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16",
            "fc00::/7",
            "fe80::/10",
        ];
        SiteNets(nets.iter().filter_map(|n| n.parse().ok()).collect())
    }
}

impl SiteNets {
    pub fn parse(list: &[String]) -> Result<SiteNets, String> {
        list.iter()
            .map(|s| s.parse())
            .collect::<Result<Vec<_>, _>>()
            .map(SiteNets)
    }
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }
}

/// Whether `ip` can be one device's address: not unspecified, multicast, limited or
/// (for the site's /24 guesses) directed broadcast, loopback is allowed (tests run there).
pub fn is_host(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(v.is_unspecified() || v.is_multicast() || v.is_broadcast() || v.octets()[3] == 255)
        }
        IpAddr::V6(v) => !(v.is_unspecified() || v.is_multicast()),
    }
}

/// A MAC that names one interface: not broadcast or multicast (group bit), not all zero.
pub fn is_unicast_mac(m: [u8; 6]) -> bool {
    m[0] & 1 == 0 && m != [0; 6]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains() {
        let c: Cidr = "10.20.0.0/16".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(c.contains("10.20.3.4".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!c.contains("10.21.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(!c.contains("::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        let all: Cidr = "0.0.0.0/0".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(all.contains(IpAddr::from([8, 8, 8, 8])));
        let d = SiteNets::default();
        assert!(d.contains(IpAddr::from([192, 168, 1, 1])));
        assert!(!d.contains(IpAddr::from([52, 1, 2, 3])));
    }
}
