"""Alert e-mails (``TRUST_ALERT_EMAILS``, on in the demo), and their one-time
"this wasn't me" link. Each kind is caused over HTTP and read from the outbox,
both parts: the plain text and the HTML alternative."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice

from otp_flow.models import BackupCodeDevice
from tests.agents import FIREFOX_WINDOWS
from tests.conftest import browser, sign_in, step_up, trusted_browser
from tests.passkey_authenticator import Authenticator as PasskeyAuthenticator
from tests.test_passkeys import add_passkey
from tests.test_sudo import verified_browser
from trust.models import SecurityEvent, TrustedDevice

# Signals go out when the transaction commits: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

LINK_RE = re.compile(r"http://testserver(/devices/not-me/[^/\s]+/)")


def alerts(account, subject_part: str):
    return [
        message
        for message in mail.outbox
        if message.to == [account.user.email] and subject_part in message.subject
    ]


def only_alert(account, subject_part: str):
    found = alerts(account, subject_part)
    assert len(found) == 1, [m.subject for m in mail.outbox]
    return found[0]


def not_me_path(message) -> str:
    match = LINK_RE.search(message.body)
    assert match, message.body
    return match.group(1)


def html_of(message) -> str:
    """The HTML alternative; it carries the same link as the text part."""
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    text_link = LINK_RE.search(message.body)
    html_link = LINK_RE.search(html)
    assert (text_link and text_link.group(1)) == (html_link and html_link.group(1))
    return html


def give_codes(account) -> list[str]:
    return BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()


def test_new_trusted_device_alert_link_works_once(account, clock):
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    assert laptop.get("/").status_code == 200
    device = TrustedDevice.objects.get(user=account.user)
    message = only_alert(account, "new device is trusted")
    assert "Chrome on Windows" in message.body
    assert "Device: Chrome on Windows" in html_of(message)
    path = not_me_path(message)

    reader = browser(FIREFOX_WINDOWS)  # the mail is read elsewhere, signed out
    page = reader.get(path)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    device.refresh_from_db()
    assert device.revoked_at is None  # GET changes nothing
    assert laptop.get("/").status_code == 200

    done = reader.post(path)
    assert done.status_code == 200
    device.refresh_from_db()
    assert device.revoked_at is not None and device.revoked_reason == "reported_by_user"
    assert laptop.get("/")["Location"].startswith("/accounts/login/")  # its session ended
    revoked = SecurityEvent.objects.filter(user=account.user, kind="device_revoked")
    assert [e.reasons for e in revoked] == [["reported_by_user"]]

    assert reader.post(path).status_code == 400  # once
    assert reader.get(path).status_code == 400
    assert revoked.count() == 1


def test_link_does_nothing_for_another_signed_in_user(account, make_user, clock):
    trusted_browser(account, clock)
    path = not_me_path(only_alert(account, "new device is trusted"))
    bob = make_user("bob", totp=False)
    client = browser()
    sign_in(client, bob)

    assert client.get(path).status_code == 400
    assert client.post(path).status_code == 400
    assert TrustedDevice.objects.get(user=account.user).revoked_at is None


def test_link_expires(account, clock):
    trusted_browser(account, clock)
    path = not_me_path(only_alert(account, "new device is trusted"))
    clock.shift(timedelta(days=7, seconds=1))
    reader = browser()
    assert reader.get(path).status_code == 400
    assert reader.post(path).status_code == 400
    assert TrustedDevice.objects.get(user=account.user).revoked_at is None


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "x" + t, lambda t: "e30"])
def test_tampered_links_are_refused(account, clock, mangle):
    trusted_browser(account, clock)
    path = not_me_path(only_alert(account, "new device is trusted"))
    token = path.split("/")[-2]
    response = browser().post(f"/devices/not-me/{mangle(token)}/")
    assert response.status_code == 400
    assert TrustedDevice.objects.get(user=account.user).revoked_at is None


def test_copied_cookie_alert_tells_the_device_was_revoked(account, clock):
    original = trusted_browser(account, clock)
    mail.outbox.clear()
    thief = browser(FIREFOX_WINDOWS)
    thief.cookies = original.cookies
    sign_in(thief, account)
    assert thief.get("/").status_code == 302

    message = only_alert(account, "copied sign-in cookie")
    # The reason as the mail words it (the code stays in the log and the signal).
    assert "the browser does not match the trusted device" in message.body
    assert "the browser does not match the trusted device" in html_of(message)
    # The copied device is revoked already (its sessions ended), so the alert
    # offers no "this wasn't me" link: there is nothing left for it to do.
    assert TrustedDevice.objects.get(user=account.user).revoked_reason == "fingerprint_mismatch"
    assert not LINK_RE.search(message.body)


def test_two_factor_off_alert(account, clock):
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=False)
    clock.shift(timedelta(seconds=31))
    client.post("/2fa/disable/", {"otp_token": account.code()})
    message = only_alert(account, "turned off")
    assert "/devices/" in message.body
    assert 'href="http://testserver/devices/"' in html_of(message)
    # Its link ends the session that turned 2FA off (a thief's, say).
    assert client.get("/").status_code == 200
    assert browser().post(not_me_path(message)).status_code == 200
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_backup_code_alert_link_survives_the_sessions_key_rotation(account):
    made = give_codes(account)
    thief = browser(FIREFOX_WINDOWS)
    sign_in(thief, account)
    assert thief.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302
    path = not_me_path(only_alert(account, "backup code was used"))
    new = "another horse battery staple 43"
    changed = thief.post(  # sudo is fresh: the backup code was just entered
        "/accounts/password/change/",
        {"old_password": account.password, "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302  # rotates the thief's session key
    assert browser().post(path).status_code == 200
    assert thief.get("/")["Location"].startswith("/accounts/login/")


def test_backup_code_used_alert(account):
    made = give_codes(account)
    client = browser()
    sign_in(client, account)
    client.post("/2fa/verify/", {"otp_token": made[0]})
    message = only_alert(account, "backup code was used")
    assert made[0] not in message.body
    assert "Backup codes left: 9" in message.body
    assert "Backup codes left: 9" in html_of(message) and made[0] not in html_of(message)


def test_backup_code_alert_link_ends_the_session_the_code_opened(account, make_user):
    made = give_codes(account)
    thief = browser(FIREFOX_WINDOWS)
    sign_in(thief, account)
    assert thief.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302
    assert thief.get("/").status_code == 200
    path = not_me_path(only_alert(account, "backup code was used"))

    owner = browser()
    assert owner.get(path).status_code == 200  # asks, changes nothing
    assert thief.get("/").status_code == 200
    bob = make_user("bob")
    other = browser()
    sign_in(other, bob)
    assert other.post(path).status_code == 400  # another user's link: nothing
    assert thief.get("/").status_code == 200

    assert owner.post(path).status_code == 200
    assert thief.get("/")["Location"].startswith("/accounts/login/")
    assert owner.post(path).status_code == 400  # once
    assert SecurityEvent.objects.filter(user=account.user, kind="session_reported").count() == 1


def test_backup_codes_regenerated_alert(account, clock):
    give_codes(account)
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=False)
    response = client.post("/2fa/backup-codes/")
    shown = re.findall(r"<code>([0-9a-z-]+)</code>", response.content.decode())
    message = only_alert(account, "New backup codes")
    assert len(shown) == 10 and not any(code in message.body for code in shown)


def test_no_alert_without_an_address(make_user, clock):
    account = make_user("noaddress", totp=False)
    type(account.user).objects.filter(pk=account.user.pk).update(email="")
    account.user.email = ""
    account.device = TOTPDevice.objects.create(user=account.user, name="Phone", confirmed=True)
    trusted_browser(account, clock)
    assert not mail.outbox


@pytest.mark.parametrize(
    "token", ["x", "a" * 3000, "%00", "%C3%A9t%C3%A9", "..", "eyJ1IjoxLCJkIjoxfQ:1:2"]
)
def test_garbage_links_are_a_clear_400(db, token):
    for method in ("get", "post"):
        response = getattr(browser(), method)(f"/devices/not-me/{token}/")
        assert response.status_code == 400, (method, token)
        assert response.context["invalid"], (method, token)


def test_backup_code_and_disable_endpoints_refuse_other_methods(account):
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=False)
    for path in ("/2fa/backup-codes/", "/2fa/disable/"):
        assert client.put(path).status_code == 405


def test_a_session_still_owing_its_code_can_use_the_link(account, clock):
    trusted_browser(account, clock)
    path = not_me_path(only_alert(account, "new device is trusted"))
    owner = browser(FIREFOX_WINDOWS)
    sign_in(owner, account)
    assert owner.get("/")["Location"].startswith("/2fa/verify/")
    assert owner.get(path).status_code == 200
    assert owner.post(path).status_code == 200
    assert TrustedDevice.objects.get(user=account.user).revoked_at is not None


# --- the package's alerts: every kind, the setting, the templates ---------------


def test_a_new_country_alert_links_to_the_sign_in_it_is_about(account, clock, settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]
    home = browser(HTTP_X_FORWARDED_FOR="80.128.0.1")  # Germany
    sign_in(home, account)
    step_up(home, account, trust=True)
    home.post("/accounts/logout/")
    clock.shift(timedelta(days=2))
    mail.outbox.clear()

    abroad = browser(HTTP_X_FORWARDED_FOR="203.178.141.194")  # Japan
    abroad.cookies = home.cookies
    sign_in(abroad, account)
    clock.shift(timedelta(seconds=31))
    assert step_up(abroad, account, trust=False).status_code == 302
    message = only_alert(account, "from a new country")
    assert "new country" in message.body and "new country" in html_of(message)
    assert browser().post(not_me_path(message)).status_code == 200
    assert abroad.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.throttling
def test_a_password_burst_alert_points_to_the_devices_page(make_user, clock):
    carol = make_user("carol")
    attacker = browser(REMOTE_ADDR="203.0.113.66")
    for _ in range(10):
        attacker.post("/accounts/login/", {"username": "carol", "password": "wrong"})
        clock.shift(timedelta(minutes=1))
    clock.shift(timedelta(minutes=15))
    client = browser(REMOTE_ADDR="198.51.100.7")
    sign_in(client, carol)
    assert step_up(client, carol, trust=False).status_code == 302
    message = only_alert(carol, "many wrong passwords")
    assert "many wrong passwords" in html_of(message)
    # Recorded as the password is checked, before any session: the devices
    # page, not a link, is the way back.
    assert "http://testserver/devices/" in message.body


def test_a_second_factor_added_is_escaped_in_the_html_part(make_user):
    bob = make_user("bob", totp=False)
    mail.outbox.clear()
    TOTPDevice.objects.create(user=bob.user, name="<b>Phone</b> & co", confirmed=True)
    message = only_alert(bob, "second factor was added")
    assert "Device: <b>Phone</b> & co" in message.body  # plain text, as typed
    html = html_of(message)
    assert "&lt;b&gt;Phone&lt;/b&gt; &amp; co" in html and "<b>Phone" not in html
    assert not LINK_RE.search(message.body)  # no session did it: nothing to end


def test_a_second_factor_removed_alert(account):
    mail.outbox.clear()
    account.device.delete()
    message = only_alert(account, "second factor was removed")
    assert "/devices/" in html_of(message)


def test_a_passkey_added_alert_ends_the_session_that_added_it(account, clock):
    client = verified_browser(account, clock)
    assert add_passkey(client, PasskeyAuthenticator()).status_code == 302
    message = only_alert(account, "passkey was added")
    html_of(message)
    assert browser().post(not_me_path(message)).status_code == 200
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_the_setting_off_sends_no_alert(account, clock, settings):
    settings.TRUST_ALERT_EMAILS = False
    mail.outbox.clear()
    client = trusted_browser(account, clock)
    client.post("/accounts/logout/")
    thief = browser(FIREFOX_WINDOWS)
    thief.cookies = client.cookies
    sign_in(thief, account)
    account.device.delete()
    assert (
        SecurityEvent.objects.filter(
            user=account.user, kind__in=["device_trusted", "second_factor_removed"]
        ).count()
        == 2
    )
    assert mail.outbox == []


def test_the_setting_is_off_by_default(account, clock, unset):
    unset("TRUST_ALERT_EMAILS")
    mail.outbox.clear()
    trusted_browser(account, clock)
    assert SecurityEvent.objects.filter(user=account.user, kind="device_trusted").exists()
    assert mail.outbox == []


def test_a_sites_own_templates_win(account, clock, settings, tmp_path):
    alerts_dir = tmp_path / "trust" / "alerts"
    alerts_dir.mkdir(parents=True)
    (alerts_dir / "device_trusted_subject.txt").write_text("Example: new device\n")
    (alerts_dir / "device_trusted.txt").write_text("Ours. {{ not_me_url }}\n")
    (alerts_dir / "alert.html").write_text("<p>Our layout: {{ subject }}</p>\n")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    mail.outbox.clear()
    trusted_browser(account, clock)
    message = only_alert(account, "Example: new device")
    assert message.body.startswith("Ours. http://testserver/devices/not-me/")
    assert message.alternatives[0][0] == "<p>Our layout: Example: new device</p>\n"
    # The link in the site's own template is the real one, and works once.
    path = not_me_path(message)
    assert browser().post(path).status_code == 200
    assert browser().post(path).status_code == 400
