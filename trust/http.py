"""HTTP helpers the two apps share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

FRAME_ANCESTORS_NONE = {"frame-ancestors": ["'none'"]}
STEP_UP_VIEW = "trust_step_up_view"


def step_up_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view as part of the step-up: a session owing a code may reach it.

    For views that take the second factor in another shape than the code page
    (a passkey's options and answer). SECURITY: only views that check a
    factor for the session's own user, and grant nothing else, belong here.
    """
    setattr(view, STEP_UP_VIEW, True)
    return view


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
        forbid_framing(request, response)
        # "same-origin", not "no-referrer": under no-referrer browsers send
        # "Origin: null" with the page's own form posts, and Django's CSRF
        # check refuses them. Other sites still never see the URL.
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def forbid_framing(request: HttpRequest, response: HttpResponse) -> None:
    """``frame-ancestors 'none'`` in the response's Content-Security-Policy.

    SECURITY (docs/security.md R18): a CSP middleware leaves a response's own header alone, so
    setting one here would replace the site's whole policy (its script-src,
    its style-src) on exactly the pages that hold secrets. When the site runs
    one, the directive goes into that policy instead, through the middleware's
    own per-response hook; otherwise this page sends it alone.
    """
    # Django >= 6.0's ContentSecurityPolicyMiddleware hangs its nonce on the
    # request (django.middleware.csp.get_nonce) and sends ``_csp_config``, when
    # a response has one, in place of SECURE_CSP (what @csp_override sets).
    site_policy = getattr(settings, "SECURE_CSP", None)
    if site_policy and getattr(request, "_csp_nonce", None) is not None:
        response._csp_config = {**site_policy, **FRAME_ANCESTORS_NONE}  # type: ignore[attr-defined]
    # django-csp's CSPMiddleware hangs ``request.csp_nonce`` and takes the
    # directives of ``_csp_replace`` over its policy's (what @csp_replace
    # sets; an update would append, and 'none' beside a source means nothing).
    elif getattr(settings, "CONTENT_SECURITY_POLICY", None) and hasattr(request, "csp_nonce"):
        response._csp_replace = FRAME_ANCESTORS_NONE  # type: ignore[attr-defined]
    else:
        response["Content-Security-Policy"] = "frame-ancestors 'none'"


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
