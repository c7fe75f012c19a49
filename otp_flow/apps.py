from __future__ import annotations

from django.apps import AppConfig

# The module, not the class: Django picks an app's default config among the
# AppConfig classes named in its apps.py, and AdminConfig says default=True.
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class OtpFlowConfig(AppConfig):
    name = "otp_flow"
    verbose_name = _("Two-factor authentication")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
        from .conf import conf

        conf.validate()  # a malformed setting stops the start-up, named


class SudoAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with ``admin.site`` a ``SudoAdminSite``.

    Put ``"otp_flow.apps.SudoAdminConfig"`` in ``INSTALLED_APPS`` in place of
    ``"django.contrib.admin"`` (Django's documented way to replace the
    default admin site); ``@admin.register`` and ``admin.site.urls`` stay.
    """

    default = False  # otp_flow's own config stays the default of this module
    default_site = "otp_flow.admin_site.SudoAdminSite"
