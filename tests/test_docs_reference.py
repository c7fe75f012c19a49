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
# Settings of earlier versions: listed apart (trust.W011, otp_flow.W002).
RETIRED = {"OTP_FLOW_DEVICE_NAME"}


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
    retired = (
        RETIRED | set(getattr(conf, "REMOVED", {})) | set(getattr(conf, "DEPRECATED_EXEMPT", ()))
    )
    missing = names_in_code(app, APPS[app]) - set(conf._DEFAULTS) - retired
    assert not missing, f"settings read but not in {app}.conf._DEFAULTS: {sorted(missing)}"


@pytest.mark.parametrize("app", APPS)
def test_every_setting_says_what_it_does(app):
    conf = importlib.import_module(f"{app}.conf")
    docs = reference.setting_docs(conf)
    assert set(docs) == set(conf._DEFAULTS)
    assert not [name for name, doc in docs.items() if not doc], docs


@pytest.mark.parametrize("app", APPS)
def test_every_check_id_is_in_the_reference(app):
    checks = importlib.import_module(f"{app}.checks")
    source = (REPO / app / "checks.py").read_text(encoding="utf-8")
    ids = set(re.findall(rf'id="({app}\.[EW]\d+)"', source))
    found = reference.check_ids(checks)
    assert ids and set(found) == ids
    assert all(entry.messages for entry in found.values())


def test_a_check_message_shows_module_constants_and_names_run_time_values():
    from trust import checks

    found = reference.check_ids(checks)
    e002_hint = reference.text(found["trust.E002"].hints[0])
    assert "'django.contrib.auth.middleware.AuthenticationMiddleware'" in e002_hint
    e004 = reference.text(found["trust.E004"].messages[0])
    assert e004 == "TRUST_PROXY_COUNT must be a whole number >= 0, not count."
    assert found["trust.W003"].deploy and not found["trust.W001"].deploy
