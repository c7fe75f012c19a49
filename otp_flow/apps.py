from __future__ import annotations

from django.apps import AppConfig


class OtpFlowConfig(AppConfig):
    name = "otp_flow"
    verbose_name = "Two-factor authentication"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
