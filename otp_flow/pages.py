"""What the pages of ``otp_flow`` share: a posted code checked and answered,
the setup page, and the one page that ever shows backup codes.

The views (``views``, ``manage_views``, ``passkey_views``) stay thin on these;
the rules live in ``verification``, ``lifecycle`` and trust's flows.
"""

from __future__ import annotations

from base64 import b32encode
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from trust.conf import conf as trust_conf
from trust.flows import events
from trust.http import render_page

from . import answers, codes, lifecycle, passkeys, verification
from .forms import INVALID_BACKUP_CODE, INVALID_CODE, CodeForm
from .qr import qr_svg

BLOCKED = _(
    "Too many wrong codes. Code entry is locked for this account: "
    "contact the site's administrators."
)


def wait_message(until: datetime) -> str:
    seconds = answers.seconds_until(until)
    return ngettext(
        "Too many attempts. Wait %(seconds)d second before trying again.",
        "Too many attempts. Wait %(seconds)d seconds before trying again.",
        seconds,
    ) % {"seconds": seconds}


def reject_code(request: HttpRequest, form: CodeForm, outcome: verification.Outcome) -> None:
    # Read before the field's errors go (form.code is None for a malformed code).
    backup_shaped = form.code is not None and form.code.kind == codes.BACKUP
    form.errors.pop("otp_token", None)
    if form.is_bound:
        # SECURITY: a refused code (perhaps a right one, refused while
        # throttled) is never written back into the page.
        data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict
        data.pop("otp_token", None)
        form.data = data
    if outcome.blocked:
        form.add_error(None, BLOCKED)
    elif outcome.locked_until is not None:
        form.add_error(None, wait_message(outcome.locked_until))
    else:
        form.add_error(None, INVALID_BACKUP_CODE if backup_shaped else INVALID_CODE)
    if outcome.locked_until is None and not outcome.blocked:
        # Only attempts that were checked (or charged) are logged: those the
        # throttle turned away cost nothing, and logging each would let
        # someone holding the password flood the user's security log.
        events.record(request.user, events.STEP_UP_FAILED, request=request)


def posted(request: HttpRequest) -> Any:
    # An empty POST is still a submission (a missing code), not a blank form.
    return request.POST if request.method == "POST" else None


def check_code(request: HttpRequest, form: CodeForm) -> verification.Outcome:
    """Check the form's code (TOTP or backup) against the session's user.

    ``absent``, with no event: the user has no second factor at all any more.
    """
    outcome = verification.verify(request.user, form.code)
    if outcome.absent:
        if not verification.has_two_factor(request.user):
            return outcome
        # Another kind of factor (a passkey alone): a posted code is wrong.
        outcome = verification.Outcome()
    if outcome.ok:
        events.record(request.user, events.STEP_UP_PASSED, request=request)
    else:
        reject_code(request, form, outcome)
    return outcome


def record_backup_code_use(request: HttpRequest, outcome: verification.Outcome) -> None:
    """Log (and alert) a backup code's use, once the session it opened is final:
    the alert's "this wasn't me" link ends that session."""
    if outcome.ok and outcome.kind == codes.BACKUP:
        events.record(request.user, events.BACKUP_CODE_USED, request=request)


def logout_url() -> str | None:
    """The site's sign-out view, as trust's gate knows it (TRUST_LOGOUT_URL_NAME)."""
    try:
        return reverse(trust_conf.LOGOUT_URL_NAME)
    except NoReverseMatch:
        return None


@sensitive_variables()
def new_authenticator_attempt(
    request: HttpRequest, form: CodeForm
) -> tuple[verification.TOTPDevice, bool]:
    """The session's pending authenticator, and whether a posted code confirmed it."""
    device = lifecycle.new_authenticator(request)
    if request.method != "POST":
        return device, False
    lifecycle.save_new_authenticator(device)
    outcome = verification.verify_new_totp(request.user, totp_or_none(form), device)
    if not outcome.ok:
        reject_code(request, form, outcome)
    return device, outcome.ok


def totp_or_none(form: CodeForm) -> str | None:
    code = form.code
    return code.value if code is not None else None


@sensitive_variables()
def setup_page(request: HttpRequest, form: CodeForm, device: Any, template: str) -> HttpResponse:
    secret = b32encode(device.bin_key).decode("ascii")
    uri = device.config_url
    return render_page(
        request,
        template,
        {
            "form": form,
            "qr_svg": qr_svg(uri),
            "otpauth_uri": uri,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "passkeys_available": passkeys.available(),
        },
    )


@sensitive_variables("fresh", "shown", "codes_text")
def show_codes(request: HttpRequest, fresh: list[str], *, enrolled: bool) -> HttpResponse:
    """The one page that ever shows these codes: the response to the POST that made them."""
    shown = [codes.format_backup_code(code) for code in fresh]
    return render_page(
        request,
        "otp_flow/backup_codes_new.html",
        {
            "codes": shown,
            "codes_text": "\n".join(shown) + "\n",
            "enrolled": enrolled,
            "continue_url": resolve_url(settings.LOGIN_REDIRECT_URL),
        },
    )


def settings_context(request: HttpRequest) -> dict[str, Any]:
    device = verification.backup_device(request.user)
    return {
        "backup_codes_left": device.remaining if device is not None else 0,
        "passkeys_available": passkeys.available(),
    }


def disable_form(data: Any = None) -> CodeForm:
    """The code that confirms turning 2FA off: not autofocused, so nobody
    types a code into a destructive form because the cursor was there."""
    form = CodeForm(data, backup=True)
    form.fields["otp_token"].widget.attrs.pop("autofocus", None)
    return form
