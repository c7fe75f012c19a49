"""Checks of the risk model's surroundings: where a risky sign-in's e-mailed
code comes from, and the geolocation data in use (docs/geo.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Warning, register

from ..conf import conf


@register()
def check_email_codes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A risky sign-in of a user without 2FA owes an e-mailed code: from where?"""
    if not conf.RISK_ENABLED or apps.is_installed("django_otp.plugins.otp_email"):
        return []
    return [
        Warning(
            "django_otp.plugins.otp_email is not installed: a risky sign-in of a "
            "user without 2FA cannot be asked for an e-mailed code, so "
            "TRUST_RISK_NO_EMAIL decides for every such sign-in.",
            hint='Add "django_otp.plugins.otp_email" to INSTALLED_APPS.',
            id="trust.W040",
        )
    ]


# Geolocation data older than this earns a warning: networks change hands,
# and a stale table places their users in the wrong country and operator.
GEO_MAX_AGE = timedelta(days=183)


@register(deploy=True)
def check_geo_data(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The age of the geolocation data in use (docs/geo.md). With ``--deploy``
    only: a developer's machine need not fetch data to run the site."""
    from django.utils import timezone

    from ..rules.risk import geo

    data = geo.data_in_use()
    found: list[CheckMessage] = []
    if data.problem:
        found.append(
            Warning(
                f"TRUST_GEOIP_DIR is set, but its data cannot be used ({data.problem}): "
                "the data shipped in geoip2fast places addresses instead.",
                hint="Load the provider's files with manage.py trust_geo_load (docs/geo.md).",
                id="trust.W052",
            )
        )
    built = data.built
    if built is not None and timezone.now() - built <= GEO_MAX_AGE:
        return found
    when = f"built on {built:%Y-%m-%d}" if built is not None else "of unknown date"
    if data.loaded:
        found.append(
            Warning(
                f"The geolocation data in TRUST_GEOIP_DIR, {data.name}, is {when}: more than "
                "6 months old. Addresses that changed hands since are placed in the wrong "
                "country and network.",
                hint="Download the provider's current files and load them with "
                "manage.py trust_geo_load (docs/geo.md).",
                id="trust.W051",
            )
        )
    else:
        found.append(
            Warning(
                f"Addresses are placed with {data.name}, {when}: more than 6 months old.",
                hint="That data also names each network's operator, not its AS number, so "
                "an operator's separate networks count as one ASN. Set TRUST_GEOIP_DIR and "
                "load current GeoLite2, DB-IP Lite or IPinfo Lite files with "
                "manage.py trust_geo_load (docs/geo.md).",
                id="trust.W050",
            )
        )
    return found
