"""``TrustMiddleware`` on its own: ``RequestFactory`` requests through the gate.

Each request carries a real session (the configured store) signed in with
Django's ``login()``, and passes Django's ``AuthenticationMiddleware`` first,
as in a site's stack; the view behind the gate records whether it ran.
"""

from __future__ import annotations

import json
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from tests.agents import CHROME_WINDOWS
from tests.conftest import browser, sign_in, step_up
from trust.middleware import TrustMiddleware
from trust.state import SessionState

factory = RequestFactory(HTTP_USER_AGENT=CHROME_WINDOWS)


class View:
    """The rest of the stack: answers 200 and remembers what it saw."""

    def __init__(self) -> None:
        self.seen: list = []

    def __call__(self, request):
        self.seen.append(request)
        return HttpResponse("the view")


def store(session_key=None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def signed_in(user) -> str:
    """A session key whose session ``user`` signed in to (Django's login())."""
    request = factory.post("/accounts/login/")
    request.session = store()
    login(request, user, backend="trust.backends.ModelBackend")
    request.session.save()
    return request.session.session_key


def through_gate(path="/", session_key=None, **headers):
    view = View()
    request = factory.get(path, **headers)
    request.session = store(session_key)
    if session_key:
        request.COOKIES[settings.SESSION_COOKIE_NAME] = session_key
    response = AuthenticationMiddleware(TrustMiddleware(view))(request)
    if request.session.modified:  # as SessionMiddleware would
        request.session.save()
    return request, response, view


@pytest.mark.django_db
def test_an_anonymous_request_passes_untouched():
    request, response, view = through_gate("/")
    assert response.status_code == 200 and view.seen
    assert request.trust.method is None and not request.trust.pending
    # No session cookie: the session is never read (no Vary: Cookie).
    assert not request.session.accessed
    assert not response.has_header("Vary")


def test_a_user_without_a_second_factor_passes_as_password_only(make_user):
    account = make_user(totp=False)
    request, response, view = through_gate("/", signed_in(account.user))
    assert response.status_code == 200 and view.seen
    assert request.trust.method == "password" and not request.trust.pending
    assert request.user.is_verified() is False
    assert request.user.otp_device is None


def test_a_new_device_owes_a_code_and_the_view_never_runs(account):
    request, response, view = through_gate("/some/page/?x=1", signed_in(account.user))
    assert not view.seen
    assert response.status_code == 302
    assert response["Location"] == "/2fa/verify/?next=/some/page/%3Fx%3D1"
    assert request.trust.pending and request.trust.reasons == ("new_device",)
    assert request.user.is_verified() is False


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ACCEPT": "application/json"},
        {"CONTENT_TYPE": "application/json"},
    ],
)
def test_a_json_client_gets_the_401(account, headers):
    _request, response, view = through_gate("/api/thing/", signed_in(account.user), **headers)
    assert not view.seen
    assert response.status_code == 401
    assert json.loads(response.content) == {
        "error": "step_up_required",
        "verify_url": "/2fa/verify/",
        "reasons": ["new_device"],
    }


@pytest.mark.parametrize(
    ("path", "passes"),
    [
        ("/2fa/verify/", True),
        ("/accounts/logout/", True),
        ("/static/trustgate.css", True),
        ("/devices/", False),
        ("/2fa/setup/", False),
        ("/admin/", False),
        ("/static", False),
        ("/2fa/verify/../../devices/", False),
    ],
)
def test_only_exempt_urls_reach_a_session_that_owes_a_code(account, path, passes):
    key = signed_in(account.user)
    through_gate("/", key)  # the first request decides: a code is owed
    _request, response, view = through_gate(path, key)
    assert bool(view.seen) is passes, (path, response.status_code)


def test_the_decision_is_kept_so_later_requests_decide_nothing(
    account, django_assert_max_num_queries
):
    key = signed_in(account.user)
    through_gate("/", key)
    # A pending session's next request reads its session (its row, or the
    # cache); nothing else, not even the user: the decision says enough.
    with django_assert_max_num_queries(1):
        _request, response, _view = through_gate("/elsewhere/", key)
    assert response.status_code == 302


# --- request.user: decorated, never loaded by the gate -----------------------------


def verified_session(account) -> str:
    """The key of a session that entered a code (through the demo's views)."""
    client = browser()
    sign_in(client, account)
    assert step_up(client, account, trust=False).status_code == 302
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def reads_users(captured) -> bool:
    """Whether any captured query read the user table (the session may be
    a query or not, by the configured store)."""
    table = get_user_model()._meta.db_table
    return any(table in query["sql"] for query in captured.captured_queries)


def gate_after(before, session_key):
    """A request through Django's auth middleware, then ``before`` (another
    middleware of the site's, which may read or replace ``request.user``),
    then the gate. Returns the request and what ``before`` left as the user."""
    left: list = []

    def middle(request):
        before(request)
        left.append(request.user)
        return TrustMiddleware(View())(request)

    request = factory.get("/")
    request.session = store(session_key)
    request.COOKIES[settings.SESSION_COOKIE_NAME] = session_key
    AuthenticationMiddleware(middle)(request)
    return request, left[0]


def test_the_gate_does_not_load_the_user_and_decorates_it_on_first_use(
    account, django_assert_num_queries
):
    key = verified_session(account)
    with CaptureQueriesContext(connection) as gate:
        request, _ = gate_after(lambda request: None, key)
    assert not reads_users(gate)
    # Wrapped as django-otp's OTPMiddleware wraps it: Django's own lazy user
    # is what loads, once, when the view first reads it.
    with django_assert_num_queries(1):  # the user, on first use
        assert request.user.get_username() == account.user.get_username()
    assert request.user.is_verified() is True
    assert request.user.otp_device.persistent_id == account.device.persistent_id


def test_a_user_another_middleware_already_loaded_is_decorated(account):
    key = verified_session(account)
    request, _ = gate_after(lambda request: request.user.pk, key)
    assert request.user.is_verified() is True
    assert request.user.otp_device.persistent_id == account.device.persistent_id


@pytest.mark.parametrize("read_before", [False, True])
def test_the_verdict_is_taken_when_the_user_is_first_read(account, read_before):
    # Whatever came before the gate: a factor removed by the view before it
    # reads the user is seen (as a view that turns 2FA off and then renders).
    before = (lambda request: request.user.pk) if read_before else (lambda request: None)
    request, _ = gate_after(before, verified_session(account))
    SessionState.of(request).factor_removed()
    assert request.user.is_verified() is False


def test_a_plain_user_another_middleware_put_there_is_decorated(account):
    key = verified_session(account)
    model = type(account.user)

    def replace(request):  # as RemoteUserMiddleware leaves it after login()
        request.user = model.objects.get(pk=account.user.pk)

    request, _ = gate_after(replace, key)
    assert request.user.is_verified() is True
    assert request.user.otp_device.persistent_id == account.device.persistent_id


class OwnLazyUser(SimpleLazyObject):
    """A site's own lazy user (not Django's exact class)."""


def test_another_lazy_user_is_decorated_on_first_use_not_loaded_before(
    account, django_assert_num_queries
):
    key = verified_session(account)
    model = type(account.user)

    def replace(request):
        request.user = OwnLazyUser(lambda: model.objects.get(pk=account.user.pk))

    with CaptureQueriesContext(connection) as gate:
        request, _ = gate_after(replace, key)
    assert not reads_users(gate)
    with django_assert_num_queries(1):
        assert request.user.is_verified() is True
    assert request.user.otp_device.persistent_id == account.device.persistent_id


def test_an_anonymous_users_lazy_object_says_not_verified(db):
    request, _ = gate_after(lambda request: None, "no-such-session")
    assert not request.user.is_authenticated
    assert request.user.is_verified() is False and request.user.otp_device is None
