from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy as _

from trust.http import json_object

from .codes import MAX_INPUT_LENGTH, Code, canonical_code
from .conf import conf

INVALID_CODE = _("That code didn't work. Check your authenticator and try again.")
# SECURITY: said of any refused code shaped like a backup code. Used codes are
# deleted, so this tells nobody whether the code was ever valid: only what
# the user needs (each works once) and what to do instead.
INVALID_BACKUP_CODE = _(
    "That backup code didn't work. Each backup code works once: use one you "
    "have not used yet, or a code from your authenticator app."
)


class CodeForm(forms.Form):
    """A code (TOTP, or a backup code if ``backup``), and whether to trust this browser."""

    otp_token = forms.CharField(
        label=_("Code"),
        max_length=MAX_INPUT_LENGTH,
        strip=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )
    trust_device = forms.BooleanField(label=_("Trust this device"), required=False)

    def __init__(self, *args: Any, backup: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backup = backup
        self.fields["trust_device"].initial = conf.TRUST_BY_DEFAULT
        if not backup:
            self.fields["otp_token"].widget.attrs["inputmode"] = "numeric"

    def clean_otp_token(self) -> Code:
        # SECURITY: one candidate per request: a repeated field
        # (otp_token=1&otp_token=2) is malformed, not "the last one".
        getlist = getattr(self.data, "getlist", None)
        if getlist is not None and len(getlist(self.add_prefix("otp_token"))) != 1:
            raise forms.ValidationError(INVALID_CODE, code="malformed")
        code = canonical_code(self.cleaned_data.get("otp_token"), backup=self.backup)
        if code is None:
            raise forms.ValidationError(INVALID_CODE, code="malformed")
        return code

    @property
    def code(self) -> Code | None:
        """The canonical code if the form is valid, else ``None`` (malformed)."""
        return self.cleaned_data["otp_token"] if self.is_valid() else None


def posted_code(request: HttpRequest) -> QueryDict | None:
    """The code page's submission: its form fields, or the same fields as JSON.

    A JSON body (``{"otp_token": "...", "trust_device": true, "next": ...}``)
    becomes the same form data, so both shapes go through one form and one
    check. SECURITY: only a string is a code (CharField would turn 123456 or
    ``["..."]`` into text); anything else, or a body that is not one
    well-formed object, is a missing code: malformed, it costs an attempt.
    """
    if request.method != "POST":
        return None
    if request.content_type != "application/json":
        return request.POST  # an empty POST is still a submission (a missing code)
    body = json_object(request) or {}
    data = QueryDict(mutable=True)
    for field in ("otp_token", "next"):
        if isinstance(body.get(field), str):
            data[field] = body[field]
    if body.get("trust_device") is True:
        data["trust_device"] = "on"
    return data
