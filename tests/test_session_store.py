"""A revoked session stays ended under cached_db, even with a request in flight.

Django's cached_db store deletes the row, then the cache entry; a request of
the same session that read the row just before (or wrote it just before)
copies it back into the cache afterwards. The revoke is made to land at
exactly that moment with Django's own query hook (``execute_wrapper``),
right after the in-flight request's read or write of its session row.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import caches
from django.db import connection

from tests.conftest import browser, sign_in, step_up
from trust import flows
from trust.models import TrustedDevice

ENGINE = "trust.session_backends.cached_db"


@pytest.fixture
def cached_db(settings):
    settings.SESSION_ENGINE = ENGINE


@contextmanager
def revoke_right_after(statement: str, device: TrustedDevice):
    """Revoke ``device`` the moment a query on the session table that starts
    with ``statement`` has run: the request that made it is still in flight."""
    fired = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not fired and sql.lstrip().upper().startswith(statement) and "django_session" in sql:
            fired.append(sql)
            flows.revoke(device, reason="revoked_by_user")
        return result

    with connection.execute_wrapper(wrapper):
        yield fired
    assert fired, f"no {statement} on the session table: the race was not staged"


def trusted_laptop(account):
    laptop = browser()
    sign_in(laptop, account)
    step_up(laptop, account)
    laptop.post("/accounts/logout/")
    sign_in(laptop, account)  # a trusted sign-in: its session rests on the device
    assert laptop.get("/").status_code == 200
    return laptop, TrustedDevice.objects.get(user=account.user, revoked_at__isnull=True)


def signed_out(client) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_session_read_while_it_is_revoked_is_not_copied_back(cached_db, account, clock):
    laptop, device = trusted_laptop(account)
    # The cache no longer holds the session (evicted, or another server's):
    # the next request reads its row.
    caches["default"].delete(KEY_PREFIX + laptop.session.session_key)

    with revoke_right_after("SELECT", device):
        laptop.get("/")  # in flight while the revoke lands: either answer

    assert signed_out(laptop)
    assert signed_out(laptop)  # and stays so


def test_a_session_written_while_it_is_revoked_is_not_copied_back(cached_db, account, clock):
    laptop, device = trusted_laptop(account)
    # An hour on, the session's request writes it (trust re-checked, saved).
    clock.shift(timedelta(hours=1, seconds=1))

    with revoke_right_after("UPDATE", device):
        laptop.get("/")

    assert signed_out(laptop)


def test_a_signed_out_session_key_never_comes_back(cached_db, account, clock):
    laptop, _device = trusted_laptop(account)
    old_key = laptop.session.session_key
    laptop.post("/accounts/logout/")

    stale = browser()
    stale.cookies["sessionid"] = old_key
    assert signed_out(stale)


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_ended_session_copied_back_by_a_late_writer_stays_ended(cached_db, mode):
    """The store on its own, sync and async (ASGI): end a session, then let a
    late request put its old data back into the cache, as Django's would."""
    from asgiref.sync import async_to_sync

    from trust.session_backends.cached_db import SessionStore

    store = SessionStore()
    store["_auth_user_id"] = "1"
    store.save()
    key = store.session_key
    cache = caches["default"]

    if mode == "sync":
        SessionStore(key).delete()
        cache.set(KEY_PREFIX + key, {"_auth_user_id": "1"})
        assert SessionStore(key).load() == {}
    else:

        async def run():
            await SessionStore(key).adelete()
            await cache.aset(KEY_PREFIX + key, {"_auth_user_id": "1"})
            return await SessionStore(key).aload()

        assert async_to_sync(run)() == {}
