"""The browser behind a request, as the recognition rules read it.

Its user agent, cut to a bounded length before anything parses or stores it
(docs/security.md R32), parsed once (``parsed_user_agent``, also the site's
``request.user_agent``), and its fingerprint: the agent's families and device
class, the client IP (``trust.client_ip``) and its network.
"""

from __future__ import annotations

from django.http import HttpRequest
from user_agents.parsers import UserAgent

from .client_ip import client_ip
from .rules.fingerprint import (
    MAX_USER_AGENT_LENGTH,
    Fingerprint,
    cached_user_agent,
    clean_user_agent,
    fingerprint,
)


def raw_user_agent(request: HttpRequest) -> str:
    value = request.META.get("HTTP_USER_AGENT") or ""
    return value[:MAX_USER_AGENT_LENGTH] if isinstance(value, str) else ""


def parsed_user_agent(request: HttpRequest) -> UserAgent:
    """user-agents' ``UserAgent`` for the request: the parse its fingerprint
    reads too (cut and cleaned alike), so one parse serves both."""
    cleaned = clean_user_agent(request.META.get("HTTP_USER_AGENT"), MAX_USER_AGENT_LENGTH)
    try:
        return cached_user_agent(cleaned)
    except Exception:  # a parser bug must not become a 500
        return cached_user_agent("")


def request_fingerprint(request: HttpRequest) -> Fingerprint:
    return fingerprint(request.META.get("HTTP_USER_AGENT"), client_ip(request))
