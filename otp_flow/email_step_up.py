"""The code page for a user without 2FA whose sign-in owes an e-mailed code.

Same page, same form, same rules as an authenticator's code (throttle,
lock-out, one use: ``verification.verify_email_code``); no "trust this
device" (trust is made by a second factor, and this is none) and no backup
codes. Passing it lets the session go on password-only.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.debug import sensitive_variables

from trust import flows, reason_labels
from trust.flows import events
from trust.http import render_page, wants_json
from trust.state import SessionState

from . import answers, verification
from .forms import CodeForm, posted_code
from .pages import logout_url, reject_code


def owed(request: HttpRequest) -> bool:
    state = SessionState.of(request)
    return state is not None and state.pending and state.email_code


@sensitive_variables()
def verify(request: HttpRequest, next_url: str) -> HttpResponse:
    as_json = wants_json(request)
    form = CodeForm(posted_code(request))
    if request.method == "POST":
        outcome = verification.verify_email_code(request.user, form.code)
        if outcome.ok:
            events.record(request.user, events.STEP_UP_PASSED, request=request)
            flows.email_code_passed(request)
            # SECURITY: next was checked against this host when read.
            return answers.verified(next_url) if as_json else redirect(next_url)
        reject_code(request, form, outcome)
        if as_json:
            return answers.refused(outcome)
    return render_page(
        request,
        "otp_flow/verify.html",
        {
            "form": form,
            "next": next_url,
            "pending": True,
            "by_email": True,
            "logout_url": logout_url(),
            "passkey": False,
            "reasons": reason_labels.labels(request.trust.reasons),  # type: ignore[attr-defined]
        },
        entrance=True,
    )
