"""Who the client is when the server sits behind trusted reverse proxies.

A proxy's own address is the TCP peer; the client's address arrives in
X-Forwarded-For, which each proxy extends on the right. The header is
believed only when the peer is a configured proxy, and then read from the
right, skipping trusted hops, so an address the client wrote itself on the
left is never taken. Only X-Forwarded-For is read, not the RFC 7239
`Forwarded` header.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from ops.config import ConfigError

ENV_TRUSTED_PROXIES = "RATELINE_TRUSTED_PROXIES"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """The comma list of addresses and CIDR networks, parsed (once per text).

    Raises ConfigError naming the variable and the first bad entry.
    """
    networks: list[Network] = []
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError as exc:
            if "host bits set" in str(exc):
                wider = ipaddress.ip_network(entry, strict=False)
                raise ConfigError(
                    f"{ENV_TRUSTED_PROXIES}: {entry!r} has host bits set; did you mean {wider}?"
                ) from None
            raise ConfigError(
                f"{ENV_TRUSTED_PROXIES}: {entry!r} is not an IP address or network "
                "(e.g. 10.0.0.1, 10.0.0.0/8 or fd00::/8)"
            ) from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    """The address, with IPv4-mapped IPv6 (::ffff:a.b.c.d) read as IPv4."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """The client's address: the peer itself unless the peer is trusted.

    `forwarded_for` holds every X-Forwarded-For header in arrival order. From a
    trusted peer the entries are walked right to left: trusted hops are
    skipped, the first untrusted address is the client, an entry that is not
    an IP address ends the walk at the last trusted hop, and when every entry
    is trusted the left-most one is the client.
    """
    if not trusted or peer is None:
        return peer
    peer_address = _address(peer)
    if peer_address is None or not _is_trusted(peer_address, trusted):
        return peer
    last_trusted_hop = peer
    entries = [entry.strip() for header in forwarded_for for entry in header.split(",")]
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            return last_trusted_hop
        if not _is_trusted(address, trusted):
            return str(address)
        last_trusted_hop = str(address)
    return last_trusted_hop
