"""``{% passkey_sign_in %}``: the "Sign in with a passkey" button, for a login page.

Renders nothing unless django-otp-webauthn is installed and
``OTP_FLOW_PASSKEY_PASSWORDLESS`` is on.
"""

from __future__ import annotations

from typing import Any

from django import template

from otp_flow import passkeys
from otp_flow.conf import conf

register = template.Library()


@register.inclusion_tag("otp_flow/passkeys_sign_in.html", takes_context=True)
def passkey_sign_in(context: template.Context) -> dict[str, Any]:
    shown = passkeys.available() and conf.PASSKEY_PASSWORDLESS
    return {
        "shown": shown,
        "next": context.get("next", ""),
        "csrf_token": context.get("csrf_token"),
    }
