"""Django's cached_db sessions, with ended sessions that stay ended.

Django's ``cached_db`` store deletes the database row, then the cache entry.
A request of the same session that is in flight meanwhile can write the
cache entry back: ``load()`` copies a row it read just before the delete into
the cache, and ``save()`` sets the cache after a database write that landed
just before it. The session is then alive again in the cache, although the
revoke that ended it has returned (about 1 in 120 revokes under load).

This store writes a tombstone before deleting anything, and reads it in the
same cache round trip as the session (``get_many``), so a session ended once
stays ended for every request that starts after the end returned: steady
state still costs one cache read and no query.

Use it as ``SESSION_ENGINE = "trust.session_backends.cached_db"``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db

TOMBSTONE_PREFIX = "trust.session_backends.ended"


class SessionStore(cached_db.SessionStore):
    _cache: Any  # Django's; its type stubs do not declare it

    def _tombstone_key(self, session_key: str) -> str:
        return f"{TOMBSTONE_PREFIX}{session_key}"

    # --- reading ------------------------------------------------------------

    def _cached(self, values: dict[str, Any], session_key: str) -> tuple[bool, Any]:
        """(ended, data) out of one ``get_many`` answer."""
        return (
            self._tombstone_key(session_key) in values,
            values.get(self.cache_key_prefix + session_key),
        )

    def load(self) -> dict[str, Any]:
        key = self._get_or_create_session_key()  # type: ignore[attr-defined]
        try:
            values = self._cache.get_many([self.cache_key_prefix + key, self._tombstone_key(key)])
        except Exception:  # invalid cache keys on some backends: as Django does
            values = {}
        ended, data = self._cached(values, key)
        if ended:
            return self._ended()
        if data is not None:
            return data
        data = super().load()  # the database, copied into the cache
        if data and self._tombstone_key(key) in self._cache:
            # SECURITY: ended while we read the row: take the copy back.
            self._cache.delete(self.cache_key_prefix + key)
            return self._ended()
        return data

    async def aload(self) -> dict[str, Any]:
        key = await self._aget_or_create_session_key()  # type: ignore[attr-defined]
        try:
            values = await self._cache.aget_many(
                [self.cache_key_prefix + key, self._tombstone_key(key)]
            )
        except Exception:
            values = {}
        ended, data = self._cached(values, key)
        if ended:
            return self._ended()
        if data is not None:
            return data
        data = await super().aload()
        if data and await self._cache.ahas_key(self._tombstone_key(key)):
            await self._cache.adelete(self.cache_key_prefix + key)
            return self._ended()
        return data

    def _ended(self) -> dict[str, Any]:
        # Like a session the store does not know: a new key on the next save.
        self._session_key = None
        return {}

    # --- writing --------------------------------------------------------------

    def save(self, must_create: bool = False) -> None:
        super().save(must_create)
        if self.session_key and self._tombstone_key(self.session_key) in self._cache:
            # SECURITY: ended after our database write and before our cache
            # write (which brought it back): end it again.
            self._cache.delete(self.cache_key)

    async def asave(self, must_create: bool = False) -> None:
        await super().asave(must_create)
        if self.session_key and await self._cache.ahas_key(self._tombstone_key(self.session_key)):
            await self._cache.adelete(await self.acache_key())

    # --- ending -------------------------------------------------------------

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key:
            # First, so that nothing read or written from here on revives it.
            self._cache.set(self._tombstone_key(key), True, _tombstone_age())
        super().delete(session_key)

    async def adelete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key:
            await self._cache.aset(self._tombstone_key(key), True, _tombstone_age())
        await super().adelete(session_key)


def _tombstone_age() -> int:
    # As long as any session can live; a key is never handed out twice.
    return int(settings.SESSION_COOKIE_AGE)
