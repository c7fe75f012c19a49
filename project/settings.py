"""Settings for the Trustgate demo site.

Everything a deployment changes comes from the environment:

- ``DATABASE_URL``: ``sqlite:///path`` (default: ``db.sqlite3`` here) or
  ``postgres://user@host:port/name``.
- ``REDIS_URL``: a Redis cache (optional; local memory otherwise).
- ``DJANGO_SECRET_KEY``: the signing key. Without it, a random key is made
  once per install and kept in ``DJANGO_SECRET_KEY_FILE`` (default
  ``.django-secret-key`` here, ignored by git, readable by its owner only).
- ``DJANGO_DEBUG`` (``1``/``0``), ``DJANGO_ALLOWED_HOSTS`` (comma-separated),
  ``DJANGO_HTTPS`` (``1`` behind TLS: secure cookies, HSTS).
- ``TRUST_PROXY_COUNT`` and ``TRUST_PROXY_NETWORKS`` (comma-separated CIDRs):
  the reverse proxies in front of the site, whose ``X-Forwarded-For`` counts.
- ``DJANGO_EMAIL_FILE_PATH``: write every e-mail (alerts, codes) as a file in
  this folder, one per message, instead of to the console.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _local_secret_key(path: Path) -> str:
    """This install's own key: made once, at random, and kept beside the code.

    SECURITY: never a constant in the repository. Anyone who knows the key
    can sign "this wasn't me" links (and sessions, password-reset tokens) for
    any user of the site. Several servers of one site must share one key:
    give them DJANGO_SECRET_KEY.
    """
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        # O_EXCL: of two processes starting at once, one writes, both read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key + "\n")
    return key


DEBUG = _env_flag("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _local_secret_key(
    Path(os.environ.get("DJANGO_SECRET_KEY_FILE") or BASE_DIR / ".django-secret-key")
)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if host.strip()
]
HTTPS = _env_flag("DJANGO_HTTPS", False)

INSTALLED_APPS = [
    # django.contrib.admin, with admin.site asking for a fresh code before
    # credentials change (otp_flow.admin_site).
    "otp_flow.apps.SudoAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # E-mailed one-time codes for risky sign-ins of users without 2FA
    # (Trustgate keeps these devices unconfirmed: they are no second factor).
    "django_otp.plugins.otp_email",
    # Passkeys: a django-otp device plugin (WebAuthn).
    "django_otp_webauthn",
    "rest_framework",
    "rest_framework.authtoken",
    "trust",
    "otp_flow",
    "project",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language from the browser's Accept-Language (LANGUAGES),
    # answered with Content-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Stands in for django_otp.middleware.OTPMiddleware and is the one place
    # that decides whether a signed-in session may proceed.
    "trust.middleware.TrustMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Django's ModelBackend that first refuses password attempts while their
# account or address is throttled (in its place, not beside it).
AUTHENTICATION_BACKENDS = ["trust.backends.ModelBackend"]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=0)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Concurrent requests on SQLite: WAL lets readers run beside the
        # writer, IMMEDIATE takes the write lock up front (no upgrade
        # deadlock), and the timeout waits for it instead of failing.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    return dict(config)


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "trustgate"),
        }
    }
    # Django's cached_db, with ended sessions that stay ended (trust.E010).
    SESSION_ENGINE = "trust.session_backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The languages Trustgate ships complete (make messages regenerates them).
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pt-br", "Português (Brasil)"),
    ("pl", "Polski"),
    ("ja", "日本語"),
    ("zh-hans", "简体中文"),
    ("ru", "Русский"),
    ("tr", "Türkçe"),
    ("uk", "Українська"),
]
# The demo's own strings (project/ and templates/); the apps carry theirs.
LOCALE_PATHS = [BASE_DIR / "project" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions (NIST SP 800-63B-4 §2.2.3): a session cookie that goes with the
# browser, idle for 12 hours at most, and TRUST_SESSION_LIFETIME (off unless
# a site sets it; 24 hours here) ends any session that long after sign-in.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = int(timedelta(hours=12).total_seconds())
TRUST_SESSION_LIFETIME = timedelta(hours=24)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(timedelta(days=365).total_seconds())
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# django-otp: one previous/next step of tolerance is django-otp's default;
# drift following the client is switched off (docs/security.md R10).
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Trustgate demo")
OTP_TOTP_SYNC = False
# The admin never shows TOTP keys or QR codes (docs/security.md R17).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Behind reverse proxies: how many, and where they are (docs/security.md R26).
TRUST_PROXY_COUNT = int(os.environ.get("TRUST_PROXY_COUNT") or 0)
TRUST_PROXY_NETWORKS = [
    network.strip()
    for network in os.environ.get("TRUST_PROXY_NETWORKS", "").split(",")
    if network.strip()
]

# Geolocation data loaded with `manage.py trust_geo_load` (docs/geo.md).
# Unset, the demo places addresses with the data shipped in geoip2fast,
# which is from June 2024: `check --deploy` would warn about its age
# (trust.W050) on every run, and the demo cannot download newer data by
# itself. A loaded file that grows old still warns (trust.W051).
TRUST_GEOIP_DIR = os.environ.get("TRUST_GEOIP_DIR") or None
SILENCED_SYSTEM_CHECKS = [] if TRUST_GEOIP_DIR else ["trust.W050"]

_EMAIL_FILE_PATH = os.environ.get("DJANGO_EMAIL_FILE_PATH") or None
_EMAIL_BACKEND = (
    "django.core.mail.backends.filebased.EmailBackend"
    if _EMAIL_FILE_PATH
    else "django.core.mail.backends.console.EmailBackend"
)
if django.VERSION >= (6, 1):
    # Django 6.1 refuses the old EMAIL_* settings beside MAILERS (even set to None).
    _MAILER: dict = {"BACKEND": _EMAIL_BACKEND}
    if _EMAIL_FILE_PATH:
        _MAILER["OPTIONS"] = {"file_path": _EMAIL_FILE_PATH}
    MAILERS = {"default": _MAILER}
else:
    EMAIL_BACKEND = _EMAIL_BACKEND
    EMAIL_FILE_PATH = _EMAIL_FILE_PATH
DEFAULT_FROM_EMAIL = "security@trustgate.invalid"
# Security alerts by e-mail (a new trusted device, 2FA off, a backup code used...).
TRUST_ALERT_EMAILS = True
# The code e-mailed for a risky sign-in of a user without 2FA (trust.flows.email_codes).
OTP_EMAIL_SUBJECT = "Your sign-in code"


# Passkeys (django-otp-webauthn). WebAuthn needs a secure context and a
# domain as relying-party ID: http://localhost counts, 127.0.0.1 does not, so
# the demo's passkeys work at http://localhost:8000 (make run).
OTP_WEBAUTHN_RP_ID = os.environ.get("DJANGO_WEBAUTHN_RP_ID", "localhost")
OTP_WEBAUTHN_RP_NAME = "Trustgate demo"
OTP_WEBAUTHN_ALLOWED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("DJANGO_WEBAUTHN_ORIGINS", "http://localhost:8000").split(",")
    if origin.strip()
]
OTP_FLOW_PASSKEY_PASSWORDLESS = os.environ.get("DJANGO_PASSKEY_PASSWORDLESS", "0") == "1"
# Discoverable credentials (what passwordless needs) are asked for only then.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = OTP_FLOW_PASSKEY_PASSWORDLESS
AUTHENTICATION_BACKENDS.append("django_otp_webauthn.backends.WebAuthnBackend")

# A strict Content-Security-Policy: no page the demo or the apps serve runs
# inline script or style. Django's own middleware from 6.0 on, django-csp's
# (same directives) before. Outermost but SecurityMiddleware, so responses a
# middleware answers itself (the code page after a sign-in) carry it too.
_CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
if django.VERSION >= (6, 0):
    _CSP_MIDDLEWARE = "django.middleware.csp.ContentSecurityPolicyMiddleware"
    SECURE_CSP = _CSP_DIRECTIVES
else:
    _CSP_MIDDLEWARE = "csp.middleware.CSPMiddleware"
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, _CSP_MIDDLEWARE
)

# The API (/api/token/): sessions (with DRF's CSRF check) and tokens that
# trust.contrib.drf mints only for a session that passed the gate. DRF's
# default BasicAuthentication would take a password alone (trust.W021).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
}
