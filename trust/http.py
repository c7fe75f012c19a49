"""HTTP helpers the two apps share."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

FRAME_ANCESTORS_NONE = {"frame-ancestors": ["'none'"]}
STEP_UP_VIEW = "trust_step_up_view"
# The pages owing a code or an enrollment leads to, by URL name: trust names
# otp_flow's pages and never imports otp_flow.
VERIFY_URL_NAME = "otp_flow:verify"
ENROLL_URL_NAME = "otp_flow:setup"
# What a browser sends when it loads a page (Fetch Metadata), whatever its
# Accept header says: a navigation, top level or in a frame.
_NAVIGATION_MODES = frozenset({"navigate", "nested-navigate"})
_DOCUMENT_DESTS = frozenset({"document", "iframe", "frame"})
# The JSON bodies here are a code, a flag and a URL, or a WebAuthn answer.
MAX_JSON_BODY = 64 * 1024


def wants_json(request: HttpRequest) -> bool:
    """Does this request get JSON instead of a page? The one place that says.

    The README's "JSON, for scripts and single-page apps": a request that
    asks for JSON (``Accept`` prefers ``application/json`` over
    ``text/html``, or its body is ``application/json``) or is a script's
    request (``Sec-Fetch-Dest: empty``, ``X-Requested-With: XMLHttpRequest``) gets
    JSON; a browser navigation (``Sec-Fetch-Mode: navigate``,
    ``Sec-Fetch-Dest: document``) never does, whatever else it sends.
    ``fetch()`` and axios send ``Accept: */*`` (or list ``*/*`` last): their
    ``Sec-Fetch-Dest: empty`` is what tells them apart from a page load.
    """
    headers = request.headers
    mode = headers.get("Sec-Fetch-Mode", "").strip().lower()
    dest = headers.get("Sec-Fetch-Dest", "").strip().lower()
    if mode in _NAVIGATION_MODES or dest in _DOCUMENT_DESTS:
        return False
    if request.content_type == "application/json" or dest == "empty":
        return True
    if headers.get("X-Requested-With", "").strip().lower() == "xmlhttprequest":
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def json_object(request: HttpRequest, *, max_bytes: int = MAX_JSON_BODY) -> dict[str, Any] | None:
    """The request's ``application/json`` body if it is one well-formed object.

    ``None`` for anything else: another content type, a body over
    ``max_bytes`` (never read), not UTF-8, not JSON, nested too deep, a
    repeated key, ``NaN``, or a value that is not an object.
    """
    if request.content_type != "application/json":
        return None
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if declared > max_bytes:
        return None
    raw = request.body
    if len(raw) > max_bytes:
        return None
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_not_json
        )
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(value, dict) or not _shallow(value):
        return None
    return value


# Nesting a client may send: the contract's bodies are flat objects. Checked
# after parsing, since how deep json.loads goes before a RecursionError
# depends on the Python version (3.13 parses 5,000 levels).
MAX_JSON_DEPTH = 16


def _shallow(value: Any) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return True


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # SECURITY: one value per field, as for a form: {"otp_token": "1",
    # "otp_token": "2"} is malformed, not "the last one" (parsers disagree).
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ValueError("repeated key")
    return value


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def signed_in_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's ``login_required``, but a script gets ``401`` JSON, not a redirect."""
    as_page = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated and wants_json(request):
            return JsonResponse({"error": "authentication_required"}, status=401)
        return as_page(request, *args, **kwargs)

    return wrapper


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


def page_layout(*, entrance: bool = False) -> str:
    """The layout the apps' pages extend, through ``trustgate/base.html``.

    With django-allauth's account app installed, allauth's own layout bases
    (which a site overrides to dress allauth's pages), so both halves of a
    sign-in look like one site: the code page is an entrance page, the others
    manage an account. Otherwise Trustgate's plain ``trustgate/layout.html``.
    A site that overrides ``trustgate/base.html`` chooses its own (docs/templates.md).
    """
    if apps.is_installed("allauth.account"):
        return "account/base_entrance.html" if entrance else "account/base_manage.html"
    return "trustgate/layout.html"


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int | None = None,
    entrance: bool = False,
) -> HttpResponse:
    """``render()`` for the apps' pages: the context names the layout to extend."""
    context = {"trustgate_layout": page_layout(entrance=entrance), **(context or {})}
    return render(request, template, context, status=status)
