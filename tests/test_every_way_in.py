"""Every way in passes the gate: the admin's login and any other LoginView."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import browser, sign_in

pytestmark = pytest.mark.django_db(transaction=False)


def follow(client, response, limit=10):
    """Follow redirects by hand, failing on a loop."""
    seen = []
    while response.status_code in (301, 302) and len(seen) < limit:
        location = response["Location"]
        assert location not in seen, f"redirect loop: {[*seen, location]}"
        seen.append(location)
        response = client.get(location)
    assert response.status_code not in (301, 302), f"too many redirects: {seen}"
    return response, seen


@pytest.fixture
def staff(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


def test_admin_login_is_gated_and_leads_to_the_admin_after_the_code(staff, clock):
    client = browser()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": staff.password, "next": "/admin/"},
    )
    assert response.status_code == 302

    page, _hops = follow(client, response)
    assert page.status_code == 200
    assert page.request["PATH_INFO"] == "/2fa/verify/"
    assert client.get("/admin/").status_code == 302  # not before the code
    assert client.get("/admin/", HTTP_ACCEPT="application/json").status_code == 401

    response = client.post("/2fa/verify/?next=/admin/", {"otp_token": staff.code()})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    admin, _ = follow(client, response)
    assert admin.status_code == 200
    assert admin.request["PATH_INFO"] == "/admin/"
    assert admin.wsgi_request.user.is_verified()


def test_pending_session_on_the_admin_login_page_does_not_loop(staff):
    client = browser()
    client.post("/admin/login/", {"username": "root", "password": staff.password})
    for path in ("/admin/login/", "/admin/login/?next=/admin/", "/admin/auth/user/"):
        page, hops = follow(client, client.get(path))
        assert page.status_code == 200 and page.request["PATH_INFO"] == "/2fa/verify/", hops


def test_trusted_browser_reaches_the_admin_with_the_password_only(staff, clock):
    client = browser()
    client.post("/admin/login/", {"username": "root", "password": staff.password})
    client.post("/2fa/verify/", {"otp_token": staff.code(), "trust_device": "on"})
    client.post("/admin/logout/")
    clock.shift(timedelta(seconds=31))

    client.post("/admin/login/", {"username": "root", "password": staff.password})
    assert client.get("/admin/").status_code == 200


@pytest.mark.urls("tests.urls_other_login")
def test_another_login_view_is_gated_too(account):
    client = browser()
    response = client.post("/partner/sign-in/", {"username": "alice", "password": account.password})
    # Its own answer already leads to the code page, its redirect kept as next.
    assert response.status_code == 302
    assert response["Location"] == "/2fa/verify/?next=/devices/"

    gated = client.get("/devices/")
    assert gated.status_code == 302 and gated["Location"].startswith("/2fa/verify/")
    response = client.post("/2fa/verify/?next=/devices/", {"otp_token": account.code()})
    assert response["Location"] == "/devices/"
    assert client.get("/devices/").status_code == 200


def test_code_page_signs_out_through_the_sites_own_view(account, settings):
    client = browser()
    sign_in(client, account)
    html = client.get("/2fa/verify/").content.decode()
    assert html.count('action="/accounts/logout/"') == 2  # the page's and the site's header
    settings.TRUST_LOGOUT_URL_NAME = "no-such-view"
    response = client.get("/2fa/verify/")
    assert response.status_code == 200  # no 500...
    # ...and the code page offers no form pointing nowhere (the header's stays).
    assert response.content.decode().count('action="/accounts/logout/"') == 1


@pytest.mark.urls("tests.urls_remote_user")
def test_a_middleware_sign_in_without_a_session_cookie_is_gated_before_the_view(account, settings):
    from tests import urls_remote_user

    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("trust.middleware.TrustMiddleware"),
        "django.contrib.auth.middleware.RemoteUserMiddleware",
    )
    settings.MIDDLEWARE = middleware
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.RemoteUserBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    urls_remote_user.CALLS.clear()

    response = browser().post("/transfer/", REMOTE_USER="alice")
    assert response.status_code == 302
    assert response["Location"].startswith("/2fa/verify/")
    assert urls_remote_user.CALLS == []  # the view never ran


def test_the_admins_password_change_needs_a_fresh_code_too(make_user, clock):
    from tests.conftest import trusted_browser

    staff = make_user("root", is_staff=True)
    client = trusted_browser(staff, clock)
    sign_in(client, staff)
    assert client.get("/").wsgi_request.trust.method == "trusted_device"
    new = "another horse battery staple 43"
    response = client.post(
        "/admin/password_change/",
        {"old_password": staff.password, "new_password1": new, "new_password2": new},
    )
    assert response["Location"].startswith("/2fa/verify/?next=/admin/password_change/")
    staff.user.refresh_from_db()
    assert not staff.user.check_password(new)
