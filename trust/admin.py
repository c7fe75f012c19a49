from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import flows
from .models import SecurityEvent, TrustedDevice


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
    ]
    list_filter = ["device_class", "revoked_at", "browser", "os"]
    search_fields = ["user__username"]
    # SECURITY: the secret's hash and the OTP device id are never shown.
    fields = [
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
    ]
    readonly_fields = fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected devices and end their sessions")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[TrustedDevice]) -> None:
        count = sum(
            flows.revoke(device, reason="revoked_by_admin")
            for device in queryset.filter(revoked_at__isnull=True)
        )
        self.message_user(request, f"Revoked {count} device(s).")


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "ip", "device_name"]
    list_filter = ["kind", "created_at"]
    search_fields = ["user__username", "ip", "device_name"]
    readonly_fields = ["user", "kind", "created_at", "ip", "device_name", "reasons"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
