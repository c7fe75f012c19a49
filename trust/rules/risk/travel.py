"""Impossible travel: two sign-ins of one user from countries farther apart
than an airliner flies in the time between them.

Pure. Country coordinates, areas and land borders come from ``countryinfo``
(its per-country data files, MIT), read once per process: never a table
typed in here. A country is a point only roughly, so the distance is a lower
bound (centre to centre, less the radius of a disc of each country's area)
and neighbours sharing a land border are never "impossible".
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

# A long-haul airliner cruises at ~900 km/h; 1000 km/h leaves room for the
# jet stream and for country centres that are not where people live.
AIRLINER_KMH = 1000.0
# What a traveller covers without flying, and the slack for two countries
# whose centres are far from their shared coast or nearest airports.
MARGIN_KM = 300.0


@dataclass(frozen=True)
class Country:
    code: str
    lat: float
    lng: float
    radius_km: float  # of a disc with the country's area
    borders: frozenset[str]  # alpha-2 codes of its land neighbours


_countries: dict[str, Country] | None = None
_lock = threading.Lock()


def _load() -> dict[str, Country]:
    import countryinfo

    infos = [c.info() for c in countryinfo.all_countries()]
    alpha3: dict[str, str] = {}
    for info in infos:
        iso = info.get("ISO") or {}
        if iso.get("alpha2") and iso.get("alpha3"):
            alpha3.setdefault(iso["alpha3"], iso["alpha2"])
    countries: dict[str, Country] = {}
    for info in infos:
        code = (info.get("ISO") or {}).get("alpha2") or ""
        point = info.get("latlng") or info.get("capital_latlng")
        if len(code) != 2 or not point or len(point) != 2:
            continue
        if code in countries:  # e.g. "Wales" also says GB: the first, whole country wins
            continue
        area = float(info.get("area") or 0.0)
        countries[code] = Country(
            code=code,
            lat=float(point[0]),
            lng=float(point[1]),
            radius_km=math.sqrt(area / math.pi) if area > 0 else 0.0,
            borders=frozenset(alpha3[b] for b in info.get("borders") or () if b in alpha3),
        )
    return countries


def countries() -> dict[str, Country]:
    """Every country with coordinates, by ISO alpha-2 code (loaded once)."""
    global _countries
    if _countries is None:
        with _lock:
            if _countries is None:
                _countries = _load()
    return _countries


def great_circle_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Haversine distance on the mean Earth sphere."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2 - lng1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def min_distance_km(a: str, b: str) -> float | None:
    """A lower bound of the distance between two countries (None if unknown)."""
    if not a or not b:
        return None
    table = countries()
    ca, cb = table.get(a.upper()), table.get(b.upper())
    if ca is None or cb is None:
        return None
    if ca.code == cb.code or cb.code in ca.borders or ca.code in cb.borders:
        return 0.0
    centre = great_circle_km(ca.lat, ca.lng, cb.lat, cb.lng)
    return max(0.0, centre - ca.radius_km - cb.radius_km)


def is_impossible(
    distance_km: float,
    hours: float,
    *,
    speed_kmh: float = AIRLINER_KMH,
    margin_km: float = MARGIN_KM,
) -> bool:
    """Is ``distance_km`` more than can be flown in ``hours``?"""
    return distance_km > speed_kmh * max(hours, 0.0) + margin_km


def impossible_travel(
    previous_country: str,
    previous_at: datetime | None,
    country: str,
    at: datetime,
    *,
    speed_kmh: float = AIRLINER_KMH,
    margin_km: float = MARGIN_KM,
) -> bool:
    """Could the user not have gone from their last sign-in's country to this one?

    Unknown countries or times are never impossible: the rule only adds a
    reason, it cannot clear one.
    """
    if previous_at is None or not previous_country or not country:
        return False
    distance = min_distance_km(previous_country, country)
    if distance is None:
        return False
    hours = abs((at - previous_at).total_seconds()) / 3600.0
    return is_impossible(distance, hours, speed_kmh=speed_kmh, margin_km=margin_km)
