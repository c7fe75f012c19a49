"""Addresses and networks the site refuses sign-ins from (a CIDR list).

Pure. The list is parsed once (a malformed entry is a configuration error,
raised then); a lookup is a binary search over merged ranges and never
raises, whatever the address text.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable

from ..fingerprint import parse_ip


class BlockList:
    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for cidr in cidrs:
            # strict=False: "203.0.113.7/24" means the /24 it is in.
            network = ipaddress.ip_network(str(cidr).strip(), strict=False)
            if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
                mapped = network.network_address.ipv4_mapped
                if mapped is not None:  # ::ffff:a.b.c.d/120 is an IPv4 network
                    network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
            ranges[network.version].append(
                (int(network.network_address), int(network.broadcast_address))
            )
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        for version, spans in ranges.items():
            merged: list[tuple[int, int]] = []
            for start, end in sorted(spans):
                if merged and start <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            self._starts[version] = [s for s, _ in merged]
            self._ends[version] = [e for _, e in merged]

    def __bool__(self) -> bool:
        return any(self._starts.values())

    def __contains__(self, ip: object) -> bool:
        if not self:
            return False  # the default: no list, nothing to parse
        address = parse_ip(ip if isinstance(ip, str) else None)
        if address is None:
            return False
        starts, ends = self._starts[address.version], self._ends[address.version]
        i = bisect.bisect_right(starts, int(address)) - 1
        return i >= 0 and int(address) <= ends[i]
