"""The devices page: see trusted devices, revoke one or all others; "this wasn't me"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import flows
from .flows import not_me
from .http import sensitive_page
from .models import SecurityEvent, SignInAttempt, TrustedDevice

RECENT_EVENTS = 20
RECENT_SIGN_INS = 20


@require_GET
@login_required
@sensitive_page
def device_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user  # login_required
    devices = TrustedDevice.objects.active().filter(user=user)
    current = flows.current_device_id(request)
    events = SecurityEvent.objects.filter(user=user)[:RECENT_EVENTS]
    sign_ins = SignInAttempt.objects.filter(user=user)[:RECENT_SIGN_INS]
    return render(
        request,
        "trust/devices.html",
        {
            "devices": devices,
            "current_device_id": current,
            "events": events,
            "sign_ins": sign_ins,
        },
    )


@require_POST
@login_required
@sensitive_page
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # SECURITY: object-level authorization: only the signed-in user's devices.
    device = get_object_or_404(
        TrustedDevice.objects.filter(revoked_at__isnull=True), pk=pk, user=request.user
    )
    is_current = device.pk == flows.current_device_id(request)
    flows.revoke(device, reason="revoked_by_user", request=request)
    if is_current:
        # This browser's own session was among those ended: sign it out here
        # too, so the response does not write the deleted session back.
        logout(request)
        return redirect(resolve_url(settings.LOGIN_URL))
    messages.success(
        request,
        _("%(device)s is no longer trusted and has been signed out.") % {"device": device.name},
    )
    return redirect("trust:devices")


@require_POST
@login_required
@sensitive_page
def revoke_others(request: HttpRequest) -> HttpResponse:
    count = flows.revoke_all(
        request.user,
        reason="revoked_by_user",
        request=request,
        except_device=flows.current_device_id(request),
    )
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
    target = not_me.target_for(not_me.read_token(token), request)
    if target is None:
        return render(request, "trust/not_me.html", {"invalid": True}, status=400)
    context = {"target": target, "device": target.device}
    if request.method == "GET":
        return render(request, "trust/not_me.html", context)
    own_key = request.session.session_key
    is_current = request.user.is_authenticated and (
        (target.device is not None and target.device.pk == flows.current_device_id(request))
        or (target.session is not None and target.session.session_key == own_key)
    )
    # Each step wins once: of two posts racing with one link, one acts.
    done = False
    if target.device is not None:
        done = flows.revoke(target.device, reason="reported_by_user", request=request)
    if target.session is not None:
        done = flows.end_reported_session(target.session, request=request) or done
    if not done:
        return render(request, "trust/not_me.html", {"invalid": True}, status=400)
    if is_current:
        logout(request)
    return render(request, "trust/not_me.html", {**context, "done": True})
