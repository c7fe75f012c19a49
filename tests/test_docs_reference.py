"""The docs' settings and checks references are complete: what they are
generated from (docs/_ext/trustgate_reference.py) holds every setting the
apps read and every check id they raise."""

from __future__ import annotations

import importlib
import re
import sys

import pytest

from tests.processes import REPO

pytest.importorskip("sphinx")  # the docs group (make docs)
sys.path.insert(0, str(REPO / "docs" / "_ext"))
reference = importlib.import_module("trustgate_reference")

APPS = {"trust": "TRUST_", "otp_flow": "OTP_FLOW_"}
# A promise to every site: at most 25 settings across both apps.
MAX_SETTINGS = 25


def names_in_code(app: str, prefix: str) -> set[str]:
    return {
        name
        for path in (REPO / app).rglob("*.py")
        if "migrations" not in path.parts
        for name in re.findall(rf'"({prefix}[A-Z0-9_]+)"', path.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize("app", APPS)
def test_every_setting_the_app_reads_is_in_the_reference(app):
    conf = importlib.import_module(f"{app}.conf")
    missing = names_in_code(app, APPS[app]) - set(conf._DEFAULTS)
    assert not missing, f"settings read but not in {app}.conf._DEFAULTS: {sorted(missing)}"


def test_at_most_25_settings():
    count = sum(len(importlib.import_module(f"{app}.conf")._DEFAULTS) for app in APPS)
    assert count <= MAX_SETTINGS


@pytest.mark.parametrize("app", APPS)
def test_every_setting_says_what_it_does(app):
    conf = importlib.import_module(f"{app}.conf")
    docs = reference.setting_docs(conf)
    assert set(docs) == set(conf._DEFAULTS)
    assert not [name for name, doc in docs.items() if not doc], docs


@pytest.mark.parametrize("app", APPS)
def test_every_check_id_is_in_the_reference(app):
    checks = importlib.import_module(f"{app}.checks")
    paths = [REPO / app / "checks.py", *(REPO / app / "checks").glob("*.py")]
    source = "".join(path.read_text(encoding="utf-8") for path in paths if path.exists())
    ids = set(re.findall(rf'id="({app}\.[EW]\d+)"', source))
    found = reference.check_ids(checks)
    assert ids and set(found) == ids
    assert all(entry.messages for entry in found.values())


def test_a_check_message_shows_module_constants_and_names_run_time_values():
    from trust import checks

    found = reference.check_ids(checks)
    e002_hint = reference.text(found["trust.E002"].hints[0])
    assert "'django.contrib.auth.middleware.AuthenticationMiddleware'" in e002_hint
    w022 = reference.text(found["trust.W022"].messages[0])
    assert w022.startswith("The sign-out URL name name does not resolve")
    assert found["trust.W050"].deploy and not found["trust.W001"].deploy
