"""A session engine Trustgate knows nothing about (for trust.W010)."""

from django.contrib.sessions.backends.base import SessionBase


class SessionStore(SessionBase):
    pass
