"""The demo's settings with more apps that hold credentials, and their admin pages."""

from project.settings import *  # noqa: F403
from project.settings import DATABASES, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "knox",
    "rest_framework_simplejwt.token_blacklist",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]

# A test database of its own: the main suite's may exist at the same time.
_default = DATABASES["default"]
_default["TEST"] = {"NAME": f"test_{_default['NAME']}_credential_apps".replace("/", "_")}
