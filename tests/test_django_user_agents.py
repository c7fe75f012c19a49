"""django-user-agents' ``request.user_agent`` and template filters come from
Trustgate's one fast parse: no second parse, no slow legacy parse, no cache
round trip of django-user-agents' own."""

from __future__ import annotations

import sys

import pytest
import ua_parser
from django.core.cache import cache
from django_user_agents.utils import get_cache_key

from tests.agents import CHROME_WINDOWS, GOOGLEBOT, SAFARI_IPHONE
from tests.conftest import browser, sign_in
from trust.rules.fingerprint import clear_caches

pytestmark = pytest.mark.urls("tests.urls_user_agents")
TRUST = "trust.middleware.TrustMiddleware"
THEIRS = "django_user_agents.middleware.UserAgentMiddleware"


@pytest.fixture
def with_django_user_agents(settings):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_user_agents"]
    # Only the keys these tests look at: clear() on a Redis cache would empty
    # the whole database, other workers' and other checkouts' keys with it.
    cache.delete_many([get_cache_key(ua) for ua in (CHROME_WINDOWS, SAFARI_IPHONE, GOOGLEBOT)])
    clear_caches()


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every user agent ua-parser parses (Trustgate's fast path and the
    legacy one ``user_agents.parse`` takes alike). A spy: parsing still runs."""
    seen: list[str] = []
    original = ua_parser.Parser.__call__

    def counted(self, user_agent, *args, **kwargs):
        seen.append(user_agent)
        return original(self, user_agent, *args, **kwargs)

    monkeypatch.setattr(ua_parser.Parser, "__call__", counted)
    return seen


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, "mobile=False pc=True bot=False browser=Chrome os=Windows"),
        (SAFARI_IPHONE, "mobile=True pc=False bot=False browser=Mobile Safari os=iOS"),
        (GOOGLEBOT, "mobile=False pc=False bot=True browser=Googlebot os=Other"),
    ],
)
def test_a_sign_in_and_its_pages_parse_the_user_agent_once(
    make_user, with_django_user_agents, parses, user_agent, expected
):
    account = make_user(totp=False)  # password only: every page answers
    client = browser(user_agent)
    assert sign_in(client, account).status_code == 302  # the sign-in fingerprints it
    for _ in range(3):
        page = client.get("/device/")
        assert page.status_code == 200
        assert page.content.decode() == expected
    assert parses == [user_agent]
    # django-user-agents never parsed it nor cached it.
    assert cache.get(get_cache_key(user_agent)) is None


def test_an_anonymous_page_parses_once_for_every_request_after(db, with_django_user_agents, parses):
    for _ in range(3):
        assert browser(SAFARI_IPHONE).get("/device/").content.decode().startswith("mobile=True")
    assert parses == [SAFARI_IPHONE]


def test_its_middleware_before_the_gate_is_outdone_by_it(
    db, with_django_user_agents, parses, settings
):
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index(TRUST), THEIRS)
    settings.MIDDLEWARE = middleware
    assert browser(CHROME_WINDOWS).get("/device/").status_code == 200
    assert parses == [CHROME_WINDOWS]
    assert cache.get(get_cache_key(CHROME_WINDOWS)) is None


def test_a_hostile_user_agent_is_cut_before_the_site_sees_it(db, with_django_user_agents, parses):
    hostile = "Mozilla/5.0 " + "(compatible; \x00" * 20_000
    page = browser(hostile).get("/device/")
    assert page.status_code == 200
    assert len(parses) == 1 and len(parses[0]) <= 512 and "\x00" not in parses[0]


def test_without_the_app_the_request_gets_no_user_agent_attribute(db, settings):
    response = browser().get("/accounts/login/")
    assert not hasattr(response.wsgi_request, "user_agent")


def test_without_django_user_agents_installed_the_checks_run(monkeypatch):
    """django-user-agents is an extra (trustgate[user-agents]): a site that did
    not install it runs its checks (manage.py migrate, runserver) all the same."""

    from django.core import checks

    for module in ("django_user_agents", "django_user_agents.middleware"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it raises ImportError
    assert [m.id for m in checks.run_checks() if m.level >= checks.ERROR] == []
