"""The geolocation data ``geo`` reads: one source for country and AS.

Two kinds of source, both offline:

- ``Shipped``: the "Country + ASN, IPv4 and IPv6" file that ships inside the
  ``geoip2fast`` package (built from MaxMind's GeoLite2; no network call, no
  licence key). It names the operator (``"GOOGLE"``), not the AS number, so
  the name stands in for the number.
- ``MmdbSet``: MMDB files the site downloaded and loaded with
  ``manage.py trust_geo_load`` (docs/geo.md), read with ``maxminddb``:
  GeoLite2 Country + ASN, DB-IP Lite Country + ASN (the same record layout),
  or IPinfo Lite (country and AS number in one file). Country and AS number
  come from one provider's files.

Which files a directory holds is recorded in its manifest (``MANIFEST``),
written last and atomically by the loader; a process reads it once, when it
first looks an address up. Nothing here raises on a lookup.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

MANIFEST = "trustgate-geo.json"

COUNTRY = "country"
ASN = "asn"
ROLES = (COUNTRY, ASN)

_AS_TEXT = re.compile(r"AS([0-9]{1,10})")
_SHIPPED_DATE = re.compile(r"(20[0-9]{2})([01][0-9])([0-3][0-9])$")
# The largest AS number (RFC 6793: 32 bits).
_AS_MAX = 2**32 - 1


class GeoDataError(ValueError):
    """A file that is not geolocation data this module can read."""


def country_code(value: Any) -> str:
    """``value`` as an ISO 3166-1 alpha-2 code, or "" when it is not one."""
    if not isinstance(value, str) or len(value) != 2 or not value.isascii():
        return ""
    return value.upper() if value.isalpha() else ""


def as_number(value: Any) -> str:
    """An AS number (``3320``, ``"AS3320"``) as ``"AS3320"``, or ""."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and (match := _AS_TEXT.fullmatch(value.strip().upper())):
        number = int(match.group(1))
    else:
        return ""
    return f"AS{number}" if 0 < number <= _AS_MAX else ""


# ---- record layouts ---------------------------------------------------------------------------


def _nested_code(record: dict[str, Any], key: str) -> str:
    part = record.get(key)
    return country_code(part.get("iso_code")) if isinstance(part, dict) else ""


def maxmind_country(record: Any) -> str:
    """GeoLite2 / GeoIP2 / DB-IP Lite Country (or City): ``country.iso_code``;
    where a network has no country (some anycast and satellite space), the
    country it is registered to."""
    if not isinstance(record, dict):
        return ""
    return _nested_code(record, "country") or _nested_code(record, "registered_country")


def maxmind_asn(record: Any) -> str:
    """GeoLite2 / DB-IP Lite ASN: ``autonomous_system_number``."""
    return as_number(record.get("autonomous_system_number")) if isinstance(record, dict) else ""


def ipinfo_country(record: Any) -> str:
    """IPinfo Lite: ``country_code`` (its ``country`` is the country's name)."""
    return country_code(record.get("country_code")) if isinstance(record, dict) else ""


def ipinfo_asn(record: Any) -> str:
    """IPinfo Lite: ``asn``, text like ``"AS15169"``."""
    return as_number(record.get("asn")) if isinstance(record, dict) else ""


@dataclass(frozen=True)
class Layout:
    provider: str  # the files of one set come from one provider
    roles: tuple[str, ...]  # what a file of this layout answers


# database_type (as the files' metadata spells it) -> layout. DB-IP Lite
# writes e.g. "DBIP-ASN-Lite (compat=GeoLite2-ASN)", so a prefix decides.
_TYPES: tuple[tuple[str, Layout], ...] = (
    ("GeoLite2-Country", Layout("MaxMind", (COUNTRY,))),
    ("GeoLite2-City", Layout("MaxMind", (COUNTRY,))),
    ("GeoIP2-Country", Layout("MaxMind", (COUNTRY,))),
    ("GeoIP2-City", Layout("MaxMind", (COUNTRY,))),
    ("GeoLite2-ASN", Layout("MaxMind", (ASN,))),
    ("DBIP-Country-Lite", Layout("DB-IP", (COUNTRY,))),
    ("DBIP-City-Lite", Layout("DB-IP", (COUNTRY,))),
    ("DBIP-ASN-Lite", Layout("DB-IP", (ASN,))),
)
IPINFO = Layout("IPinfo", (COUNTRY, ASN))

SUPPORTED = (
    "GeoLite2-Country + GeoLite2-ASN, DBIP-Country-Lite + DBIP-ASN-Lite "
    "(City editions stand in for Country), or IPinfo Lite"
)


def layout_of(database_type: str) -> Layout | None:
    """The layout a file's ``database_type`` names, or None.

    IPinfo Lite is recognized by its name here and by its records (``looks_like_ipinfo``)."""
    for prefix, layout in _TYPES:
        if database_type == prefix or database_type.startswith(prefix + " "):
            return layout
    if "ipinfo" in database_type.lower():
        return IPINFO
    return None


def looks_like_ipinfo(record: Any) -> bool:
    return bool(ipinfo_country(record) and ipinfo_asn(record))


def read(layout: Layout, role: str, record: Any) -> str:
    """The ``role`` (country or AS number) of a record of ``layout``, or ""."""
    if layout.provider == IPINFO.provider:
        return ipinfo_country(record) if role == COUNTRY else ipinfo_asn(record)
    return maxmind_country(record) if role == COUNTRY else maxmind_asn(record)


# ---- the sources ------------------------------------------------------------------------------


class Source(Protocol):
    name: str  # e.g. "geoip2fast (GeoLite2 of 2024-06-18)", "MaxMind (GeoLite2-ASN, ...)"
    built: datetime | None  # when the oldest of its data was built, if known
    numbers: bool  # True: the AS is its number; False: the operator's name stands in

    def place(self, address: str) -> tuple[str, str]:
        """(country, AS) of a public address in canonical text; "" for unknown."""
        ...


# geoip2fast's own placeholder for IANA special ranges.
_NOT_AN_OPERATOR = {"IANA.ORG"}


class Shipped:
    """geoip2fast's shipped Country + ASN file (operator names, no numbers)."""

    FILE = "geoip2fast-asn-ipv6.dat.gz"
    numbers = False

    def __init__(self) -> None:
        import geoip2fast

        path = os.path.join(os.path.dirname(geoip2fast.__file__), self.FILE)
        self._db = geoip2fast.GeoIP2Fast(geoip2fast_data_file=path)
        info = str(getattr(self._db, "source_info", "") or "")
        self.built = _shipped_date(info)
        self.name = f"geoip2fast's shipped data ({info or 'GeoLite2'})"

    def place(self, address: str) -> tuple[str, str]:
        result = self._db.lookup(address)
        if getattr(result, "is_private", False):
            return "", ""
        name = getattr(result, "asn_name", "") or ""
        if not isinstance(name, str) or name in _NOT_AN_OPERATOR:
            name = ""
        name = "".join(ch for ch in name if ch.isprintable()).strip()
        return country_code(getattr(result, "country_code", "")), name


def _shipped_date(info: str) -> datetime | None:
    match = _SHIPPED_DATE.search(info)
    if match is None:
        return None
    try:
        year, month, day = (int(part) for part in match.groups())
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def open_mmdb(path: str) -> Any:
    """A ``maxminddb`` reader of ``path`` (the C extension's memory map when
    there is one: MODE_AUTO); ``GeoDataError`` when it is no MMDB file."""
    import maxminddb

    try:
        return maxminddb.open_database(path, maxminddb.MODE_AUTO)
    # InvalidDatabaseError is a RuntimeError; a truncated file can raise others.
    except (OSError, ValueError, TypeError, RuntimeError) as error:
        name = os.path.basename(path)
        raise GeoDataError(f"{name} is not a MaxMind DB file ({error})") from error


def built_at(reader: Any) -> datetime | None:
    epoch = getattr(reader.metadata(), "build_epoch", None)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch <= 0:
        return None
    try:
        return datetime.fromtimestamp(epoch, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class MmdbSet:
    """A site's loaded MMDB files: one for each role, or one for both."""

    numbers = True

    def __init__(self, directory: str, manifest: dict[str, Any]) -> None:
        self.provider = str(manifest["provider"])
        self._readers: dict[str, tuple[Any, Layout]] = {}
        opened: dict[str, tuple[Any, Layout]] = {}
        for role in ROLES:
            entry = manifest[role]
            file = os.path.basename(str(entry["file"]))  # SECURITY: only files in the directory
            if file not in opened:
                reader = open_mmdb(os.path.join(directory, file))
                layout = layout_of(str(reader.metadata().database_type)) or IPINFO
                if layout.provider != self.provider or role not in layout.roles:
                    raise GeoDataError(f"{file} is no {self.provider} {role} file")
                opened[file] = (reader, layout)
            self._readers[role] = opened[file]
        dates = [built_at(reader) for reader, _ in opened.values()]
        self.built = None if None in dates else min(d for d in dates if d is not None)
        types = sorted({str(r.metadata().database_type) for r, _ in opened.values()})
        self.name = f"{self.provider} ({', '.join(types)})"

    def place(self, address: str) -> tuple[str, str]:
        found = []
        for role in ROLES:
            reader, layout = self._readers[role]
            try:
                record = reader.get(address)
            except ValueError:  # e.g. an IPv6 address in an IPv4-only file
                record = None
            found.append(read(layout, role, record))
        return found[0], found[1]


def read_manifest(directory: str) -> dict[str, Any] | None:
    """The directory's manifest, or None when there is none (nothing loaded yet)."""
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path, encoding="utf-8") as file:
            manifest = json.load(file)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise GeoDataError(f"{path} cannot be read ({error})") from error
    if not isinstance(manifest, dict) or not all(
        isinstance(manifest.get(role), dict) for role in ROLES
    ):
        raise GeoDataError(f"{path} is not a manifest trust_geo_load wrote")
    return manifest


def load(directory: str | None) -> tuple[Source, str]:
    """The source to use, and why the site's files are not it ("" when they are
    or when there are none). A directory whose files cannot be read falls back
    to the shipped data: lookups must go on; the system check says so."""
    if directory:
        try:
            manifest = read_manifest(directory)
            if manifest is not None:
                return MmdbSet(directory, manifest), ""
        except (KeyError, TypeError, ValueError, OSError) as error:  # GeoDataError too
            return Shipped(), str(error)
        return Shipped(), f"nothing has been loaded into {directory}"
    return Shipped(), ""
