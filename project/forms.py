"""The demo site's sign-up form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _


class SignupForm(UserCreationForm):  # type: ignore[type-arg]
    """Django's, with an optional e-mail address: where security alerts and
    password resets go."""

    email = forms.EmailField(
        required=False,
        max_length=254,
        label=_("E-mail address"),
        help_text=_("Optional. Security alerts and password resets are sent here."),
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        fields = ("username", "email")

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        user.email = self.cleaned_data.get("email", "")
        if commit:
            user.save()
        return user
