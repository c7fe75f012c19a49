from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import admin_risk, flows
from .models import PasswordThrottle, SecurityEvent, SignInAttempt, TrustedDevice


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, Any]]:  # labels are lazy strings
        return [("active", _("Trusted")), ("revoked", _("Revoked")), ("expired", _("Expired"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[TrustedDevice]
    ) -> QuerySet[TrustedDevice]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.active(now)  # type: ignore[attr-defined]
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


class RecordAdmin(admin.ModelAdmin):
    """A record of what happened: shown, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TrustedDevice)
class TrustedDeviceAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "name",
        "created_at",
        "last_seen_at",
        "last_ip",
        "expires_at",
        "revoked_at",
        "revoked_reason",
    ]
    list_filter = [
        StatusFilter,
        ("user", admin.RelatedOnlyFieldListFilter),
        "device_class",
        "browser",
        "os",
        "revoked_reason",
    ]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "last_ip", "first_ip"]
    date_hierarchy = "created_at"
    # SECURITY: the secret's hash and the OTP device id are never shown.
    fields = readonly_fields = (
        "user",
        "browser",
        "os",
        "device_class",
        "user_agent",
        "network",
        "first_ip",
        "last_ip",
        "created_at",
        "last_seen_at",
        "expires_at",
        "revoked_at",
        "revoked_reason",
    )
    actions = ["revoke_selected", "revoke_all_of_their_users"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: TrustedDevice) -> None:
        # Deleting alone would leave the device's sessions alive: end them first.
        flows.revoke(obj, reason="revoked_by_admin")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TrustedDevice]) -> None:
        for device in queryset.filter(revoked_at__isnull=True):
            flows.revoke(device, reason="revoked_by_admin")
        super().delete_queryset(request, queryset)

    @admin.action(description=_("Revoke selected devices and end their sessions"))
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[TrustedDevice]) -> None:
        count = sum(
            flows.revoke(device, reason="revoked_by_admin")
            for device in queryset.filter(revoked_at__isnull=True).select_related("user")
        )
        self.message_user(
            request,
            ngettext(
                "Revoked %(count)d device and ended its sessions.",
                "Revoked %(count)d devices and ended their sessions.",
                count,
            )
            % {"count": count},
        )

    @admin.action(description=_("Revoke every device of the selected devices' users"))
    def revoke_all_of_their_users(
        self, request: HttpRequest, queryset: QuerySet[TrustedDevice]
    ) -> None:
        users = {device.user for device in queryset.select_related("user")}
        count = sum(flows.revoke_all(user, reason="revoked_by_admin") for user in users)
        # Two counts, two plurals: the users' count picks its own form.
        devices = ngettext("%(count)d device", "%(count)d devices", count) % {"count": count}
        self.message_user(
            request,
            ngettext(
                "Revoked %(devices)s of %(users)d user.",
                "Revoked %(devices)s of %(users)d users.",
                len(users),
            )
            % {"devices": devices, "users": len(users)},
        )


def _reasons(labels: list[str]) -> str:
    """Reasons as the devices page words them (``trust.reason_labels``); a
    site's own reason shows as its code."""
    return ", ".join(str(label) for label in labels)


@admin.register(SecurityEvent)
class SecurityEventAdmin(RecordAdmin):
    list_display = ["created_at", "user", "kind", "ip", "device_name", "reasons_in_words"]
    list_filter = ["kind", ("user", admin.RelatedOnlyFieldListFilter), "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "ip", "device_name"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "user",
        "kind",
        "created_at",
        "ip",
        "device_name",
        "reasons_in_words",
        "device",
    )

    @admin.display(description=_("reasons"))
    def reasons_in_words(self, obj: SecurityEvent) -> str:
        return _reasons(obj.reason_labels)


@admin.register(SignInAttempt)
class SignInAttemptAdmin(RecordAdmin):
    """The sign-in history: read-only (it is evidence)."""

    list_display = [
        "at",
        "user",
        "outcome",
        "risk_action",
        "ip",
        "country",
        "asn",
        "device_name",
        "reasons_in_words",
    ]
    list_filter = ["outcome", "risk_action", "shadow", "country", "at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "ip", "asn"]
    date_hierarchy = "at"
    fields = readonly_fields = (
        "user",
        "at",
        "outcome",
        "risk_action",
        "shadow",
        "ip",
        "network",
        "asn",
        "country",
        "device_name",
        "reasons_in_words",
        "score",
        "explanation",
    )

    @admin.display(description=_("reasons"))
    def reasons_in_words(self, obj: SignInAttempt) -> str:
        return _reasons(obj.reason_labels)

    def get_urls(self) -> list[URLPattern]:
        # The risk page (trust.admin_risk) before the model's own URLs: the
        # change view's "<path:object_id>/" would take "risk/" otherwise.
        # SECURITY: through admin_view, the staff check and the sudo admin's
        # rule for the sign-in history apply to it as to the changelist.
        name = f"{self.opts.app_label}_{self.opts.model_name}_risk"
        page = self.admin_site.admin_view(partial(admin_risk.risk_page, self))
        return [path("risk/", page, name=name), *super().get_urls()]

    @admin.display(description=_("why this score"))
    def explanation(self, obj: SignInAttempt) -> str:
        """The score's factors (their product is the score) and, per level,
        the site's term and the user's share: what support staff read to
        explain a prompt. Escaped: every value is formatted, none trusted."""
        stored = obj.contributions if isinstance(obj.contributions, dict) else {}
        factors = _rows(stored.get("factors"), 2)
        if not factors:
            return "-"
        head = format_html("<tr><th>{}</th><th>{}</th></tr>", _("factor"), _("times the score"))
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", ((n, _number(v)) for n, v in factors)
        )
        level_head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("level"),
            _("share of the site's sign-ins"),
            _("share of the user's sign-ins"),
        )
        level_rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((n, _number(site), _number(mine)) for n, site, mine in _rows(stored.get("levels"), 3)),
        )
        return format_html(
            "<table>{}{}</table><table>{}{}</table>", head, rows, level_head, level_rows
        )


def _rows(stored: Any, width: int) -> list[list[Any]]:
    """The stored rows of exactly ``width`` items, the first a name (anything
    else is skipped: the column is JSON, and the page must not fail on it)."""
    if not isinstance(stored, list):
        return []
    return [
        row
        for row in stored
        if isinstance(row, list) and len(row) == width and isinstance(row[0], str)
    ]


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "-"


@admin.register(PasswordThrottle)
class PasswordThrottleAdmin(RecordAdmin):
    """Who is being guessed at, and from where; lifting forgets the failures."""

    list_display = ["scope", "subject", "failures", "last_failure_at", "burst_at"]
    list_filter = ["scope", "last_failure_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "key"]
    # SECURITY: an account's key is a keyed hash of what was typed; the
    # typed text itself is never stored (it is sometimes a password).
    fields = readonly_fields = (
        "scope",
        "user",
        "failures",
        "last_failure_at",
        "burst_at",
        "burst_reported_at",
    )
    actions = ["lift_selected"]

    @admin.display(description=_("account or address"))
    def subject(self, obj: PasswordThrottle) -> str:
        if obj.scope == PasswordThrottle.ADDRESS:
            return obj.key
        return str(obj.user) if obj.user is not None else str(_("(no such account)"))

    @admin.action(
        description=_("Lift the selected throttles (forget their failures)"),
        permissions=["delete"],
    )
    def lift_selected(self, request: HttpRequest, queryset: QuerySet[PasswordThrottle]) -> None:
        count, _by_model = queryset.delete()
        self.message_user(
            request,
            ngettext(
                "Lifted %(count)d password throttle.",
                "Lifted %(count)d password throttles.",
                count,
            )
            % {"count": count},
        )


def _register_email_code_devices() -> None:
    """django-otp's e-mail devices, as what they are here.

    Trustgate keeps one unconfirmed ``EmailDevice`` per user without 2FA to
    e-mail the code a risky sign-in owes (``trust.flows.email_codes``): no
    second factor. django-otp's own admin lists them beside authenticators,
    with a "confirmed" column; this one says what they are and changes nothing.
    """
    from django.apps import apps

    if not apps.is_installed("django_otp.plugins.otp_email"):
        return
    from django_otp.plugins.otp_email.models import EmailDevice

    if admin.site.is_registered(EmailDevice):
        admin.site.unregister(EmailDevice)
    admin.site.register(EmailDevice, EmailCodeDeviceAdmin)


class EmailCodeDeviceAdmin(RecordAdmin):
    list_display = ["user", "purpose", "email", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "email"]
    fields = readonly_fields = ("user", "purpose", "email", "created_at", "last_used_at")

    @admin.display(description=_("what it is"))
    def purpose(self, obj: Any) -> str:
        if obj.confirmed:
            return str(_("a second factor: codes by e-mail"))
        return str(
            _(
                "e-mailed sign-in codes for a user without two-factor "
                "authentication (not a second factor)"
            )
        )


_register_email_code_devices()
