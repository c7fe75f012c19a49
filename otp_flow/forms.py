from __future__ import annotations

from django import forms

from .codes import MAX_INPUT_LENGTH, canonical_totp
from .conf import conf

INVALID_CODE = "That code didn't work. Check your authenticator and try again."


class CodeForm(forms.Form):
    """A code, and whether to trust this browser afterwards."""

    otp_token = forms.CharField(
        label="Code",
        max_length=MAX_INPUT_LENGTH,
        strip=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )
    trust_device = forms.BooleanField(label="Trust this device", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["trust_device"].initial = conf.TRUST_BY_DEFAULT

    def clean_otp_token(self) -> str:
        code = canonical_totp(self.cleaned_data.get("otp_token"))
        if code is None:
            raise forms.ValidationError(INVALID_CODE, code="malformed")
        return code
