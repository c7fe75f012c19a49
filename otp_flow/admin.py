from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import verification
from .models import BackupCodeDevice


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(admin.ModelAdmin):
    """Backup-code sets: how many are left, never the codes or their hashes."""

    list_display = [
        "user",
        "remaining",
        "created_at",
        "last_used_at",
        "throttling_failure_count",
    ]
    list_filter = [("user", admin.RelatedOnlyFieldListFilter), "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    # SECURITY: no inline of the codes: their hashes are never displayed.
    fields = readonly_fields = (
        "user",
        "name",
        "confirmed",
        "remaining",
        "created_at",
        "last_used_at",
        "throttling_failure_count",
        "throttling_failure_timestamp",
    )
    actions = ["reset_code_failures"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A set is shown to its user once, when made: an admin cannot make one.
        return False

    @admin.display(description=_("codes left"))
    def remaining(self, obj: BackupCodeDevice) -> int:
        return obj.remaining

    @admin.action(description=_("Reset code failures of the selected users (TOTP and backup)"))
    def reset_code_failures(
        self, request: HttpRequest, queryset: QuerySet[BackupCodeDevice]
    ) -> None:
        users = {device.user for device in queryset.select_related("user")}
        for user in users:
            verification.reset_failures(user)
        self.message_user(
            request,
            ngettext(
                "Reset code failures of %(count)d user.",
                "Reset code failures of %(count)d users.",
                len(users),
            )
            % {"count": len(users)},
        )


def _register_passkeys() -> None:
    """Passkeys in the admin, as django-otp-webauthn ships the page for them
    (it registers none itself); ``SudoAdminSite`` guards it like every
    django-otp device's."""
    from django.apps import apps

    if not apps.is_installed("django_otp_webauthn"):
        return
    from django_otp_webauthn.admin import WebAuthnCredentialAdmin, credential_model

    model = apps.get_model(credential_model)
    if not admin.site.is_registered(model):
        admin.site.register(model, WebAuthnCredentialAdmin)


_register_passkeys()
