"""The demo site's own settings and pages: its key, its sign-up, its environment.

Settings are read in child processes, as a fresh install reads them: the
suite's own process has long imported ``project.settings``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import signing

from tests.conftest import PASSWORD, browser, sign_in, step_up
from tests.processes import REPO, site_env
from trust.models import TrustedDevice

# The key the demo shipped as a constant before: public, so never the key.
# (Written in two parts, so that this file does not hold it either.)
PUBLISHED_KEY = "django-insecure-" + "trustgate-demo-key-change-me"

SHOW_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
from django.core.mail import get_connection
from django.test import RequestFactory
from trust.client_ip import client_ip
request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
print(json.dumps({
    "secret_key": settings.SECRET_KEY,
    "proxy_count": settings.TRUST_PROXY_COUNT,
    "proxy_networks": list(settings.TRUST_PROXY_NETWORKS),
    "client_ip": client_ip(request),
    "mail_backend": type(get_connection()).__module__,
}))
"""


def demo_settings(**env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=REPO,
        env=site_env(DJANGO_SETTINGS_MODULE="project.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def tracked_text() -> str:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    texts = []
    for name in filter(None, files):
        path = REPO / name.decode()
        if path.is_file() and path.stat().st_size < 2_000_000:
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


# --- the secret key ---------------------------------------------------------


@pytest.mark.own_site
def test_without_a_key_each_install_makes_its_own_and_keeps_it(tmp_path):
    key_file = tmp_path / "key"
    first = demo_settings(DJANGO_SECRET_KEY_FILE=str(key_file))["secret_key"]
    again = demo_settings(DJANGO_SECRET_KEY_FILE=str(key_file))["secret_key"]
    other = demo_settings(DJANGO_SECRET_KEY_FILE=str(tmp_path / "other"))["secret_key"]

    assert first == again  # sessions and links survive a restart
    assert other != first  # another install, another key
    assert len(first) >= 50
    assert key_file.read_text().strip() == first
    # Readable by its owner only.
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.own_site
def test_the_key_is_never_one_the_repository_holds(tmp_path):
    key = demo_settings(DJANGO_SECRET_KEY_FILE=str(tmp_path / "key"))["secret_key"]
    text = tracked_text()
    assert key not in text
    assert PUBLISHED_KEY not in text
    # The default key file is ignored, so it is never committed by accident.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".django-secret-key"], cwd=REPO, check=False
    )
    assert ignored.returncode == 0


@pytest.mark.own_site
def test_an_environment_key_wins(tmp_path):
    key_file = tmp_path / "key"
    shown = demo_settings(DJANGO_SECRET_KEY="k" * 60, DJANGO_SECRET_KEY_FILE=str(key_file))
    assert shown["secret_key"] == "k" * 60
    assert not key_file.exists()


def test_a_not_me_link_signed_with_the_published_key_revokes_nothing(account, clock):
    laptop = browser()
    sign_in(laptop, account)
    step_up(laptop, account)
    device = TrustedDevice.objects.get(user=account.user)

    # What anyone could have made with the key the repository used to hold.
    forged = signing.dumps(
        {"u": account.user.pk, "d": device.pk}, key=PUBLISHED_KEY, salt="trust.not_me"
    )
    attacker = browser()
    response = attacker.post(f"/devices/not-me/{forged}/")

    assert response.status_code == 400  # a link that does not verify
    device.refresh_from_db()
    assert device.revoked_at is None


# --- the environment ----------------------------------------------------------


@pytest.mark.own_site
def test_proxies_come_from_the_environment(tmp_path):
    key = {"DJANGO_SECRET_KEY_FILE": str(tmp_path / "key")}
    plain = demo_settings(**key)
    assert plain["proxy_count"] == 0 and plain["proxy_networks"] == []
    # SECURITY: with no proxy configured, X-Forwarded-For is not believed.
    assert plain["client_ip"] == "127.0.0.1"

    behind = demo_settings(
        TRUST_PROXY_COUNT="1", TRUST_PROXY_NETWORKS="127.0.0.1/32, 10.0.0.0/8", **key
    )
    assert behind["proxy_count"] == 1
    assert behind["proxy_networks"] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert behind["client_ip"] == "203.0.113.9"


@pytest.mark.own_site
def test_mail_goes_to_files_when_asked(tmp_path):
    outbox = tmp_path / "mail"
    env = site_env(
        DJANGO_SETTINGS_MODULE="project.settings",
        DJANGO_SECRET_KEY_FILE=str(tmp_path / "key"),
        DJANGO_EMAIL_FILE_PATH=str(outbox),
    )
    send = (
        "import django; django.setup(); from django.core.mail import send_mail; "
        "send_mail('Alert', 'Body text', None, ['alice@example.com'])"
    )
    subprocess.run([sys.executable, "-c", send], cwd=REPO, env=env, check=True, timeout=60)
    (message,) = list(outbox.iterdir())
    assert "Body text" in message.read_text()
    assert demo_settings(DJANGO_SECRET_KEY_FILE=str(tmp_path / "key"))["mail_backend"] == (
        "django.core.mail.backends.console"
    )


# --- sign-up ------------------------------------------------------------------


def sign_up(client, **fields):
    data = {"username": "carol", "password1": PASSWORD, "password2": PASSWORD, **fields}
    return client.post("/accounts/signup/", data)


@pytest.mark.django_db
def test_sign_up_keeps_the_address_alerts_go_to():
    client = browser()
    response = sign_up(client, email="carol@example.com")
    assert response.status_code == 302
    assert get_user_model().objects.get(username="carol").email == "carol@example.com"
    home = client.get("/")
    assert home.status_code == 200
    assert 'id="no-email"' not in home.content.decode()


@pytest.mark.django_db
def test_sign_up_without_an_address_is_told_alerts_cannot_reach_it():
    client = browser()
    assert 'name="email"' in client.get("/accounts/signup/").content.decode()
    assert sign_up(client).status_code == 302
    assert get_user_model().objects.get(username="carol").email == ""
    home = client.get("/").content.decode()
    assert 'id="no-email"' in home
    assert "alerts" in home


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["not-an-address", "a@" + "b" * 300 + ".com", "x\x00@y.com"])
def test_sign_up_with_a_bad_address_is_a_form_error(email):
    response = sign_up(browser(), email=email)
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="carol").exists()


def test_the_suite_itself_runs_on_a_key_of_its_own():
    # The suite itself runs on the default key file (or DJANGO_SECRET_KEY):
    # whichever it is, it is not a constant.
    from django.conf import settings

    assert settings.SECRET_KEY != PUBLISHED_KEY
    assert os.environ.get("DJANGO_SECRET_KEY") or Path(REPO / ".django-secret-key").exists()
