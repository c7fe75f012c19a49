from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = _("Trustgate demo")

    def ready(self) -> None:
        from trust.signals import security_event

        from . import alerts

        security_event.connect(
            alerts.send_security_alert, dispatch_uid="project.alerts.send_security_alert"
        )
