"""System checks for a site installing ``otp_flow``, with stable ids.

Only where a mistake would otherwise fail silently: passkeys' relying party
against the site's hosts, and admin sites that would open credentials to a
session without a fresh code. A malformed setting is ``otp_flow.conf``'s to
refuse (``ImproperlyConfigured``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .conf import conf


@register()
def check_passkeys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The relying party of django-otp-webauthn, against this site's hosts.

    Every form django-otp-webauthn documents is accepted: a fixed RP ID and
    name, or a ``_CALLABLE`` that decides them per request, and related
    origins (``OTP_WEBAUTHN_RP_RELATED_ORIGINS``) for a passkey used across
    domains. Malformed values are django-otp-webauthn's own checks' to report.
    """
    from . import passkeys

    if not passkeys.available():
        return []
    from django_otp_webauthn.settings import app_settings

    errors: list[CheckMessage] = []
    rp_id = app_settings.OTP_WEBAUTHN_RP_ID
    rp_id = rp_id if isinstance(rp_id, str) else ""
    rp_id_callable = app_settings.OTP_WEBAUTHN_RP_ID_CALLABLE
    has_name = app_settings.OTP_WEBAUTHN_RP_NAME or app_settings.OTP_WEBAUTHN_RP_NAME_CALLABLE
    origins = _strings(app_settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)
    related = {_origin(origin) for origin in _strings(app_settings.OTP_WEBAUTHN_RP_RELATED_ORIGINS)}
    related.discard("")
    if not (rp_id or rp_id_callable) or not has_name or not origins:
        errors.append(
            Error(
                "Passkeys need OTP_WEBAUTHN_RP_ID (or OTP_WEBAUTHN_RP_ID_CALLABLE), "
                "OTP_WEBAUTHN_RP_NAME (or OTP_WEBAUTHN_RP_NAME_CALLABLE) and "
                "OTP_WEBAUTHN_ALLOWED_ORIGINS.",
                hint="The RP ID is your site's domain (example.com); the origins are "
                "where its pages are served (https://example.com).",
                id="otp_flow.E020",
            )
        )
    elif not rp_id_callable:  # a callable decides the RP ID per request: nothing to compare
        errors.extend(_check_rp_id(rp_id, origins, related))
    if conf.PASSKEY_PASSWORDLESS and PASSWORDLESS_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        errors.append(
            Error(
                "OTP_FLOW_PASSKEY_PASSWORDLESS needs django-otp-webauthn's backend.",
                hint=f"Add {PASSWORDLESS_BACKEND!r} to AUTHENTICATION_BACKENDS.",
                id="otp_flow.E023",
            )
        )
    return errors


def _check_rp_id(rp_id: str, origins: list[str], related: set[str]) -> list[CheckMessage]:
    """A fixed RP ID: a domain of this site, and the domain (or a parent) of
    each allowed origin, unless the origin is a related origin of it."""
    errors: list[CheckMessage] = []
    hosts = [host.lstrip(".").lower() for host in settings.ALLOWED_HOSTS]
    related_hosts = {_host(origin) for origin in related}
    if "*" not in hosts and not any(_under(host, rp_id) or host in related_hosts for host in hosts):
        errors.append(
            Error(
                f"OTP_WEBAUTHN_RP_ID {rp_id!r} is not among ALLOWED_HOSTS or their parents.",
                hint="Passkeys are bound to the RP ID: it must be the site's domain "
                "or a parent of it (or the site's origins must be among "
                "OTP_WEBAUTHN_RP_RELATED_ORIGINS).",
                id="otp_flow.E021",
            )
        )
    for origin in origins:
        if _under(_host(origin), rp_id) or _origin(origin) in related:
            continue
        errors.append(
            Error(
                f"Allowed origin {origin!r} is not on OTP_WEBAUTHN_RP_ID {rp_id!r}.",
                hint="Browsers refuse a passkey whose RP ID is not the origin's domain "
                "or a parent of it, unless the origin is listed in "
                "OTP_WEBAUTHN_RP_RELATED_ORIGINS (served at "
                "https://<RP ID>/.well-known/webauthn by WellKnownWebAuthnView).",
                id="otp_flow.E022",
            )
        )
    return errors


def _strings(value: object) -> list[str]:
    """The strings of a list setting (anything else is reported by django-otp-webauthn)."""
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, str)]


def _origin(origin: str) -> str:
    """An origin as browsers send it: scheme and host in lower case, no slash."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:  # "https://[::1": no origin at all
        return ""
    if not (parts.scheme and parts.netloc):
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _host(origin: str) -> str:
    try:
        return urlsplit(origin).hostname or ""
    except ValueError:
        return ""


PASSWORDLESS_BACKEND = "django_otp_webauthn.backends.WebAuthnBackend"


def _under(host: str, rp_id: str) -> bool:
    host, rp_id = host.lower(), rp_id.lower()
    return host == rp_id or host.endswith("." + rp_id)


@register()
def check_admin_sudo_models(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECURITY: a label that names no model (a typo) leaves that model's pages open."""
    unknown = []
    for label in conf.ADMIN_SUDO_MODELS:
        try:
            apps.get_model(label)
        except LookupError:
            unknown.append(label)
    if not unknown:
        return []
    return [
        Error(
            f"OTP_FLOW_ADMIN_SUDO_MODELS names models that are not installed: {unknown!r}; "
            "their admin pages are not guarded.",
            hint='Give installed models as "app_label.ModelName".',
            id="otp_flow.E003",
        )
    ]


@register(Tags.admin)
def check_admin_sites(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every admin site should ask a session without a fresh code for one."""
    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib.admin.sites import all_sites

    from .admin_site import SudoAdminSite

    return [
        Warning(
            f"The admin site {site.name!r} lets a session that entered no code "
            "(let in by a trusted device) change second factors and passwords.",
            hint='Put "otp_flow.apps.SudoAdminConfig" in INSTALLED_APPS in place of '
            '"django.contrib.admin", or make your AdminSite a subclass of '
            "otp_flow.admin_site.SudoAdminSite.",
            id="otp_flow.W001",
        )
        for site in sorted(all_sites, key=lambda site: site.name)
        if not isinstance(site, SudoAdminSite)
    ]


@register(Tags.admin)
def check_admin_credential_models(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A model in a sudo admin site that sounds like it holds a credential, but
    whose pages the fresh-code rule leaves open."""
    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib.admin.sites import all_sites

    from .admin_site import SudoAdminSite
    from .credential_models import (
        credential_like_fields,
        credential_like_options,
        holds_credentials,
        site_named_labels,
    )

    named = site_named_labels()
    warnings: list[CheckMessage] = []
    for site in sorted(all_sites, key=lambda site: site.name):
        if not isinstance(site, SudoAdminSite):
            continue  # otp_flow.W001 names it
        found: dict[str, tuple[type, list[str]]] = {}
        for model in site.registered_models():
            model_admin = site.get_model_admin(model)
            shown = [(model, credential_like_options(model_admin))]
            shown += [
                (inline.model, credential_like_options(inline)) for inline in model_admin.inlines
            ]
            for each, options in shown:
                names = [*credential_like_fields(each), *options]
                if names and not holds_credentials(each, named):
                    label = each._meta.label
                    previous = found.get(label, (each, []))[1]
                    found[label] = (each, [*previous, *(n for n in names if n not in previous)])
        warnings += [
            Warning(
                f"{label} is shown by the admin site {site.name!r} with "
                f"{', '.join(names)}, which sound like a credential, but a session "
                "that entered no code (let in by a trusted device) may open its pages.",
                hint=f'If it holds or shows a credential, add "{label}" to '
                "OTP_FLOW_ADMIN_SUDO_MODELS; if not, silence otp_flow.W003.",
                obj=model,
                id="otp_flow.W003",
            )
            for label, (model, names) in sorted(found.items())
        ]
    return warnings
