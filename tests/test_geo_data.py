"""Geolocation data a site loads (issue 22, item 3): AS numbers and country
from one source, ``manage.py trust_geo_load``, and the age check.

Every MMDB file here is built by the test (``tests/geo_files.py``), in the
three layouts Trustgate reads; nothing is downloaded."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command

from tests import geo_files
from tests.conftest import browser, sign_in
from tests.processes import manage, site_env
from trust.flows.geo_load import GeoLoadError, install
from trust.models import SignInAttempt
from trust.rules.risk import geo, geodata

LAYOUTS = {
    "geolite2": lambda d: [
        geo_files.geolite2_country(d / "GeoLite2-Country.mmdb"),
        geo_files.geolite2_asn(d / "GeoLite2-ASN.mmdb"),
    ],
    "dbip-lite": lambda d: [
        geo_files.dbip_country(d / "dbip-country-lite.mmdb"),
        geo_files.dbip_asn(d / "dbip-asn-lite.mmdb"),
    ],
    "ipinfo-lite": lambda d: [geo_files.ipinfo_lite(d / "ipinfo_lite.mmdb")],
}


@pytest.fixture
def downloads(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def geo_dir(tmp_path, settings):
    """TRUST_GEOIP_DIR, empty; the shipped data again after the test."""
    directory = tmp_path / "geoip"
    settings.TRUST_GEOIP_DIR = str(directory)
    yield directory
    geo.use_directory(None)


def load(*paths, directory=None) -> str:
    out = StringIO()
    args = [str(p) for p in paths] + ([f"--dir={directory}"] if directory else [])
    call_command("trust_geo_load", *args, stdout=out)
    return out.getvalue()


def in_use(directory) -> None:
    """The site's processes restarted: they read what is in ``directory`` now."""
    geo.use_directory(str(directory))


def manifest(directory) -> dict:
    return json.loads((directory / geodata.MANIFEST).read_text())


def files_in(directory) -> set[str]:
    return {p.name for p in directory.iterdir()}


# ---- lookups, per layout ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize(
    ("ip", "country", "asn"),
    [
        ("8.8.8.8", "US", "AS15169"),
        ("2001:4860:4860::8888", "US", "AS15169"),
        ("86.130.1.1", "GB", "AS2856"),  # BT's fixed lines...
        ("31.94.1.1", "GB", "AS12576"),  # ...and EE's mobile space are two ASes
        ("2a01:4c8::1", "GB", "AS12576"),
        ("191.0.0.1", "BR", "AS26599"),  # country and AS from the one file
        ("::ffff:80.128.0.1", "DE", "AS3320"),  # IPv4-mapped: the IPv4 address
        ("2002:5080:1::1", "DE", "AS3320"),  # 6to4 carrying 80.128.0.1
        ("5.5.5.5", "", ""),  # in no network of the file
        ("2a10::1", "", ""),
    ],
)
def test_lookups_read_country_and_as_number_from_a_loaded_file(
    layout, ip, country, asn, downloads, geo_dir
):
    load(*LAYOUTS[layout](downloads))
    in_use(geo_dir)
    where = geo.locate(ip)
    assert (where.country, where.asn) == (country, asn)
    assert (geo.country_of(ip), geo.asn_of(ip)) == (country, asn)


def test_the_shipped_data_gives_country_and_operator_name_from_one_source():
    geo.use_directory(None)
    data = geo.data_in_use()
    assert not data.loaded and not data.numbers
    assert data.built == datetime(2024, 6, 18, tzinfo=UTC)
    # iptocc (registry delegation) said US for this one; the geolocation data BR.
    assert geo.locate("191.0.0.1").country == "BR"
    # One operator name for BT's fixed lines and EE's mobile space: the limit
    # of the shipped data that a loaded file lifts.
    assert geo.asn_of("86.130.1.1") == geo.asn_of("31.94.1.1") == "British Telecommunications PLC"


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",  # the file "places" 10/8: private space is never looked up
        "::ffff:10.0.0.1",
        "127.0.0.1",
        "fe80::1%eth0",
        None,
        "",
        "not an ip",
        "8.8.8.8\x00",
        "\ud800",
        "9" * 10_000,
    ],
)
def test_hostile_or_private_addresses_are_unknown_with_a_loaded_file(ip, downloads, geo_dir):
    load(geo_files.ipinfo_lite(downloads / "ipinfo_lite.mmdb"))
    in_use(geo_dir)
    where = geo.locate(ip)
    assert (where.country, where.asn) == (geo.UNKNOWN, geo.UNKNOWN)


def test_each_address_is_read_from_the_file_once(downloads, geo_dir):
    load(geo_files.ipinfo_lite(downloads / "ipinfo_lite.mmdb"))
    in_use(geo_dir)
    geo.locate("8.8.8.8")
    before = geo._place.cache_info()
    assert geo.locate("8.8.8.8").asn == geo.asn_of("8.8.8.8") == "AS15169"
    after = geo._place.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 2


def test_a_directory_whose_data_cannot_be_read_falls_back_to_the_shipped_data(geo_dir):
    geo_dir.mkdir()
    (geo_dir / geodata.MANIFEST).write_text('{"provider": "MaxMind", "country": {"file": "x"}}')
    in_use(geo_dir)
    assert geo.locate("8.8.8.8").country == "US"  # never raises, and still places
    assert geo.data_in_use().problem
    assert not geo.data_in_use().loaded


def test_a_manifest_cannot_name_a_file_outside_its_directory(tmp_path, downloads, geo_dir):
    load(geo_files.ipinfo_lite(downloads / "ipinfo_lite.mmdb"))
    outside = geo_files.ipinfo_lite(tmp_path / "elsewhere.mmdb")
    entry = {"file": str(outside), "database_type": "ipinfo", "built": "2026-01-01"}
    written = {"provider": "IPinfo", "country": entry, "asn": entry, "previous": []}
    (geo_dir / geodata.MANIFEST).write_text(json.dumps(written))
    in_use(geo_dir)
    assert geo.data_in_use().problem  # "elsewhere.mmdb" looked for inside geo_dir only
    assert geo.asn_of("8.8.8.8") == "GOOGLE"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3320, "AS3320"), ("AS15169", "AS15169"), ("as15169", "AS15169"), (0, ""), (-1, "")],
)
def test_as_numbers_are_read_strictly(value, expected):
    assert geodata.as_number(value) == expected


@pytest.mark.parametrize("value", [True, 2**32, "AS", "AS-1", "15169", "AS1x", None, 1.5, []])
def test_what_is_no_as_number_is_unknown(value):
    assert geodata.as_number(value) == ""


# ---- trust_geo_load ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_load_installs_a_valid_set_and_names_it_in_the_manifest(layout, downloads, geo_dir):
    output = load(*LAYOUTS[layout](downloads))
    written = manifest(geo_dir)
    assert written["provider"] == {"geolite2": "MaxMind", "dbip-lite": "DB-IP"}.get(
        layout, "IPinfo"
    )
    for role in ("country", "asn"):
        assert (geo_dir / written[role]["file"]).is_file()
    assert "restart" in output
    assert not [name for name in files_in(geo_dir) if name.endswith(".tmp")]


def test_load_takes_a_gzipped_download(downloads, geo_dir):
    for made in LAYOUTS["dbip-lite"](downloads):
        with gzip.open(f"{made}.gz", "wb") as out:
            out.write(made.read_bytes())
    load(downloads / "dbip-country-lite.mmdb.gz", downloads / "dbip-asn-lite.mmdb.gz")
    in_use(geo_dir)
    assert geo.asn_of("2003::1") == "AS3320"


def test_ipinfo_lite_is_recognized_by_its_records_whatever_its_type(downloads, geo_dir):
    load(geo_files.ipinfo_lite(downloads / "lite.mmdb", database_type="GeoIP2"))
    assert manifest(geo_dir)["provider"] == "IPinfo"


def _refused(*paths, directory) -> str:
    with pytest.raises(CommandError) as refused:
        load(*paths, directory=directory)
    return str(refused.value)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: [d / "text.mmdb"], "not a MaxMind DB"),
        (lambda d: [d / "empty.mmdb"], "not a MaxMind DB"),
        (lambda d: [d / "not-gzip.mmdb.gz"], "cannot be read"),
        (lambda d: [d / "missing.mmdb"], "cannot be read"),
        (
            lambda d: [geo_files.other(d / "anon.mmdb", {"8.8.8.0/24": {"is_anonymous": True}})],
            "'GeoIP2-Anonymous-IP' database, not one Trustgate reads",
        ),
        (
            lambda d: [
                geo_files.geolite2_country(d / "c.mmdb", ip_version=4),
                geo_files.geolite2_asn(d / "a.mmdb", ip_version=4),
            ],
            "IPv4 only",
        ),
        (
            # The right type, the wrong records (an IPinfo file renamed).
            lambda d: [
                geo_files.ipinfo_lite(d / "c.mmdb", database_type="GeoLite2-Country"),
                geo_files.geolite2_asn(d / "a.mmdb"),
            ],
            "does not place well-known public addresses",
        ),
        (
            lambda d: [
                geo_files.geolite2_country(d / "c.mmdb"),
                geo_files.dbip_asn(d / "a.mmdb"),
            ],
            "one provider, not DB-IP and MaxMind",
        ),
        (lambda d: [geo_files.geolite2_country(d / "c.mmdb")], "load the GeoLite2-ASN file too"),
        (
            lambda d: [
                geo_files.geolite2_asn(d / "a.mmdb"),
                geo_files.geolite2_asn(d / "b.mmdb"),
            ],
            "Two asn files",
        ),
    ],
)
def test_load_refuses_what_it_cannot_use_and_installs_nothing(make, reason, downloads, geo_dir):
    (downloads / "text.mmdb").write_text("country,asn\n8.8.8.8,AS15169\n")
    (downloads / "empty.mmdb").write_bytes(b"")
    (downloads / "not-gzip.mmdb.gz").write_bytes(b"\x1f\x8bnot really")
    message = _refused(*make(downloads), directory=None)
    assert reason in message and message.startswith("Nothing installed.")
    assert files_in(geo_dir) == set()  # no manifest, no copies, no temporary files


def test_a_refused_file_leaves_the_installed_set_as_it_was(downloads, geo_dir):
    load(*LAYOUTS["geolite2"](downloads))
    before = {name: (geo_dir / name).read_bytes() for name in files_in(geo_dir)}
    (downloads / "broken.mmdb").write_bytes(b"\x00" * 1000)
    _refused(
        geo_files.geolite2_country(downloads / "new.mmdb"),
        downloads / "broken.mmdb",
        directory=None,
    )
    assert {name: (geo_dir / name).read_bytes() for name in files_in(geo_dir)} == before


def test_load_without_a_directory_is_refused(downloads, settings):
    settings.TRUST_GEOIP_DIR = None
    with pytest.raises(CommandError, match="Set TRUST_GEOIP_DIR"):
        load(geo_files.ipinfo_lite(downloads / "ipinfo_lite.mmdb"))


def test_a_newer_load_replaces_the_older_set_and_running_readers_keep_theirs(
    downloads, geo_dir, time_machine
):
    first = downloads / "first"
    first.mkdir()
    time_machine.move_to(datetime(2026, 10, 1, tzinfo=UTC), tick=False)
    load(geo_files.ipinfo_lite(first / "ipinfo_lite.mmdb"))
    old = manifest(geo_dir)
    running = geodata.open_mmdb(str(geo_dir / old["asn"]["file"]))  # a process started before

    time_machine.move_to(datetime(2026, 11, 1, tzinfo=UTC), tick=False)
    load(*LAYOUTS["geolite2"](downloads))
    new = manifest(geo_dir)
    assert new["provider"] == "MaxMind" and new["previous"] == [old["asn"]["file"]]
    assert (geo_dir / old["asn"]["file"]).exists()  # the set before stays one more load
    assert running.get("8.8.8.8")["asn"] == "AS15169"  # the old process reads on
    in_use(geo_dir)
    assert geo.data_in_use().built == datetime(2026, 11, 1, tzinfo=UTC)

    # A monthly update of the ASN file alone keeps the country file of the set.
    time_machine.move_to(datetime(2026, 12, 1, tzinfo=UTC), tick=False)
    third = downloads / "third"
    third.mkdir()
    load(geo_files.geolite2_asn(third / "GeoLite2-ASN.mmdb"))
    latest = manifest(geo_dir)
    assert latest["country"] == new["country"] and latest["asn"] != new["asn"]
    assert not (geo_dir / old["asn"]["file"]).exists()  # two loads ago: deleted
    assert files_in(geo_dir) == {
        geodata.MANIFEST,
        new["country"]["file"],
        new["asn"]["file"],
        latest["asn"]["file"],
    }
    running.close()


def test_install_refuses_nothing_given(geo_dir):
    with pytest.raises(GeoLoadError):
        install([], str(geo_dir))


# ---- the check --------------------------------------------------------------------------------


def ids(deploy: bool = True) -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=deploy) if m.id}


def test_the_shipped_data_of_2024_warns_on_deploy_only(settings):
    geo.use_directory(None)
    settings.SILENCED_SYSTEM_CHECKS = []
    assert "trust.W050" in ids(deploy=True)
    assert "trust.W050" not in ids(deploy=False)


def test_the_demo_silences_the_shipped_data_warning_only():
    from project import settings as demo

    assert demo.SILENCED_SYSTEM_CHECKS == ["trust.W050"]


def test_loaded_data_warns_once_older_than_six_months(downloads, geo_dir, time_machine):
    built = datetime(2026, 3, 1, tzinfo=UTC)
    time_machine.move_to(built, tick=False)
    load(geo_files.ipinfo_lite(downloads / "ipinfo_lite.mmdb"))
    in_use(geo_dir)

    time_machine.move_to(built + timedelta(days=150), tick=False)
    assert not {"trust.W050", "trust.W051", "trust.W052"} & ids()

    time_machine.move_to(built + timedelta(days=200), tick=False)
    found = [m for m in run_checks(include_deployment_checks=True) if m.id == "trust.W051"]
    assert len(found) == 1 and "built on 2026-03-01" in found[0].msg
    assert "trust.W050" not in ids()


def test_a_directory_with_nothing_usable_warns(geo_dir, settings):
    settings.SILENCED_SYSTEM_CHECKS = []
    geo_dir.mkdir()
    in_use(geo_dir)
    assert {"trust.W052", "trust.W050"} <= ids()


# ---- a sign-in --------------------------------------------------------------------------------


def test_the_as_number_reaches_the_sign_in_history(account, clock, downloads, geo_dir, settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]
    load(*LAYOUTS["geolite2"](downloads))
    in_use(geo_dir)
    client = browser(HTTP_X_FORWARDED_FOR="80.128.0.1")  # Deutsche Telekom
    sign_in(client, account)
    attempt = SignInAttempt.objects.filter(user=account.user).first()
    assert (attempt.asn, attempt.country) == ("AS3320", "DE")

    other = browser(HTTP_X_FORWARDED_FOR="2a01:4c8::1")  # EE, IPv6
    sign_in(other, account)
    attempt = SignInAttempt.objects.filter(user=account.user).first()
    assert (attempt.asn, attempt.country) == ("AS12576", "GB")


def test_a_process_started_after_a_load_reads_the_loaded_data(downloads, geo_dir):
    """The demo's settings take TRUST_GEOIP_DIR from the environment;
    ``TrustConfig.ready()`` points the lookups at it."""
    load(*LAYOUTS["dbip-lite"](downloads))
    code = (
        "from trust.rules.risk import geo; d = geo.data_in_use(); "
        "print(geo.asn_of('8.8.8.8'), geo.country_of('2a01:4c8::1'), d.loaded, repr(d.problem))"
    )
    out = manage(site_env(TRUST_GEOIP_DIR=str(geo_dir)), "shell", "-c", code)
    assert out.split()[-4:] == ["AS15169", "GB", "True", "''"]
    # The deployment checks' ids (``check --deploy`` writes its warnings to
    # stderr, and exits non-zero on Django 6.1's mail.E001 in the demo).
    ids = manage(
        site_env(TRUST_GEOIP_DIR=str(geo_dir)),
        "shell",
        "-c",
        "from django.core import checks; "
        "print(sorted({m.id for m in checks.run_checks(include_deployment_checks=True)}))",
    )
    assert "security.W004" in ids  # the deployment checks ran
    assert "trust.W050" not in ids


def test_the_loader_keeps_its_files_to_its_own_names(downloads, geo_dir):
    geo_dir.mkdir()
    (geo_dir / "site-notes.mmdb").write_text("not ours")
    load(*LAYOUTS["geolite2"](downloads))
    load(*LAYOUTS["dbip-lite"](downloads))
    load(*LAYOUTS["geolite2"](downloads))
    assert "site-notes.mmdb" in files_in(geo_dir)
    assert os.path.getsize(geo_dir / "site-notes.mmdb") == len("not ours")
