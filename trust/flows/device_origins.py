"""A trusted device's origins: the countries and operators it signed in from.

The risk model reads them (a trusted device's sign-in from a country or an
operator it never used is checked, not let in on the cookie alone), and a
sign-in let in on the device adds its own (``remember_origin``).
"""

from __future__ import annotations

from ..models import TrustedDevice
from ..rules.risk import geo
from ..rules.risk.features import short_digest

# A device remembers this many countries (the latest ones), in 64 characters.
MAX_DEVICE_COUNTRIES = 16
# ... and this many operators (ASNs, as 8-digit digests), in 144 characters.
MAX_DEVICE_ASNS = 16


def device_countries(device: TrustedDevice | None) -> frozenset[str]:
    """The countries ``device`` signed in from (empty: none known).

    A device trusted before the record was kept (or only ever used from
    addresses no table places) falls back on the countries of its first and
    last addresses, so a copy's sign-in is checked, not recorded as its own.
    """
    if device is None:
        return frozenset()
    if device.countries:
        return frozenset(device.countries.split())
    return frozenset({geo.country_of(device.first_ip), geo.country_of(device.last_ip)} - {""})


def with_country(countries: str, country: str) -> str:
    """``countries`` with ``country`` added last, the oldest dropped past the cap."""
    kept = [c for c in countries.split() if c != country]
    if country:
        kept.append(country)
    return " ".join(kept[-MAX_DEVICE_COUNTRIES:])


def device_asns(device: TrustedDevice | None) -> frozenset[str]:
    """The operators ``device`` signed in from, as ``short_digest``s (empty:
    none known). A device trusted before the record was kept falls back on
    the operators of its first and last addresses, as for its countries."""
    if device is None:
        return frozenset()
    if device.asns:
        return frozenset(device.asns.split())
    known = {geo.asn_of(device.first_ip), geo.asn_of(device.last_ip)} - {""}
    return frozenset(short_digest(asn) for asn in known)


def with_asn(asns: str, asn: str) -> str:
    """``asns`` with ``asn``'s digest added last, the oldest dropped past the cap."""
    token = short_digest(asn) if asn else ""
    kept = [a for a in asns.split() if a != token]
    if token:
        kept.append(token)
    return " ".join(kept[-MAX_DEVICE_ASNS:])


def remember_country(device: TrustedDevice, country: str) -> None:
    """Add a country to a trusted device's record (``remember_origin``)."""
    remember_origin(device, country, "")


def remember_origin(device: TrustedDevice, country: str, asn: str) -> None:
    """Add a country and an operator to a trusted device's record (a write
    only when one is new).

    A compare-and-swap on the record as read, so a parallel writer's country
    or operator is not lost (a lost one would only cost a code, but it is
    kept all the same).
    """
    for _ in range(3):
        known_countries, known_asns = device_countries(device), device_asns(device)
        new_country = bool(country) and country not in known_countries
        new_asn = bool(asn) and short_digest(asn) not in known_asns
        if not (new_country or new_asn):
            return
        seen_countries, seen_asns = device.countries, device.asns
        countries = with_country(seen_countries or " ".join(sorted(known_countries)), country)
        asns = with_asn(seen_asns or " ".join(sorted(known_asns)), asn)
        if TrustedDevice.objects.filter(
            pk=device.pk, countries=seen_countries, asns=seen_asns
        ).update(countries=countries, asns=asns):
            device.countries, device.asns = countries, asns
            return
        fresh = TrustedDevice.objects.filter(pk=device.pk).values_list("countries", "asns")
        device.countries, device.asns = next(iter(fresh), ("", ""))
