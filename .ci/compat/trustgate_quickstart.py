"""Trustgate installed into another project's settings as docs/quickstart.md says.

One place for the three legs of ``make compat``: TrustMiddleware in
OTPMiddleware's place (or after AuthenticationMiddleware where there was
none), Trustgate's ModelBackend in Django's, its apps, and SudoAdminConfig
in the admin's place. Named ``trustgate_*``: this directory is on the
suites' path.
"""

from __future__ import annotations

TRUST_MIDDLEWARE = "trust.middleware.TrustMiddleware"
APPS = ["trust", "otp_flow", "django_otp", "django_otp.plugins.otp_totp"]
ADMINS = {"django.contrib.admin", "django.contrib.admin.apps.SimpleAdminConfig"}
SUDO_ADMIN = "otp_flow.apps.SudoAdminConfig"
OTP_MIDDLEWARE = "django_otp.middleware.OTPMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def apps(installed: list[str], *extra: str) -> list[str]:
    """``installed`` with the admin's config swapped and Trustgate's apps added."""
    swapped = [SUDO_ADMIN if app in ADMINS else app for app in installed]
    return swapped + [app for app in (*APPS, *extra) if app not in swapped]


def middleware(installed: list[str]) -> list[str]:
    """``installed`` with the gate in OTPMiddleware's place, or after authentication."""
    if TRUST_MIDDLEWARE in installed:
        return list(installed)
    if OTP_MIDDLEWARE in installed:
        return [TRUST_MIDDLEWARE if name == OTP_MIDDLEWARE else name for name in installed]
    at = installed.index(AUTH_MIDDLEWARE) + 1
    return [*installed[:at], TRUST_MIDDLEWARE, *installed[at:]]


def backends(installed: list[str]) -> list[str]:
    """``installed`` with Trustgate's ModelBackend (Django's behind the throttle) in Django's."""
    return ["trust.backends.ModelBackend" if b == MODEL_BACKEND else b for b in installed]
