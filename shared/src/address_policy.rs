//! Which addresses a server-side fetch (a media URL, later a webhook) may connect to. Every address a host name
//! resolves to, every IP literal and every redirect hop is checked here before connecting, and the connection is
//! made to the checked address. Refused: anything that is not a public unicast address (loopback, private,
//! link-local, shared, documentation, benchmarking, multicast, reserved, and the IPv6 forms that carry an IPv4
//! address: mapped, compatible, NAT64, 6to4, Teredo), unless an operator allowed its network with
//! `SOKU_FETCH_ALLOW_PRIVATE` (a comma-separated list of CIDRs, empty by default).
//!
//! IPv4 literals are read the way `inet_aton` reads them (what browsers, curl and most resolvers accept), so
//! `2130706433`, `0x7f.0.0.1`, `0177.0.0.1` and `127.1` are all 127.0.0.1.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused; `as_str` is the stable code, `Display` the sentence for an error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    SharedAddressSpace,
    LinkLocal,
    IetfProtocol,
    Documentation,
    Benchmarking,
    Multicast,
    Broadcast,
    Reserved,
    UniqueLocal,
    SiteLocal,
    DiscardOnly,
    Nat64,
    SixToFour,
    Teredo,
}

impl Refusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::Unspecified => "unspecified",
            Refusal::ThisNetwork => "this_network",
            Refusal::Loopback => "loopback",
            Refusal::Private => "private",
            Refusal::SharedAddressSpace => "shared_address_space",
            Refusal::LinkLocal => "link_local",
            Refusal::IetfProtocol => "ietf_protocol_assignment",
            Refusal::Documentation => "documentation",
            Refusal::Benchmarking => "benchmarking",
            Refusal::Multicast => "multicast",
            Refusal::Broadcast => "broadcast",
            Refusal::Reserved => "reserved",
            Refusal::UniqueLocal => "unique_local",
            Refusal::SiteLocal => "site_local",
            Refusal::DiscardOnly => "discard_only",
            Refusal::Nat64 => "nat64",
            Refusal::SixToFour => "6to4",
            Refusal::Teredo => "teredo",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Refusal::Unspecified => "the unspecified address",
            Refusal::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            Refusal::Loopback => "a loopback address",
            Refusal::Private => "a private address",
            Refusal::SharedAddressSpace => "a carrier-grade NAT address (100.64.0.0/10)",
            Refusal::LinkLocal => "a link-local address",
            Refusal::IetfProtocol => {
                "an address of the IETF protocol assignments (192.0.0.0/24, 2001::/23)"
            }
            Refusal::Documentation => "a documentation address",
            Refusal::Benchmarking => "a benchmarking address",
            Refusal::Multicast => "a multicast address",
            Refusal::Broadcast => "the broadcast address",
            Refusal::Reserved => "a reserved address",
            Refusal::UniqueLocal => "a unique local IPv6 address (fc00::/7)",
            Refusal::SiteLocal => "a site-local IPv6 address (fec0::/10)",
            Refusal::DiscardOnly => "a discard-only IPv6 address (100::/64)",
            Refusal::Nat64 => "a NAT64 address (64:ff9b::/96, 64:ff9b:1::/48)",
            Refusal::SixToFour => "a 6to4 address (2002::/16)",
            Refusal::Teredo => "a Teredo address (2001::/32)",
        };
        f.write_str(what)
    }
}

/// An IP network, `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `::1/128`, or a bare address (a network of one).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| {
            format!("`{text}` is not an IP network (expected e.g. 127.0.0.1/32 or ::1/128)")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is in this network (an IPv4 network also holds the IPv4-mapped IPv6 forms of its addresses).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => in_v4(ip, net, self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => in_v6(ip, net, self.prefix),
            _ => false,
        }
    }
}

/// What may be connected to: public unicast addresses, plus the networks an operator allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<Cidr>,
}

impl AddressPolicy {
    /// The policy of `SOKU_FETCH_ALLOW_PRIVATE`: a comma-separated list of CIDRs (empty: none allowed).
    pub fn parse(allow_private: &str) -> Result<AddressPolicy, String> {
        let allowed = allow_private
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Cidr::parse)
            .collect::<Result<_, _>>()?;
        Ok(AddressPolicy { allowed })
    }

    /// The address to connect to (canonical: an IPv4-mapped address as IPv4), or why not.
    pub fn check(&self, ip: IpAddr) -> Result<IpAddr, Refusal> {
        let ip = canonical(ip);
        if self.allowed.iter().any(|net| net.contains(ip)) {
            return Ok(ip);
        }
        classify(ip).map(|()| ip)
    }
}

/// An IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`, not `::` or `::1`) address as the IPv4
/// address it carries; anything else as it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let low = u128::from(v6) & 0xffff_ffff;
            if s[..6].iter().all(|x| *x == 0) && low > 1 {
                return IpAddr::V4(Ipv4Addr::from(low as u32));
            }
            ip
        }
        v4 => v4,
    }
}

/// `Ok` for a public unicast address; the reason otherwise. Canonicalises first.
pub fn classify(ip: IpAddr) -> Result<(), Refusal> {
    match canonical(ip) {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Result<(), Refusal> {
    const RANGES: &[([u8; 4], u8, Refusal)] = &[
        ([255, 255, 255, 255], 32, Refusal::Broadcast),
        ([0, 0, 0, 0], 32, Refusal::Unspecified),
        ([0, 0, 0, 0], 8, Refusal::ThisNetwork),
        ([10, 0, 0, 0], 8, Refusal::Private),
        ([100, 64, 0, 0], 10, Refusal::SharedAddressSpace),
        ([127, 0, 0, 0], 8, Refusal::Loopback),
        ([169, 254, 0, 0], 16, Refusal::LinkLocal),
        ([172, 16, 0, 0], 12, Refusal::Private),
        ([192, 0, 0, 0], 24, Refusal::IetfProtocol),
        ([192, 0, 2, 0], 24, Refusal::Documentation),
        ([192, 88, 99, 0], 24, Refusal::SixToFour),
        ([192, 168, 0, 0], 16, Refusal::Private),
        ([198, 18, 0, 0], 15, Refusal::Benchmarking),
        ([198, 51, 100, 0], 24, Refusal::Documentation),
        ([203, 0, 113, 0], 24, Refusal::Documentation),
        ([224, 0, 0, 0], 4, Refusal::Multicast),
        ([240, 0, 0, 0], 4, Refusal::Reserved),
    ];
    match RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, Ipv4Addr::from(*net), *prefix))
    {
        Some((_, _, why)) => Err(*why),
        None => Ok(()),
    }
}

fn classify_v6(ip: Ipv6Addr) -> Result<(), Refusal> {
    const RANGES: &[(u128, u8, Refusal)] = &[
        (0, 128, Refusal::Unspecified),
        (1, 128, Refusal::Loopback),
        (
            0x0064_ff9b_0000_0000_0000_0000_0000_0000,
            96,
            Refusal::Nat64,
        ),
        (
            0x0064_ff9b_0001_0000_0000_0000_0000_0000,
            48,
            Refusal::Nat64,
        ),
        (
            0x0100_0000_0000_0000_0000_0000_0000_0000,
            64,
            Refusal::DiscardOnly,
        ),
        (
            0x2001_0000_0000_0000_0000_0000_0000_0000,
            32,
            Refusal::Teredo,
        ),
        (
            0x2001_0002_0000_0000_0000_0000_0000_0000,
            48,
            Refusal::Benchmarking,
        ),
        (
            0x2001_0db8_0000_0000_0000_0000_0000_0000,
            32,
            Refusal::Documentation,
        ),
        (
            0x2001_0000_0000_0000_0000_0000_0000_0000,
            23,
            Refusal::IetfProtocol,
        ),
        (
            0x2002_0000_0000_0000_0000_0000_0000_0000,
            16,
            Refusal::SixToFour,
        ),
        (
            0x3fff_0000_0000_0000_0000_0000_0000_0000,
            20,
            Refusal::Documentation,
        ),
        (
            0xfc00_0000_0000_0000_0000_0000_0000_0000,
            7,
            Refusal::UniqueLocal,
        ),
        (
            0xfe80_0000_0000_0000_0000_0000_0000_0000,
            10,
            Refusal::LinkLocal,
        ),
        (
            0xfec0_0000_0000_0000_0000_0000_0000_0000,
            10,
            Refusal::SiteLocal,
        ),
        (
            0xff00_0000_0000_0000_0000_0000_0000_0000,
            8,
            Refusal::Multicast,
        ),
    ];
    if let Some((_, _, why)) = RANGES
        .iter()
        .find(|(net, prefix, _)| in_v6(ip, Ipv6Addr::from(*net), *prefix))
    {
        return Err(*why);
    }
    // Global unicast is 2000::/3; everything else is unassigned.
    if u128::from(ip) >> 125 != 1 {
        return Err(Refusal::Reserved);
    }
    Ok(())
}

fn in_v4(ip: Ipv4Addr, net: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// The IP address a URL's host names, if it is an IP literal: `[v6]` (brackets optional), or IPv4 in any
/// `inet_aton` spelling: one to four parts, each decimal, octal (leading `0`) or hex (`0x`), the last filling
/// the remaining bytes (`127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`). `None` for a name.
pub fn ip_literal(host: &str) -> Option<IpAddr> {
    let inner = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(v6) = inner.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    inet_aton(host.strip_suffix('.').unwrap_or(host)).map(IpAddr::V4)
}

fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u64> = text
        .split('.')
        .map(parse_part)
        .collect::<Option<Vec<_>>>()?;
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let (head, last) = parts.split_at(parts.len() - 1);
    if head.iter().any(|p| *p > 255) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last[0] >= 1u64 << last_bits {
        return None;
    }
    let value = head
        .iter()
        .fold(0u64, |acc, p| (acc << 8) | p)
        .checked_shl(last_bits)?
        | last[0];
    Some(Ipv4Addr::from(value as u32))
}

fn parse_part(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        // "0x" alone is 0 for inet_aton.
        return (radix == 16).then_some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) || digits.len() > 11 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests;
