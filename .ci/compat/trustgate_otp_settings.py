"""django-otp's own test settings (test/test_project/settings.py in its sdist)
with Trustgate installed as docs/quickstart.md says: TrustMiddleware in
OTPMiddleware's place, Trustgate's ModelBackend in Django's, its apps (and
SudoAdminConfig in django.contrib.admin's), its pages in the URLconf.
Nothing else of the test project changes."""

from test_project.settings import *  # noqa: F403
from test_project.settings import AUTHENTICATION_BACKENDS, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "django.contrib.admin"]
INSTALLED_APPS += ["trust", "otp_flow", "otp_flow.apps.SudoAdminConfig"]
MIDDLEWARE = [
    "trust.middleware.TrustMiddleware" if name == "django_otp.middleware.OTPMiddleware" else name
    for name in MIDDLEWARE
]
AUTHENTICATION_BACKENDS = [
    "trust.backends.ModelBackend" if name == "django.contrib.auth.backends.ModelBackend" else name
    for name in AUTHENTICATION_BACKENDS
]
ROOT_URLCONF = "trustgate_otp_urls"
