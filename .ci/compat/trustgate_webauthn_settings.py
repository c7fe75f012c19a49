"""django-otp-webauthn's own test settings (sandbox/settings.py in its sdist)
with Trustgate installed as docs/quickstart.md says: TrustMiddleware in
OTPMiddleware's place, Trustgate's ModelBackend in Django's (before
WebAuthnBackend), its apps (SudoAdminConfig in django.contrib.admin's), its
pages in the URLconf. The sandbox's relying party stays; nothing else changes
but the sign-out URL name, which the sandbox puts in a namespace (trust.W022
asks for it)."""

import trustgate_quickstart
from settings import *  # noqa: F403
from settings import AUTHENTICATION_BACKENDS, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = trustgate_quickstart.apps(INSTALLED_APPS, "django_otp.plugins.otp_email")
MIDDLEWARE = trustgate_quickstart.middleware(MIDDLEWARE)
AUTHENTICATION_BACKENDS = trustgate_quickstart.backends(AUTHENTICATION_BACKENDS)
ROOT_URLCONF = "trustgate_webauthn_urls"
TRUST_LOGOUT_URL_NAME = "auth:logout"
