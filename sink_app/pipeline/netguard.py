"""Which hosts and addresses the keyless fetcher may reach.

The fetcher takes URLs from search requests, so without this policy a request could
make the sink read its own cloud metadata or an internal service. Private, loopback,
link-local, multicast, reserved and shared (CGNAT) addresses are refused unless
`SCRAPE_ALLOW_PRIVATE=true`; metadata endpoints are refused even then, because no job
posting lives there.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]

METADATA_ADDRESSES = frozenset(
    {
        ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, Oracle
        ip_address("169.254.170.2"),  # AWS ECS task metadata
        ip_address("169.254.170.23"),  # AWS EKS pod identity
        ip_address("100.100.100.200"),  # Alibaba Cloud
        ip_address("168.63.129.16"),  # Azure wire server, a public address
        ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ip_address("fd00:ec2::23"),  # AWS EKS pod identity over IPv6
    }
)
METADATA_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

_SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")
_NAT64_PREFIX = IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = IPv6Network("::/96")
_IPV4_MAX = 2**32 - 1
_DIGITS = {
    8: frozenset("01234567"),
    10: frozenset("0123456789"),
    16: frozenset("0123456789abcdefABCDEF"),
}


class AddressPolicy:
    """Decide whether a hostname or an address may be fetched."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def allows_hostname(self, hostname: str) -> bool:
        """False for names that only ever lead to a metadata service."""
        return hostname.lower().rstrip(".") not in METADATA_HOSTNAMES

    def allows_address(self, address: IPAddress) -> bool:
        """False for metadata addresses, and for non-public ones unless allowed."""
        if is_metadata_address(address):
            return False
        return self.allow_private or not is_non_public_address(address)


def is_metadata_address(address: IPAddress) -> bool:
    """True for a cloud metadata address, also when wrapped in an IPv6 address."""
    return any(candidate in METADATA_ADDRESSES for candidate in _with_embedded(address))


def is_non_public_address(address: IPAddress) -> bool:
    """True unless the address, and any IPv4 address it embeds, is globally routed."""
    return any(_is_special(candidate) for candidate in _with_embedded(address))


def parse_ip_host(host: str) -> IPAddress | None:
    """The address a URL host names literally, or None for a DNS name.

    Besides dotted quads and IPv6 literals this reads the numeric forms that
    resolvers and browsers accept (`2130706433`, `0x7f.1`, `017700000001`,
    `127.1`), following the WHATWG URL host parser. Raises ValueError for a host
    that ends in a number but is no valid address.
    """
    bare = host.strip("[]").rstrip(".")
    try:
        return ip_address(bare)
    except ValueError:
        pass
    parts = bare.split(".")
    if not _ends_in_number(parts):
        return None
    return IPv4Address(_combine_ipv4_parts(parts))


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host`."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(str(info[4][0])) for info in infos]


def _with_embedded(address: IPAddress) -> list[IPAddress]:
    if isinstance(address, IPv4Address):
        return [address]
    translated = _translated_ipv4(address)
    if translated is not None:
        # Mapped and NAT64 (DNS64) addresses reach the IPv4 host itself, so only that
        # one is judged; this also keeps IPv6-only networks able to fetch.
        return [translated]
    embedded = _embedded_ipv4(address)
    return [address] if embedded is None else [address, embedded]


def _translated_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_PREFIX:
        return IPv4Address(int(address) & _IPV4_MAX)
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return IPv4Address(int(address) & _IPV4_MAX)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _is_special(address: IPAddress) -> bool:
    if isinstance(address, IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return True
    if isinstance(address, IPv6Address) and address.is_site_local:
        return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _ends_in_number(parts: list[str]) -> bool:
    last = parts[-1]
    return bool(last) and ((last.isascii() and last.isdigit()) or _is_number(last))


def _is_number(part: str) -> bool:
    return _parse_ipv4_number(part) is not None


def _parse_ipv4_number(part: str) -> int | None:
    base, digits = 10, part
    if part[:2].lower() == "0x":
        base, digits = 16, part[2:] or "0"
    elif len(part) > 1 and part.startswith("0"):
        base, digits = 8, part[1:]
    if not part or not set(digits) <= _DIGITS[base]:
        return None
    return int(digits, base)


def _combine_ipv4_parts(parts: list[str]) -> int:
    numbers = [_parse_ipv4_number(part) for part in parts]
    if len(numbers) > 4 or any(number is None for number in numbers):
        raise ValueError("host ends in a number but is not an IPv4 address")
    values = [number for number in numbers if number is not None]
    leading, last = values[:-1], values[-1]
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(values)):
        raise ValueError("IPv4 address part out of range")
    total = last
    for index, value in enumerate(leading):
        total += value * 256 ** (3 - index)
    return total
