"""MMDB files the geolocation tests build (``mmdb-writer``), in the three
layouts Trustgate reads: GeoLite2 (Country + ASN), DB-IP Lite (the same
records under DB-IP's database types) and IPinfo Lite (one file, flat
records). The networks are real ones with their real country and AS number.
"""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# network -> (country, AS number, operator)
NETWORKS = {
    "8.8.8.0/24": ("US", 15169, "GOOGLE"),
    "2001:4860::/32": ("US", 15169, "GOOGLE"),
    "1.1.1.0/24": ("AU", 13335, "CLOUDFLARENET"),
    "2606:4700::/32": ("US", 13335, "CLOUDFLARENET"),
    "9.9.9.0/24": ("US", 19281, "QUAD9-AS-1"),
    "2620:fe::/48": ("US", 19281, "QUAD9-AS-1"),
    "208.67.222.0/24": ("US", 36692, "CISCO-UMBRELLA"),
    # BT's fixed lines and EE's mobile space: one operator's name, two ASes.
    "86.128.0.0/10": ("GB", 2856, "British Telecommunications PLC"),
    "31.94.0.0/17": ("GB", 12576, "EE Limited"),
    "2a01:4c8::/32": ("GB", 12576, "EE Limited"),
    # Deutsche Telekom, the tests' German address.
    "80.128.0.0/11": ("DE", 3320, "Deutsche Telekom AG"),
    "2003::/19": ("DE", 3320, "Deutsche Telekom AG"),
    "191.0.0.0/14": ("BR", 26599, "TELEFONICA BRASIL S.A"),
    # A file may "place" private space; Trustgate never asks it about one.
    "10.0.0.0/8": ("US", 64512, "a private network"),
}

NAMES = {"US": "United States", "AU": "Australia", "GB": "United Kingdom", "DE": "Germany"}
NAMES["BR"] = "Brazil"


def _write(path: Path, database_type: str, records: dict[str, dict], ip_version: int = 6) -> Path:
    writer = MMDBWriter(
        ip_version=ip_version,
        database_type=database_type,
        ipv4_compatible=ip_version == 6,
        languages=["en"],
        description="Trustgate test data",
        int_type="u32",
    )
    for network, record in records.items():
        if ip_version == 4 and ":" in network:
            continue
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


def _country_record(code: str) -> dict:
    place = {"iso_code": code, "geoname_id": 1, "names": {"en": NAMES[code]}}
    return {"country": place, "registered_country": place, "continent": {"code": "XX"}}


def geolite2_country(path: Path, database_type: str = "GeoLite2-Country", **kw) -> Path:
    records = {net: _country_record(cc) for net, (cc, _, _) in NETWORKS.items()}
    return _write(path, database_type, records, **kw)


def geolite2_asn(path: Path, database_type: str = "GeoLite2-ASN", **kw) -> Path:
    records = {
        net: {"autonomous_system_number": asn, "autonomous_system_organization": name}
        for net, (_, asn, name) in NETWORKS.items()
    }
    return _write(path, database_type, records, **kw)


def dbip_country(path: Path) -> Path:
    return geolite2_country(path, "DBIP-Country-Lite")


def dbip_asn(path: Path) -> Path:
    return geolite2_asn(path, "DBIP-ASN-Lite (compat=GeoLite2-ASN)")


def ipinfo_lite(path: Path, database_type: str = "ipinfo ipinfo_lite.mmdb", **kw) -> Path:
    records = {
        net: {
            "country_code": cc,
            "country": NAMES[cc],
            "continent_code": "XX",
            "continent": "Somewhere",
            "asn": f"AS{asn}",
            "as_name": name,
            "as_domain": "example.com",
        }
        for net, (cc, asn, name) in NETWORKS.items()
    }
    return _write(path, database_type, records, **kw)


def other(path: Path, records: dict[str, dict], database_type: str = "GeoIP2-Anonymous-IP") -> Path:
    """A file of some other layout (or type) Trustgate does not read."""
    return _write(path, database_type, records)
