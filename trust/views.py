"""The devices page: see trusted devices, revoke one or all others; "this wasn't me"."""

from __future__ import annotations

from typing import Any

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import dbsc, flows
from .flows import events, not_me, risk_counts
from .http import render_page, sensitive_page, signed_in_required, wants_json
from .models import SecurityEvent, SignInAttempt, TrustedDevice
from .rules import policy

RECENT_EVENTS = 20
RECENT_SIGN_INS = 20


def device_json(device: TrustedDevice, current: int | None) -> dict[str, Any]:
    """A trusted device as the README's JSON table lists it (times in ISO 8601)."""
    return {
        "id": device.pk,
        "name": device.name,
        "current": device.pk == current,
        "trusted_at": device.created_at.isoformat(),
        "last_seen_at": device.last_seen_at.isoformat(),
        "last_ip": device.last_ip,
        "expires_at": device.expires_at.isoformat(),
        # Bound to a key the browser holds (DBSC, trust.dbsc).
        "bound": device.bound_key is not None,
    }


@require_GET
@signed_in_required
@sensitive_page
def device_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user  # signed_in_required
    devices = TrustedDevice.objects.active().filter(user=user)
    current = flows.current_device_id(request)
    if wants_json(request):
        return JsonResponse({"devices": [device_json(device, current) for device in devices]})
    events = SecurityEvent.objects.filter(user=user)[:RECENT_EVENTS]
    names = _factor_names(user)
    listed = list(devices)
    for device in listed:
        device.factor_name = names.get(device.otp_device, "")  # type: ignore[attr-defined]
    return render_page(
        request,
        "trust/devices.html",
        {
            "devices": listed,
            "current_device_id": current,
            "events": events,
            "sign_ins": SignInAttempt.objects.filter(user=user)[:RECENT_SIGN_INS],
        },
    )


def _factor_names(user: Any) -> dict[str, str]:
    """The user's second factors by persistent id: which one made each trust
    (an authenticator app, a passkey by its name)."""
    return {
        device.persistent_id: device.name
        for device in django_otp.devices_for_user(user, confirmed=None)
    }


@require_http_methods(["GET", "POST"])
@signed_in_required
@sensitive_page
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation step (the devices page's button leads here);
    POST: revoke. Scripts POST directly."""
    user: Any = request.user  # signed_in_required
    # SECURITY: object-level authorization: only the signed-in user's devices.
    device = TrustedDevice.objects.filter(revoked_at__isnull=True, user=user, pk=pk).first()
    if device is None:
        if wants_json(request):
            return JsonResponse({"error": "not_found"}, status=404)
        raise Http404
    is_current = device.pk == flows.current_device_id(request)
    if request.method == "GET":
        return render_page(
            request, "trust/revoke.html", {"device": device, "is_current": is_current}
        )
    done = flows.revoke(device, reason="revoked_by_user", request=request)
    if is_current:
        # This browser's own session was among those ended: sign it out here
        # too, so the response does not write the deleted session back.
        logout(request)
    if wants_json(request):
        return JsonResponse({"revoked": [device.pk] if done else [], "signed_out": is_current})
    if is_current:
        # Added after logout(): the session that held this browser's messages
        # is gone, so the word goes where messages go next (the cookie, with
        # Django's default storage; else the fresh anonymous session).
        messages.info(
            request,
            _(
                "You revoked this device: it was signed out, and asks for a code "
                "at its next sign-in."
            ),
        )
        return redirect(resolve_url(settings.LOGIN_URL))
    messages.success(
        request,
        _("%(device)s is no longer trusted and has been signed out.") % {"device": device.name},
    )
    return redirect("trust:devices")


@require_http_methods(["GET", "POST"])
@signed_in_required
@sensitive_page
def revoke_others(request: HttpRequest) -> HttpResponse:
    """GET: the confirmation step; POST: revoke every device but this one."""
    user: Any = request.user  # signed_in_required
    current = flows.current_device_id(request)
    if request.method == "GET":
        others = TrustedDevice.objects.active().filter(user=user)
        if current is not None:
            others = others.exclude(pk=current)
        return render_page(request, "trust/revoke_others.html", {"others": others.count()})
    with transaction.atomic():
        # The rows revoke_all revokes, locked first so the list names them.
        others = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True)
        if current is not None:
            others = others.exclude(pk=current)
        revoked = list(others.select_for_update().order_by("pk").values_list("pk", flat=True))
        count = flows.revoke_all(
            user, reason="revoked_by_user", request=request, except_device=current
        )
    if wants_json(request):
        return JsonResponse({"revoked": revoked, "signed_out": False})
    messages.success(
        request,
        ngettext(
            "Signed out and stopped trusting %(count)d other device.",
            "Signed out and stopped trusting %(count)d other devices.",
            count,
        )
        % {"count": count},
    )
    return redirect("trust:devices")


@require_http_methods(["GET", "POST"])
@sensitive_page
def not_me_link(request: HttpRequest, token: str) -> HttpResponse:
    """An alert's one-time link: GET asks; POST revokes the device and ends its
    sessions, or ends the session the alert is about."""
    claim = not_me.read_token(token)
    target = not_me.target_for(claim, request)
    if claim is None or target is None:
        return render_page(
            request, "trust/not_me.html", {"invalid": True}, status=400, entrance=True
        )
    context = {"target": target, "device": target.device}
    if request.method == "GET":
        return render_page(request, "trust/not_me.html", context, entrance=True)
    own_key = request.session.session_key
    is_current = request.user.is_authenticated and (
        (target.device is not None and target.device.pk == flows.current_device_id(request))
        or (target.session is not None and target.session.session_key == own_key)
    )
    # The sign-ins it reaches stop counting as the user's (each once, first:
    # ending the session deletes its index entry, which finds them).
    risk_counts.reported(claim.user_id, device=target.device, session=target.session)
    # Each step wins once: of two posts racing with one link, one acts.
    done = False
    if target.device is not None:
        done = flows.revoke(target.device, reason="reported_by_user", request=request)
    if target.session is not None:
        done = flows.end_reported_session(target.session, request=request) or done
    if not done:
        return render_page(
            request, "trust/not_me.html", {"invalid": True}, status=400, entrance=True
        )
    if is_current:
        logout(request)
    return render_page(request, "trust/not_me.html", {**context, "done": True}, entrance=True)


# --- Device Bound Session Credentials (trust.dbsc) ----------------------------------
# SECURITY (csrf_exempt, both): the browser itself posts these, with no CSRF
# token and no form. A forged cross-site POST can do nothing with them: each
# acts only on a JWT signed by the browser's key over a challenge this server
# signed for one device (registration also needs that device in the request's
# own SameSite=Lax trusted-device cookie, which a cross-site POST does not
# carry), and a page cannot set the Secure-Session-Response header on a
# cross-site request without a CORS preflight this site never grants.


@csrf_exempt
@require_POST
@sensitive_page
def dbsc_register(request: HttpRequest) -> HttpResponse:
    return _dbsc(request, dbsc.register)


@csrf_exempt
@require_POST
@sensitive_page
def dbsc_refresh(request: HttpRequest) -> HttpResponse:
    return _dbsc(request, dbsc.refresh)


def _dbsc(request: HttpRequest, step: Any) -> HttpResponse:
    try:
        return step(request)
    except dbsc.Refused as refused:
        device = refused.device
        if device is not None:
            # SECURITY: a proof for a bound device signed by another key:
            # someone without the browser's key tries to keep its bound cookie
            # alive, as with a copied cookie. Logged, not revoked: the sign-in
            # refuses the copy anyway, and a revocation here would let anyone
            # holding the session id end the user's trust.
            events.record_for_device(
                device.user,
                events.SUSPICIOUS_COOKIE,
                device,
                request=request,
                reasons=[policy.UNBOUND],
            )
        return JsonResponse({"error": refused.why}, status=400)
