"""Story 5: ten one-time backup codes, hashed at rest, accepted wherever a TOTP code is."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection

from otp_flow import codes, verification
from otp_flow.models import BackupCode, BackupCodeDevice
from tests.conftest import Authenticator, browser, sign_in, step_up

CODE_RE = re.compile(r"<code>([0-9a-z-]+)</code>")


def give_codes(account) -> list[str]:
    device = BackupCodeDevice.objects.create(user=account.user, name="Backup codes")
    return device.replace_codes()


def codes_left(account) -> int:
    return BackupCode.objects.filter(device__user=account.user).count()


def failures(account) -> int:
    account.device.refresh_from_db()
    return account.device.throttling_failure_count


def pending_browser(account):
    client = browser()
    sign_in(client, account)
    assert client.get("/")["Location"].startswith("/2fa/verify/")
    return client


# --- the format, pure ----------------------------------------------------------


def test_new_codes_are_16_characters_of_the_clear_alphabet_and_differ():
    made = {codes.new_backup_code() for _ in range(200)}
    assert len(made) == 200
    for code in made:
        assert len(code) == 16 and set(code) <= set(codes.BACKUP_ALPHABET)
    assert not set("ilou") & set(codes.BACKUP_ALPHABET)


@pytest.mark.parametrize(
    "raw",
    ["abcd-efgh-jkmn-pqrs", "ABCD EFGH JKMN PQRS", " abcdefghjkmnpqrs ", "abcd-efgh--jkmn-pqrs"],
)
def test_backup_code_canonical_forms(raw):
    assert codes.canonical_backup(raw) == "abcdefghjkmnpqrs"


def test_lookalikes_are_read_as_crockford_does():
    assert codes.canonical_backup("oOiI-lL00-1111-2222") == "0011110011112222"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abcd-efgh-jkmn-pqr",  # 15
        "abcd-efgh-jkmn-pqrst",  # 17
        "abcd-efgh-jkmn-pqr\u212a",  # Kelvin sign lowers to "k"
        "\uff41\uff42\uff43\uff44-efgh-jkmn-pqrs",  # full-width
        "abcd_efgh_jkmn_pqrs",
        "abcd-efgh-jkmn-pqr\x00",
        "abcd\nefgh-jkmn-pqrs",
        "abcd-efgh-jkmn-pqru",  # u is not in the alphabet
        "a" * 10_000,
        None,
        ["abcdefghjkmnpqrs"],
    ],
)
def test_malformed_backup_codes_are_refused(raw):
    assert codes.canonical_backup(raw) is None


def test_totp_and_backup_codes_are_told_apart():
    assert codes.canonical_code("123 456") == codes.Code(codes.TOTP, "123456")
    assert codes.canonical_code("abcd-efgh-jkmn-pqrs").kind == codes.BACKUP
    assert codes.canonical_code("abcd-efgh-jkmn-pqrs", backup=False) is None
    assert codes.canonical_code("١٢٣٤٥٦") is None


# --- storage --------------------------------------------------------------------


def test_codes_are_stored_hashed(account, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    made = give_codes(account)
    rows = list(BackupCode.objects.filter(device__user=account.user).values())
    assert len(rows) == 10
    for row in rows:
        stored = " ".join(str(value) for value in row.values())
        assert not any(code in stored for code in made)
        assert not any(codes.format_backup_code(code) in stored for code in made)
        assert row["code_hash"].startswith("pbkdf2_sha256$")
    # Salted: the ten hashes have ten salts.
    assert len({row["code_hash"].split("$")[2] for row in rows}) == 10


# --- use at the code page ---------------------------------------------------------


def test_a_backup_code_opens_the_gate_once(account, clock):
    made = give_codes(account)
    first = pending_browser(account)
    response = first.post("/2fa/verify/", {"otp_token": codes.format_backup_code(made[3])})
    assert response.status_code == 302 and response["Location"] == "/"
    assert first.get("/").status_code == 200
    assert codes_left(account) == 9

    second = pending_browser(account)
    response = second.post("/2fa/verify/", {"otp_token": made[3]})
    assert response.status_code == 200
    assert "didn&#x27;t work" in response.content.decode()
    assert second.get("/").status_code == 302
    assert codes_left(account) == 9


def test_backup_code_typed_loosely_still_works(account):
    made = give_codes(account)
    client = pending_browser(account)
    typed = " ".join(made[0][i : i + 4].upper() for i in range(0, 16, 4))
    assert client.post("/2fa/verify/", {"otp_token": typed}).status_code == 302


def test_another_users_backup_code_does_not_work(account, make_user):
    bob = make_user("bob")
    bobs = give_codes(bob)
    give_codes(account)
    client = pending_browser(account)
    assert client.post("/2fa/verify/", {"otp_token": bobs[0]}).status_code == 200
    assert codes_left(bob) == 10


@pytest.mark.parametrize(
    "data",
    [
        {"otp_token": "\uff11\uff12\uff13\uff14\uff15\uff16"},  # full-width
        {"otp_token": "١٢٣٤٥٦"},
        {"otp_token": "abcd-efgh-jkmn-pqr\u212a"},
        {"otp_token": "+123456"},
        {"otp_token": "x" * 5000},
        {"otp_token": ""},
        {},
    ],
)
def test_malformed_input_costs_an_attempt_and_is_never_compared(account, data):
    made = give_codes(account)
    client = pending_browser(account)
    response = client.post("/2fa/verify/", data)
    assert response.status_code == 200
    assert "didn&#x27;t work" in response.content.decode()
    assert failures(account) == 1
    assert codes_left(account) == 10
    assert made  # untouched


def test_a_repeated_code_field_is_malformed_even_with_a_right_code(account):
    made = give_codes(account)
    client = pending_browser(account)
    body = f"otp_token={made[0]}&otp_token={account.code()}"
    response = client.post("/2fa/verify/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    assert codes_left(account) == 10
    assert failures(account) == 1


@pytest.mark.throttling
def test_a_wrong_backup_code_throttles_totp_too(account, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    give_codes(account)
    client = pending_browser(account)
    client.post("/2fa/verify/", {"otp_token": codes.new_backup_code()})
    response = client.post("/2fa/verify/", {"otp_token": account.code()})
    assert response.status_code == 200
    assert "Too many attempts" in response.content.decode()
    assert client.get("/").status_code == 302


@pytest.mark.throttling
def test_a_wrong_totp_code_throttles_backup_codes_too(account, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    made = give_codes(account)
    client = pending_browser(account)
    wrong = f"{(int(account.code()) + 1) % 1_000_000:06d}"
    client.post("/2fa/verify/", {"otp_token": wrong})
    response = client.post("/2fa/verify/", {"otp_token": made[0]})
    assert response.status_code == 200
    assert "Too many attempts" in response.content.decode()
    assert codes_left(account) == 10


@pytest.mark.throttling
def test_throttle_lapses_and_a_success_clears_the_shared_count(account, settings, clock):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    made = give_codes(account)
    client = pending_browser(account)
    client.post("/2fa/verify/", {"otp_token": codes.new_backup_code()})
    clock.shift(timedelta(seconds=2))
    assert client.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302
    assert failures(account) == 0
    assert BackupCodeDevice.objects.get(user=account.user).throttling_failure_count == 0


def test_hard_cap_stops_all_comparison_until_reset(account, settings, clock):
    settings.OTP_FLOW_MAX_FAILURES = 3
    made = give_codes(account)
    client = pending_browser(account)
    for _ in range(3):
        client.post("/2fa/verify/", {"otp_token": codes.new_backup_code()})
    assert failures(account) == 3

    for right in (account.code(), made[0]):
        response = client.post("/2fa/verify/", {"otp_token": right})
        assert response.status_code == 200
        assert "locked for this account" in response.content.decode()
    assert codes_left(account) == 10
    assert failures(account) == 3  # refused, not compared, not counted

    verification.reset_failures(account.user)
    assert client.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302


def test_default_hard_cap_is_100():
    from otp_flow.conf import conf

    assert conf.MAX_FAILURES == 100


# --- shown once, counted, regenerated ---------------------------------------------


def test_enrolling_shows_ten_codes_once_and_never_again(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    response = client.post("/2fa/setup/", {"otp_token": app.code()})

    html = response.content.decode()
    shown = CODE_RE.findall(html)
    assert len(shown) == 10 and len(set(shown)) == 10
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert 'download="backup-codes.txt"' in html
    # They work...
    assert all(codes.canonical_backup(code) for code in shown)
    # ...and no later page shows them again.
    for path in ["/2fa/backup-codes/", "/2fa/setup/", "/devices/", "/"]:
        later = client.get(path).content.decode()
        assert not any(code in later for code in shown), path
    page = client.get("/2fa/backup-codes/").content.decode()
    assert re.search(r'class="codes-left">10<', page)


def test_count_left_goes_down_as_codes_are_used(account, clock):
    made = give_codes(account)
    for used, code in enumerate(made[:2], start=1):
        client = pending_browser(account)
        assert client.post("/2fa/verify/", {"otp_token": code}).status_code == 302
        page = client.get("/2fa/backup-codes/").content.decode()
        assert re.search(rf'class="codes-left">{10 - used}<', page)


def test_regenerating_voids_the_old_set(account, clock):
    old = give_codes(account)
    client = browser()
    sign_in(client, account)
    step_up(client, account)  # a code just entered: sudo is fresh

    response = client.post("/2fa/backup-codes/")
    assert response.status_code == 200
    new = [codes.canonical_backup(code) for code in CODE_RE.findall(response.content.decode())]
    assert len(new) == 10 and not set(new) & set(old)
    assert codes_left(account) == 10
    assert "no-store" in response["Cache-Control"]

    other = pending_browser(account)
    assert other.post("/2fa/verify/", {"otp_token": old[0]}).status_code == 200
    assert other.post("/2fa/verify/", {"otp_token": new[0]}).status_code == 302


def test_backup_codes_page_needs_2fa_and_sign_in(make_user, db):
    assert browser().get("/2fa/backup-codes/")["Location"].startswith("/accounts/login/")
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    assert client.get("/2fa/backup-codes/")["Location"] == "/2fa/setup/"
    assert client.post("/2fa/backup-codes/")["Location"] == "/2fa/setup/"
    assert not BackupCode.objects.exists()


# --- the race ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_backup_code_raced_by_parallel_requests_works_once(postgres_only, make_user):
    account = make_user("racer")
    code = give_codes(account)[0]
    attempts = 8
    barrier = threading.Barrier(attempts)
    results: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            barrier.wait(timeout=10)
            outcome = verification.verify(account.user, codes.Code(codes.BACKUP, code))
            with lock:
                results.append(outcome.ok)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == attempts
    assert results.count(True) == 1
    assert codes_left(account) == 9


def test_codes_survive_a_secret_key_rotation(account, settings):
    made = give_codes(account)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a brand new secret key for this site, long enough 0123456789"
    assert not verification.verify(account.user, codes.Code(codes.BACKUP, made[0])).ok
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert verification.verify(account.user, codes.Code(codes.BACKUP, made[1])).ok


def test_a_backup_code_session_is_verified_by_the_backup_device(account):
    made = give_codes(account)
    client = pending_browser(account)
    client.post("/2fa/verify/", {"otp_token": made[0]})
    request = client.get("/").wsgi_request
    assert request.user.is_verified()
    assert isinstance(request.user.otp_device, BackupCodeDevice)
    assert request.trust.method == "otp" and request.trust.last_code_at is not None


def test_django_otp_verify_token_uses_the_device_directly(account):
    import django_otp

    made = give_codes(account)
    device = BackupCodeDevice.objects.get(user=account.user)
    assert django_otp.verify_token(account.user, device.persistent_id, made[0]) == device
    assert django_otp.verify_token(account.user, device.persistent_id, made[0]) is None
