"""A browser for ``AsyncClient`` stories: its own cookie jar, its own user agent."""

from __future__ import annotations

from django.test import AsyncClient

from tests.agents import CHROME_WINDOWS


class AsyncBrowser(AsyncClient):
    """``AsyncClient`` sending its user agent on every request (its
    ``headers=`` default does not reach the ASGI scope's headers)."""

    def __init__(self, user_agent: str = CHROME_WINDOWS) -> None:
        super().__init__()
        self.user_agent = user_agent

    def generic(self, method, path, *args, headers=None, **kwargs):
        headers = {"user-agent": self.user_agent, **(headers or {})}
        return super().generic(method, path, *args, headers=headers, **kwargs)
