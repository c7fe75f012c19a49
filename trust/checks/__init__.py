"""System checks for a site installing ``trust``, with stable ids.

Only where a mistake would otherwise fail silently at run time; a malformed
setting is ``trust.conf``'s to refuse (``ImproperlyConfigured``). Grouped by
what they look at: ``gate`` (middleware, sessions, the password throttle,
proxies, DBSC), ``stacks`` (APIs, the sign-out view, other 2FA apps), ``risk``
(e-mailed codes, geolocation data). Importing this package registers them.
"""

from __future__ import annotations

from .gate import (
    check_device_binding,
    check_middleware,
    check_password_throttle,
    check_proxies,
    check_sessions,
)
from .risk import check_email_codes, check_geo_data
from .stacks import (
    check_api_basic_auth,
    check_api_tokens,
    check_logout_url,
    check_other_two_factor,
    check_token_app,
)

__all__ = [
    "check_api_basic_auth",
    "check_api_tokens",
    "check_device_binding",
    "check_email_codes",
    "check_geo_data",
    "check_logout_url",
    "check_middleware",
    "check_other_two_factor",
    "check_password_throttle",
    "check_proxies",
    "check_sessions",
    "check_token_app",
]
