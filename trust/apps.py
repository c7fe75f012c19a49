from __future__ import annotations

from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "trust"
    verbose_name = "Trusted devices"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from . import checks, receivers  # noqa: F401  (registers the checks)

        user_logged_out.connect(
            receivers.forget_session, dispatch_uid="trust.forget_session_on_logout"
        )
