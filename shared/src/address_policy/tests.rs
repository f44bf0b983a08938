//! Every refused range, at its first and last address and one inside, with its neighbours just outside
//! allowed; the IPv6 forms that carry an IPv4 address; every IPv4 spelling; the allow-list. Nothing here
//! connects anywhere.

use super::*;

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().unwrap())
}

fn refused(ip: IpAddr) -> Option<Refusal> {
    classify(ip).err()
}

#[test]
fn every_ipv4_range_is_refused_at_both_ends_and_inside() {
    let cases: &[(&str, &str, &str, Refusal)] = &[
        (
            "0.0.0.1",
            "0.128.0.0",
            "0.255.255.255",
            Refusal::ThisNetwork,
        ),
        (
            "10.0.0.0",
            "10.20.30.40",
            "10.255.255.255",
            Refusal::Private,
        ),
        (
            "100.64.0.0",
            "100.100.100.100",
            "100.127.255.255",
            Refusal::SharedAddressSpace,
        ),
        (
            "127.0.0.0",
            "127.0.0.1",
            "127.255.255.255",
            Refusal::Loopback,
        ),
        (
            "169.254.0.0",
            "169.254.169.254",
            "169.254.255.255",
            Refusal::LinkLocal,
        ),
        (
            "172.16.0.0",
            "172.20.1.1",
            "172.31.255.255",
            Refusal::Private,
        ),
        (
            "192.0.0.0",
            "192.0.0.8",
            "192.0.0.255",
            Refusal::IetfProtocol,
        ),
        (
            "192.0.2.0",
            "192.0.2.1",
            "192.0.2.255",
            Refusal::Documentation,
        ),
        (
            "192.88.99.0",
            "192.88.99.1",
            "192.88.99.255",
            Refusal::SixToFour,
        ),
        (
            "192.168.0.0",
            "192.168.1.1",
            "192.168.255.255",
            Refusal::Private,
        ),
        (
            "198.18.0.0",
            "198.18.5.5",
            "198.19.255.255",
            Refusal::Benchmarking,
        ),
        (
            "198.51.100.0",
            "198.51.100.7",
            "198.51.100.255",
            Refusal::Documentation,
        ),
        (
            "203.0.113.0",
            "203.0.113.9",
            "203.0.113.255",
            Refusal::Documentation,
        ),
        (
            "224.0.0.0",
            "239.1.2.3",
            "239.255.255.255",
            Refusal::Multicast,
        ),
        (
            "240.0.0.0",
            "250.1.2.3",
            "255.255.255.254",
            Refusal::Reserved,
        ),
    ];
    for (first, inside, last, why) in cases {
        for ip in [first, inside, last] {
            assert_eq!(refused(v4(ip)), Some(*why), "{ip}");
        }
    }
    assert_eq!(refused(v4("0.0.0.0")), Some(Refusal::Unspecified));
    assert_eq!(refused(v4("255.255.255.255")), Some(Refusal::Broadcast));
}

#[test]
fn the_public_neighbours_of_each_ipv4_range_are_allowed() {
    for ip in [
        "1.0.0.0",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.0",
        "192.0.3.0",
        "192.88.98.255",
        "192.88.100.0",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "198.51.99.255",
        "198.51.101.0",
        "203.0.112.255",
        "203.0.114.0",
        "223.255.255.255",
        "8.8.8.8",
        "93.184.216.34",
    ] {
        assert_eq!(refused(v4(ip)), None, "{ip}");
    }
}

#[test]
fn every_ipv6_range_is_refused() {
    let cases: &[(&str, Refusal)] = &[
        ("::", Refusal::Unspecified),
        ("::1", Refusal::Loopback),
        ("64:ff9b::", Refusal::Nat64),
        ("64:ff9b::808:808", Refusal::Nat64),
        ("64:ff9b::ffff:ffff", Refusal::Nat64),
        ("64:ff9b:1::", Refusal::Nat64),
        ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", Refusal::Nat64),
        ("100::", Refusal::DiscardOnly),
        ("100::ffff:ffff:ffff:ffff", Refusal::DiscardOnly),
        ("2001::", Refusal::Teredo),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Refusal::Teredo),
        ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", Refusal::Teredo),
        ("2001:2::", Refusal::Benchmarking),
        ("2001:2:0:ffff:ffff:ffff:ffff:ffff", Refusal::Benchmarking),
        ("2001:10::1", Refusal::IetfProtocol),
        (
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            Refusal::IetfProtocol,
        ),
        ("2001:db8::", Refusal::Documentation),
        (
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            Refusal::Documentation,
        ),
        ("3fff::", Refusal::Documentation),
        (
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            Refusal::Documentation,
        ),
        ("2002::", Refusal::SixToFour),
        ("2002:c000:0204::1", Refusal::SixToFour),
        (
            "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Refusal::SixToFour,
        ),
        ("fc00::", Refusal::UniqueLocal),
        ("fd12:3456::1", Refusal::UniqueLocal),
        (
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Refusal::UniqueLocal,
        ),
        ("fe80::", Refusal::LinkLocal),
        ("fe80::1%0".split('%').next().unwrap(), Refusal::LinkLocal),
        (
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Refusal::LinkLocal,
        ),
        ("fec0::1", Refusal::SiteLocal),
        ("ff00::", Refusal::Multicast),
        ("ff02::1", Refusal::Multicast),
        (
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Refusal::Multicast,
        ),
        // Outside global unicast (2000::/3): unassigned.
        ("4000::1", Refusal::Reserved),
        ("1::", Refusal::Reserved),
        ("::ffff:0:7f00:1", Refusal::Reserved),
    ];
    for (ip, why) in cases {
        assert_eq!(refused(v6(ip)), Some(*why), "{ip}");
    }
}

#[test]
fn public_ipv6_is_allowed_and_its_neighbours_of_refused_ranges_too() {
    for ip in [
        "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e",
        "2001:200::1",
        "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:db9::",
        "2003::1",
        "3ffe:ffff::1",
        "3fff:1000::",
    ] {
        assert_eq!(refused(v6(ip)), None, "{ip}");
    }
}

#[test]
fn ipv6_forms_of_an_ipv4_address_are_judged_as_that_address() {
    // Mapped and compatible forms canonicalise to IPv4 first.
    assert_eq!(canonical(v6("::ffff:127.0.0.1")), v4("127.0.0.1"));
    assert_eq!(canonical(v6("::ffff:7f00:2")), v4("127.0.0.2"));
    assert_eq!(canonical(v6("::10.1.2.3")), v4("10.1.2.3"));
    assert_eq!(canonical(v6("::1")), v6("::1"));
    assert_eq!(canonical(v6("::")), v6("::"));
    assert_eq!(refused(v6("::ffff:127.0.0.1")), Some(Refusal::Loopback));
    assert_eq!(
        refused(v6("::ffff:169.254.169.254")),
        Some(Refusal::LinkLocal)
    );
    assert_eq!(refused(v6("::ffff:10.0.0.1")), Some(Refusal::Private));
    assert_eq!(refused(v6("::ffff:0.0.0.0")), Some(Refusal::Unspecified));
    assert_eq!(refused(v6("::192.168.1.1")), Some(Refusal::Private));
    assert_eq!(refused(v6("::ffff:8.8.8.8")), None);
    // NAT64 and 6to4 are refused whatever they carry.
    assert_eq!(refused(v6("64:ff9b::8.8.8.8")), Some(Refusal::Nat64));
    assert_eq!(refused(v6("2002:0808:0808::")), Some(Refusal::SixToFour));
}

#[test]
fn every_ipv4_spelling_is_the_same_address() {
    for spelling in [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0X7F000001",
        "017700000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "0177.0.0.01",
        "127.1",
        "127.0.1",
        "0x7f.1",
        "127.0.0.1.",
    ] {
        assert_eq!(ip_literal(spelling), Some(v4("127.0.0.1")), "{spelling}");
    }
    assert_eq!(ip_literal("0x7f.0.0.2"), Some(v4("127.0.0.2")));
    assert_eq!(ip_literal("0"), Some(v4("0.0.0.0")));
    assert_eq!(ip_literal("0x"), Some(v4("0.0.0.0")));
    assert_eq!(ip_literal("[::1]"), Some(v6("::1")));
    assert_eq!(ip_literal("::ffff:127.0.0.1"), Some(v6("::ffff:127.0.0.1")));
    assert_eq!(ip_literal("[::ffff:7f00:1]"), Some(v6("::ffff:7f00:1")));
    // Names, and numbers that are no address.
    for name in [
        "localhost",
        "example.com",
        "127.0.0.1.example.com",
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "1.2.65536",
        "4294967296",
        "08.0.0.1",
        "0xg.0.0.1",
        "1..2",
        "",
        "[127.0.0.1]",
        "12a",
    ] {
        assert_eq!(ip_literal(name), None, "{name}");
    }
    assert_eq!(ip_literal("1.2.65535"), Some(v4("1.2.255.255")));
    assert_eq!(ip_literal("4294967295"), Some(v4("255.255.255.255")));
}

#[test]
fn the_allow_list_opens_only_its_networks() {
    let none = AddressPolicy::parse("").unwrap();
    assert_eq!(none.check(v4("127.0.0.1")), Err(Refusal::Loopback));
    assert_eq!(none.check(v4("8.8.8.8")), Ok(v4("8.8.8.8")));

    let policy = AddressPolicy::parse(" 127.0.0.1/32, 10.1.0.0/16 ,fd00::/8").unwrap();
    assert_eq!(policy.check(v4("127.0.0.1")), Ok(v4("127.0.0.1")));
    assert_eq!(policy.check(v6("::ffff:127.0.0.1")), Ok(v4("127.0.0.1")));
    assert_eq!(policy.check(v4("127.0.0.2")), Err(Refusal::Loopback));
    assert_eq!(policy.check(v6("::1")), Err(Refusal::Loopback));
    assert_eq!(policy.check(v4("10.1.255.255")), Ok(v4("10.1.255.255")));
    assert_eq!(policy.check(v4("10.2.0.0")), Err(Refusal::Private));
    assert_eq!(policy.check(v6("fd00::5")), Ok(v6("fd00::5")));
    assert_eq!(policy.check(v6("fc00::5")), Err(Refusal::UniqueLocal));
    assert_eq!(policy.check(v4("0.0.0.0")), Err(Refusal::Unspecified));

    let single = AddressPolicy::parse("::1").unwrap();
    assert_eq!(single.check(v6("::1")), Ok(v6("::1")));
    let everything = AddressPolicy::parse("0.0.0.0/0").unwrap();
    assert_eq!(everything.check(v4("192.168.1.1")), Ok(v4("192.168.1.1")));

    for bad in [
        "127.0.0.1/33",
        "::1/129",
        "localhost",
        "10.0.0.0/x",
        "10.0.0/8",
    ] {
        let err = AddressPolicy::parse(bad).unwrap_err();
        assert!(err.contains(bad.split('/').next().unwrap()), "{bad}: {err}");
    }
}

#[test]
fn every_refusal_has_a_code_and_a_sentence() {
    let all = [
        Refusal::Unspecified,
        Refusal::ThisNetwork,
        Refusal::Loopback,
        Refusal::Private,
        Refusal::SharedAddressSpace,
        Refusal::LinkLocal,
        Refusal::IetfProtocol,
        Refusal::Documentation,
        Refusal::Benchmarking,
        Refusal::Multicast,
        Refusal::Broadcast,
        Refusal::Reserved,
        Refusal::UniqueLocal,
        Refusal::SiteLocal,
        Refusal::DiscardOnly,
        Refusal::Nat64,
        Refusal::SixToFour,
        Refusal::Teredo,
    ];
    let codes: std::collections::HashSet<&str> = all.iter().map(|r| r.as_str()).collect();
    assert_eq!(codes.len(), all.len());
    for r in all {
        assert!(r.to_string().contains("address"), "{r:?}");
    }
}
