from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrustConfig(AppConfig):
    name = "trust"
    verbose_name = _("Trusted devices")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import django_otp
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_delete, post_save, pre_save

        from . import checks, receivers, signals  # noqa: F401  (registers the checks)
        from .conf import conf
        from .flows import alerts, factor_changes

        conf.validate()  # a malformed setting stops the start-up, named

        user_logged_out.connect(
            receivers.forget_session, dispatch_uid="trust.forget_session_on_logout"
        )
        pre_save.connect(
            receivers.note_password_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="trust.note_password_change",
        )
        post_save.connect(
            receivers.revoke_on_password_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="trust.revoke_on_password_change",
        )
        # A second factor added or removed, by any path (trust.factor_changes).
        for device_model in django_otp.device_classes():
            label = device_model._meta.label
            pre_save.connect(
                factor_changes.note_change,
                sender=device_model,
                dispatch_uid=f"trust.factor_changes.note_change.{label}",
            )
            post_save.connect(
                factor_changes.after_save,
                sender=device_model,
                dispatch_uid=f"trust.factor_changes.after_save.{label}",
            )
            post_delete.connect(
                factor_changes.after_delete,
                sender=device_model,
                dispatch_uid=f"trust.factor_changes.after_delete.{label}",
            )

        # Security alert e-mails; they check TRUST_ALERT_EMAILS as they go.
        signals.security_event.connect(
            alerts.send_security_alert, dispatch_uid="trust.alerts.send_security_alert"
        )

        from .flows import password_throttle

        password_throttle.connect()

        from django.core.signals import setting_changed

        from .rules.risk import geo

        # The site's loaded geolocation data, read once per process (docs/geo.md).
        geo.use_directory(conf.GEOIP_DIR)
        setting_changed.connect(receivers.geoip_dir_changed, dispatch_uid="trust.geoip_dir")
        if conf.RISK_ENABLED:
            # The data (~1 s for the shipped file) loads in the background, off
            # the first sign-in and off start-up; a lookup meanwhile waits for it.
            import threading

            threading.Thread(target=geo.warm, name="trustgate-geo-warm", daemon=True).start()
