"""HTTP helpers the two apps share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme


def sensitive_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Never cached, never framed, never leaking its URL as a referrer.

    For every page that shows or takes a secret, a code or trust decisions
    (docs/security.md R17, R18).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)  # includes no-store
        response["X-Frame-Options"] = "DENY"
        response["Content-Security-Policy"] = "frame-ancestors 'none'"
        # "same-origin", not "no-referrer": under no-referrer browsers send
        # "Origin: null" with the page's own form posts, and Django's CSRF
        # check refuses them. Other sites still never see the URL.
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` if it stays on this site, else ``default`` (docs/security.md R6)."""
    if not candidate or not isinstance(candidate, str):
        return default
    candidate = candidate.strip()
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and not candidate.startswith(("//", "\\")):
        return candidate
    return default
