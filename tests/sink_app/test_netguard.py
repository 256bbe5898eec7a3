"""The fetcher's address policy: literal hosts, special ranges and metadata."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from sink_app.pipeline.netguard import (
    AddressPolicy,
    is_metadata_address,
    is_non_public_address,
    parse_ip_host,
    system_resolver,
)

STRICT = AddressPolicy(allow_private=False)
OPEN = AddressPolicy(allow_private=True)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address under test, not a bind
        ("127.0.0.1.", "127.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("[fd00:ec2::254]", "fd00:ec2::254"),
        ("8.8.8.8", "8.8.8.8"),
    ],
)
def test_parse_ip_host_numeric_forms_give_address(host: str, expected: str) -> None:
    """Every numeric host form a resolver accepts is read as the address it names."""
    assert parse_ip_host(host) == ip_address(expected)


@pytest.mark.parametrize(
    "host", ["example.test", "jobs.example.test", "0x7f.example.test", "1.2.3.a"]
)
def test_parse_ip_host_dns_names_give_none(host: str) -> None:
    """A host that does not end in a number is a DNS name, not a literal."""
    assert parse_ip_host(host) is None


@pytest.mark.parametrize(
    "host", ["256.1.1.1", "1.2.3.4.5", "999999999999", "1.2.3.08", "example.123"]
)
def test_parse_ip_host_malformed_numbers_raise(host: str) -> None:
    """A host ending in a number that is no valid address is rejected, not resolved."""
    with pytest.raises(ValueError, match="IPv4"):
        parse_ip_host(host)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.1.1",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "198.18.0.1",
        "::",
        "::1",
        "fe80::1",
        "febf::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:100.64.0.1",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "2001:db8::1",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
    ],
)
def test_policy_special_addresses_refused(address: str) -> None:
    """Private, loopback, link-local, multicast, reserved and wrapped forms fail."""
    assert is_non_public_address(ip_address(address))
    assert not STRICT.allows_address(ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]
)
def test_policy_public_addresses_allowed(address: str) -> None:
    """Globally routed addresses, including an IPv4-mapped public one, pass."""
    assert STRICT.allows_address(ip_address(address))


def test_policy_nat64_public_address_allowed() -> None:
    """A DNS64-synthesised address is judged by the IPv4 host it reaches."""
    assert STRICT.allows_address(ip_address("64:ff9b::808:808"))
    assert not STRICT.allows_address(ip_address("64:ff9b::a00:1"))


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.170.2",
        "100.100.100.200",
        "168.63.129.16",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
    ],
)
def test_policy_metadata_refused_even_when_private_allowed(address: str) -> None:
    """Metadata endpoints stay refused with SCRAPE_ALLOW_PRIVATE=true."""
    assert is_metadata_address(ip_address(address))
    assert not OPEN.allows_address(ip_address(address))


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "::1", "fd12::1"])
def test_policy_allow_private_lets_local_addresses_through(address: str) -> None:
    """The demo's loopback pages are reachable when private addresses are allowed."""
    assert OPEN.allows_address(ip_address(address))


@pytest.mark.parametrize(
    "hostname",
    [
        "metadata.google.internal",
        "METADATA.google.internal.",
        "metadata",
        "metadata.goog",
    ],
)
def test_policy_metadata_hostnames_refused(hostname: str) -> None:
    """Metadata host names are refused before any DNS lookup, in either mode."""
    assert not STRICT.allows_hostname(hostname)
    assert not OPEN.allows_hostname(hostname)


def test_policy_ordinary_hostname_allowed() -> None:
    """An ordinary name is left to the address check after resolution."""
    assert STRICT.allows_hostname("jobs.example.test")


async def test_system_resolver_numeric_host_gives_address() -> None:
    """The default resolver returns ip_address objects from getaddrinfo."""
    addresses = await system_resolver("127.0.0.1", 80)
    assert ip_address("127.0.0.1") in addresses
