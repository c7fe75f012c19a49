"""The client IP of a request, as far as the site's own proxies vouch for it.

django-ipware reads forwarded headers from anyone by default. Here they are
read only when the site says how many proxies it runs (``TRUST_PROXY_COUNT``)
and, if it names their networks (``TRUST_PROXY_NETWORKS``), only when the
connection itself comes from one of them. Otherwise ``REMOTE_ADDR`` it is.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from types import SimpleNamespace

from django.http import HttpRequest
from ipware import get_client_ip

from .conf import conf
from .rules.fingerprint import normalize_ip

FORWARDED_HEADER = "HTTP_X_FORWARDED_FOR"


@lru_cache(maxsize=32)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    # ``conf`` validated them: each one parses.
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _from_trusted_proxy(remote: str) -> bool:
    configured = conf.PROXY_NETWORKS
    if not configured:
        return True  # trust.W004 names it
    address = ipaddress.ip_address(remote)
    return any(address in network for network in _networks(configured))


def client_ip(request: HttpRequest) -> str:
    """The client's address in canonical form, or "" when there is none."""
    remote = normalize_ip(request.META.get("REMOTE_ADDR"))
    count = conf.PROXY_COUNT
    if not count or not remote or not _from_trusted_proxy(remote):
        return remote
    forwarded = request.META.get(FORWARDED_HEADER)
    if not isinstance(forwarded, str):
        return remote
    # The chain as the last proxy saw it: what it was told, then who told it.
    # Only the right-most hops are ever read, so a 10 KB header is cut first.
    hops = [hop.strip() for hop in forwarded.rsplit(",", count)[-count:]]
    chain = ", ".join([*hops, remote])
    meta = SimpleNamespace(META={FORWARDED_HEADER: chain})
    ip, _routable = get_client_ip(
        meta,  # type: ignore[arg-type]  # ipware reads nothing but .META
        proxy_count=count,
        request_header_order=[FORWARDED_HEADER],
        strict=False,
    )
    return normalize_ip(ip) or remote
