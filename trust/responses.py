"""What the gate answers in place of a view: the code page, the enrollment
page, a refused or ended sign-in, each as a page or as JSON (``trust.http.wants_json``).

The JSON bodies are the contract the README's "JSON, for scripts and
single-page apps" lists: ``step_up_required`` (with ``verify_url`` and
``reasons``), ``authentication_required`` and ``sign_in_refused``, all 401.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from .http import ENROLL_URL_NAME, VERIFY_URL_NAME, wants_json
from .state import SessionState

# The login page shows its "wrong username or password" error when it sees it.
REFUSED_PARAMETER = "refused"


def step_up(request: HttpRequest, state: SessionState, next_url: str | None = None) -> HttpResponse:
    """To the code page, and back to ``next_url`` (this request's URL) after it."""
    verify_url = reverse(VERIFY_URL_NAME)
    if wants_json(request):
        return JsonResponse(
            {"error": "step_up_required", "verify_url": verify_url, "reasons": state.reasons},
            status=401,
        )
    # ``next`` is checked again (safe_next) when the code page redirects.
    return redirect_to_login(next_url or request.get_full_path(), verify_url, "next")


def enroll(next_url: str) -> HttpResponse:
    """To the enrollment page, and back to ``next_url`` after it."""
    return redirect_to_login(next_url, reverse(ENROLL_URL_NAME), "next")


def signed_out(request: HttpRequest) -> HttpResponse:
    """A step-up left pending too long ended the session: sign in again."""
    if wants_json(request):
        return JsonResponse({"error": "authentication_required"}, status=401)
    return redirect_to_login(request.get_full_path())


def refused(request: HttpRequest) -> HttpResponse:
    """The risk model refused a sign-in whose password was right: answered
    as a failed sign-in (the session is already ended), never saying why."""
    if wants_json(request):
        return JsonResponse({"error": "sign_in_refused"}, status=401)
    return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?{REFUSED_PARAMETER}=1")


def carrying(signed_in: HttpResponse, replacement: HttpResponse) -> HttpResponse:
    """``replacement``, still telling the browser what the login view's answer did.

    SECURITY: the login view rotated the CSRF token (``auth.login``) and set
    it on its own answer (``LoginView`` is ``csrf_protect``ed), like any
    cookie of its own; dropping them would keep the pre-login token alive.
    The answer to a sign-in varies like the view's did and is never cached.
    """
    for name, morsel in signed_in.cookies.items():
        replacement.cookies[name] = morsel
    if signed_in.has_header("Vary"):
        patch_vary_headers(replacement, [v.strip() for v in signed_in["Vary"].split(",")])
    add_never_cache_headers(replacement)
    return replacement


def redirect_target(response: HttpResponse) -> str | None:
    """Where a redirecting answer sends the browser, if it redirects."""
    if 300 <= response.status_code < 400 and response.has_header("Location"):
        return response["Location"]
    return None
