"""The admin in sudo mode: a session that entered no code lately changes no credentials.

A staff session let in by a trusted device entered no code (password-only,
AAL1, docs/security.md R21). In a plain admin it could add an authenticator
with a key of its choosing, delete the user's own, set a new password, and
hold the account for good (R38: the admin is no side door). ``SudoAdminSite``
sends a session without a code entered within ``OTP_FLOW_SUDO_TIMEOUT`` to
the code page first, and back (``otp_flow.sudo``, as Trustgate's own
sensitive pages do), on:

- every page, GET included, of a model that holds or tells about
  credentials: every django-otp device model, the user model (its password
  form too), trusted devices, their sessions and the security log, plus the
  models named in ``OTP_FLOW_ADMIN_SUDO_MODELS``; also of a model whose
  admin shows one of these inline;
- every changelist action, whatever the model: an action may do anything;
- the admin's own password change.

A user with no second factor has no code to give and goes on. Views a site
adds to the admin outside a model's URLs take ``otp_flow.sudo.sudo_required``.

Turn it on with ``"otp_flow.apps.SudoAdminConfig"`` in ``INSTALLED_APPS`` in
place of ``"django.contrib.admin"``: ``admin.site`` (and so every
``@admin.register``) is then this site. A site with an admin site class of
its own puts ``SudoAdminSite`` first among its bases.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import django_otp
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse

from trust.models import (
    SecurityEvent,
    SignInAttempt,
    SupersededToken,
    TrustedDevice,
    TrustedSession,
)

from . import sudo
from .conf import conf
from .models import BackupCode

ViewT = TypeVar("ViewT", bound=Callable[..., HttpResponseBase])


def extra_sudo_labels() -> list[str]:
    """``OTP_FLOW_ADMIN_SUDO_MODELS`` if well formed (check otp_flow.E003 says if not)."""
    labels = conf.ADMIN_SUDO_MODELS
    if isinstance(labels, str) or not isinstance(labels, list | tuple):
        return []
    return [label for label in labels if isinstance(label, str)]


def sudo_models() -> tuple[type[Model], ...]:
    """The models whose admin pages need a fresh code (their subclasses and proxies too)."""
    models: list[type[Model]] = [
        *django_otp.device_classes(),
        BackupCode,
        get_user_model(),
        TrustedDevice,
        TrustedSession,
        SupersededToken,
        SecurityEvent,
        SignInAttempt,
    ]
    for label in extra_sudo_labels():
        try:
            models.append(apps.get_model(label))
        except (LookupError, ValueError):
            continue  # reported by check otp_flow.E003
    return tuple(models)


class SudoAdminSite(admin.AdminSite):
    """An ``AdminSite`` that asks for a fresh code before credentials change."""

    def admin_view(self, view: ViewT, cacheable: bool = False) -> ViewT:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if self.needs_fresh_code(request) and not sudo.is_fresh(request):
                return sudo.ask_for_code(request)
            return view(request, *args, **kwargs)

        # Inside: the staff check (and CSRF) run first, so a signed-out visitor
        # is sent to the admin's login, not to the code page.
        return super().admin_view(cast(ViewT, guarded), cacheable)

    def password_change(  # type: ignore[override]  # a redirect, not only a page
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # SECURITY: a new password is a sensitive action (docs/security.md R20).
        if not sudo.is_fresh(request):
            return sudo.ask_for_code(request)
        return super().password_change(request, extra_context)

    def needs_fresh_code(self, request: HttpRequest) -> bool:
        """Does this request of an admin page need a code entered lately?"""
        root = reverse("admin:index", current_app=self.name)
        if not request.path.startswith(root):
            # SECURITY: served away from where the site is mounted (a second
            # mount, a view of the site's own wrapped with admin_view): which
            # model it touches is unknown, so it asks. Fail closed.
            return True
        found = self._model_admin_of(request.path[len(root) :])
        if found is None:
            return False
        model_admin, at_changelist = found
        protected = sudo_models()
        models = [model_admin.model, *(i.model for i in model_admin.get_inlines(request, None))]
        if any(issubclass(model, protected) for model in models):
            return True
        # SECURITY: an action does whatever its code does (a site's own may
        # reset a user's 2FA): each one run needs a fresh code.
        return at_changelist and request.method == "POST" and "action" in request.POST

    def _model_admin_of(self, path: str) -> tuple[admin.ModelAdmin, bool] | None:
        """The model admin whose URLs (``<app_label>/<model_name>/...`` below
        the site's root) ``path`` is under, whatever view serves it, and
        whether it is the changelist itself."""
        app_label, _, rest = path.partition("/")
        model_name, slash, below = rest.partition("/")
        if not slash:
            return None
        for model, model_admin in self._registry.items():
            if (model._meta.app_label, model._meta.model_name) == (app_label, model_name):
                return model_admin, below == ""
        return None
