"""django-otp's own test settings (test/test_project/settings.py in its sdist)
with Trustgate installed as docs/quickstart.md says: TrustMiddleware in
OTPMiddleware's place, Trustgate's ModelBackend in Django's, its apps (and
SudoAdminConfig in django.contrib.admin's), its pages in the URLconf.
Nothing else of the test project changes."""

import trustgate_quickstart
from test_project.settings import *  # noqa: F403
from test_project.settings import AUTHENTICATION_BACKENDS, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = trustgate_quickstart.apps(INSTALLED_APPS)
MIDDLEWARE = trustgate_quickstart.middleware(MIDDLEWARE)
AUTHENTICATION_BACKENDS = trustgate_quickstart.backends(AUTHENTICATION_BACKENDS)
ROOT_URLCONF = "trustgate_otp_urls"
