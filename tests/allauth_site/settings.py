"""The demo's settings with django-allauth's account app doing sign-in and sign-out.

As allauth's quickstart has it: its apps, its middleware, its authentication
backend, its URLs under accounts/. Nothing Trustgate-specific is added:
TRUST_LOGOUT_URL_NAME is left unset on purpose.
"""

from project.settings import *  # noqa: F403
from project.settings import DATABASES, INSTALLED_APPS, MIDDLEWARE, TEMPLATES

# Not the demo's own app, templates or API: a site of allauth's and Trustgate's pages.
_NOT_HERE = {"project", "rest_framework", "rest_framework.authtoken"}
INSTALLED_APPS = [
    *(app for app in INSTALLED_APPS if app not in _NOT_HERE),
    "allauth",
    "allauth.account",
]
TEMPLATES = [{**TEMPLATES[0], "DIRS": []}]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "trust.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ROOT_URLCONF = "tests.allauth_site.urls"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_EMAIL_VERIFICATION = "none"

# A test database of its own: the main suite's may exist at the same time.
_default = DATABASES["default"]
_default["TEST"] = {"NAME": f"test_{_default['NAME']}_allauth".replace("/", "_")}
