"""Load downloaded geolocation files into ``TRUST_GEOIP_DIR`` (``trust_geo_load``).

A file is copied (gunzipped when it is a ``.gz``) next to the data in use,
checked there, and only then given its final name; the directory's manifest
(``geodata.MANIFEST``), which names the files in use, is replaced last, in
one ``os.replace``. A process that starts meanwhile reads the old set or the
new one, never half of each, and never a file still being written. Files in
use are never written to: a running process keeps its memory map of the old
ones until it restarts. The set before the last is deleted.

Checks before installing (``GeoLoadError`` with the reason otherwise):
a MaxMind DB file, of a database type or record layout ``geodata`` reads,
covering IPv6 as well as IPv4, with a build date, answering lookups of
well-known public addresses with a country or an AS number as its layout
says; and, once installed, a country file and an AS file of one provider
(or one IPinfo Lite file for both).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..rules.risk import geodata
from ..rules.risk.geodata import COUNTRY, ROLES, GeoDataError, Layout

PREFIX = "trustgate-geo-"
# A decompressed file larger than this is refused (a gzip bomb): today's
# country + ASN files are 10-100 MB, the City editions ~130 MB.
MAX_SIZE = 1 << 30

# Anycast resolvers every country and ASN database places, IPv4 and IPv6.
PROBES_V4 = ("8.8.8.8", "1.1.1.1", "9.9.9.9", "208.67.222.222")
PROBES_V6 = ("2001:4860:4860::8888", "2606:4700:4700::1111", "2620:fe::fe")


class GeoLoadError(Exception):
    """A file refused, with the reason a site's operator can act on."""


@dataclass(frozen=True)
class Checked:
    path: str  # the checked copy in the target directory
    source: str  # the file as given
    layout: Layout
    database_type: str
    built: datetime
    digest: str


def _copy(source: str, directory: str) -> str:
    """A copy of ``source`` (gunzipped if it is gzip) in ``directory``."""
    handle, path = tempfile.mkstemp(prefix=".trustgate-geo-", suffix=".tmp", dir=directory)
    try:
        with open(source, "rb") as raw, os.fdopen(handle, "wb") as out:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            reader: Any = gzip.GzipFile(fileobj=raw) if compressed else raw
            copied = 0
            while chunk := reader.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_SIZE:
                    raise GeoLoadError(f"{source}: larger than {MAX_SIZE >> 20} MiB.")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        _remove(path)
        raise GeoLoadError(f"{source}: cannot be read ({error}).") from error
    except BaseException:
        _remove(path)
        raise
    return path


def _answers(reader: Any, layout: Layout, role: str, addresses: Sequence[str]) -> int:
    return sum(bool(geodata.read(layout, role, _get(reader, a))) for a in addresses)


def check(path: str, source: str) -> Checked:
    """The file at ``path`` checked as described above (``GeoLoadError`` if not)."""
    try:
        reader = geodata.open_mmdb(path)
    except GeoDataError as error:
        raise GeoLoadError(f"{source}: not a MaxMind DB (.mmdb) file.") from error
    try:
        metadata = reader.metadata()
        database_type = str(metadata.database_type)
        layout = geodata.layout_of(database_type)
        if layout is None and any(
            geodata.looks_like_ipinfo(_get(reader, a)) for a in PROBES_V4 + PROBES_V6
        ):
            layout = geodata.IPINFO
        if layout is None:
            raise GeoLoadError(
                f"{source}: a {database_type!r} database, not one Trustgate reads "
                f"({geodata.SUPPORTED})."
            )
        if metadata.ip_version != 6:
            raise GeoLoadError(f"{source}: covers IPv4 only; download the IPv4 + IPv6 edition.")
        built = geodata.built_at(reader)
        if built is None:
            raise GeoLoadError(f"{source}: has no build date (build_epoch).")
        for role in layout.roles:
            if _answers(reader, layout, role, PROBES_V4) < 2 or not _answers(
                reader, layout, role, PROBES_V6
            ):
                raise GeoLoadError(
                    f"{source}: a {database_type!r} database that does not place well-known "
                    f"public addresses (no {role} for {', '.join(PROBES_V4[:2])} or "
                    f"{PROBES_V6[0]}): damaged, or not the layout its type names."
                )
    finally:
        reader.close()
    return Checked(path, source, layout, database_type, built, _digest(path))


def _get(reader: Any, address: str) -> Any:
    """The record of ``address``; None where the file cannot answer (a broken data section)."""
    try:
        return reader.get(address)
    except Exception:
        return None


def _digest(path: str) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:24]


@dataclass(frozen=True)
class Installed:
    directory: str
    provider: str
    files: dict[str, dict[str, str]]  # role -> {"file", "database_type", "built"}


def _plan(checked: Sequence[Checked], previous: dict[str, Any] | None) -> dict[str, Checked | None]:
    """Role -> the new file for it (None: keep the installed one)."""
    providers = {c.layout.provider for c in checked}
    if len(providers) > 1:
        raise GeoLoadError(
            "Country and AS data must come from one provider, not "
            + " and ".join(sorted(providers))
            + "."
        )
    provider = providers.pop()
    plan: dict[str, Checked | None] = {}
    for item in checked:
        for role in item.layout.roles:
            if role in plan:
                raise GeoLoadError(f"Two {role} files given; give one for each.")
            plan[role] = item
    for role in ROLES:
        if role in plan:
            continue
        kept = previous.get(role) if previous else None
        if not previous or previous.get("provider") != provider or not kept:
            wanted = "GeoLite2-ASN" if provider == "MaxMind" else "DBIP-ASN-Lite"
            if role == COUNTRY:
                wanted = "GeoLite2-Country" if provider == "MaxMind" else "DBIP-Country-Lite"
            raise GeoLoadError(
                f"No {role} data of {provider} to go with it: load the {wanted} file too "
                "(country and AS number come from one provider)."
            )
        plan[role] = None
    return plan


def install(paths: Sequence[str], directory: str) -> Installed:
    """Check ``paths`` and make them the data in ``directory`` (see the module)."""
    if not paths:
        raise GeoLoadError("Give the downloaded file(s) to load.")
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    try:
        previous = geodata.read_manifest(directory)
    except GeoDataError:
        previous = None  # a broken manifest is replaced whole
    copies: list[str] = []
    try:
        checked = []
        for source in paths:
            copies.append(_copy(source, directory))
            checked.append(check(copies[-1], source))
        plan = _plan(checked, previous)
        files: dict[str, dict[str, str]] = {}
        named: dict[str, str] = {}
        for role in ROLES:
            item = plan[role]
            if item is None:
                assert previous is not None
                files[role] = dict(previous[role])
                continue
            if item.path not in named:
                roles = "-".join(item.layout.roles)
                name = (
                    f"{PREFIX}{_slug(item.layout.provider)}-{roles}-"
                    f"{item.built:%Y%m%d}-{item.digest[:12]}.mmdb"
                )
                os.replace(item.path, os.path.join(directory, name))
                named[item.path] = name
            files[role] = {
                "file": named[item.path],
                "database_type": item.database_type,
                "built": item.built.isoformat(),
            }
        provider = checked[0].layout.provider
        manifest = {
            "provider": provider,
            **files,
            "loaded": datetime.now(UTC).isoformat(),
            "previous": sorted({str(previous[r]["file"]) for r in ROLES}) if previous else [],
        }
        _write_manifest(directory, manifest)
        _forget_older(directory, manifest)
        return Installed(directory, provider, files)
    finally:
        for copy in copies:
            _remove(copy)  # gone already when installed


def _write_manifest(directory: str, manifest: dict[str, Any]) -> None:
    handle, path = tempfile.mkstemp(prefix=".trustgate-geo-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(manifest, out, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(path, os.path.join(directory, geodata.MANIFEST))
    except BaseException:
        _remove(path)
        raise
    # The rename itself survives a crash only once the directory is synced.
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _forget_older(directory: str, manifest: dict[str, Any]) -> None:
    """Delete the files neither this set nor the one before names: a process
    that started just before the switch may still open the previous set."""
    keep = {str(manifest[r]["file"]) for r in ROLES} | set(manifest["previous"])
    for name in os.listdir(directory):
        if name.startswith(PREFIX) and name.endswith(".mmdb") and name not in keep:
            with contextlib.suppress(OSError):  # in use elsewhere (Windows): next time
                os.remove(os.path.join(directory, name))
