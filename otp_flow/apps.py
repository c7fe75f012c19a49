from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OtpFlowConfig(AppConfig):
    name = "otp_flow"
    verbose_name = _("Two-factor authentication")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
