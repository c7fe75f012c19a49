"""A site that follows the quickstart keeps a plain ``login(request, user)``.

The quickstart's ``AUTHENTICATION_BACKENDS`` (read from its settings block in
docs/quickstart.md) with a sign-up view that signs the new user in, and Django's
``PasswordResetConfirmView(post_reset_login=True)``, over HTTP. With two
backends, Django's ``login()`` raises ``ValueError`` without ``backend=``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.conftest import PASSWORD, browser, sign_in, step_up
from tests.test_integration_guide import QUICKSTART, page_blocks

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_plain_login")]


def readme_backends() -> list[str]:
    """``AUTHENTICATION_BACKENDS`` as the quickstart's settings block leaves it."""
    (settings_block,) = [
        block.code for block in page_blocks(QUICKSTART) if block.path.endswith("settings.py")
    ]
    namespace = {
        "INSTALLED_APPS": ["django.contrib.admin"],
        "MIDDLEWARE": ["django.contrib.auth.middleware.AuthenticationMiddleware"],
        "TEMPLATES": [{}],
        "BASE_DIR": Path(),
    }
    exec(settings_block, namespace)  # the quickstart's own block
    return list(namespace["AUTHENTICATION_BACKENDS"])


@pytest.fixture(autouse=True)
def readme_settings(settings):
    settings.AUTHENTICATION_BACKENDS = readme_backends()


def test_a_sign_up_view_that_calls_login_signs_the_new_user_in(db):
    client = browser()
    response = client.post(
        "/plain/signup/", {"username": "newcomer", "email": "new@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="newcomer")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[BACKEND_SESSION_KEY] == "trust.backends.ModelBackend"
    home = client.get("/")  # a user without 2FA owes no code: through the gate
    assert home.status_code == 200 and home.wsgi_request.user == user


def test_a_password_reset_signs_in_and_the_gate_still_asks_for_the_code(account, clock):
    user = account.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    client = browser()
    form = client.get(f"/plain/reset/{uid}/{token}/")
    assert form.status_code == 302  # Django hides the token behind a redirect
    new = "a brand new horse battery staple 43"
    reset = client.post(form["Location"], {"new_password1": new, "new_password2": new})
    # Signed in by the reset, not let in: alice has 2FA and owes a code.
    assert reset.status_code == 302 and reset["Location"] == "/2fa/verify/?next=/"
    assert client.session["_auth_user_id"] == str(user.pk)
    gated = client.get("/")
    assert gated.status_code == 302 and gated["Location"].startswith("/2fa/verify/")
    assert step_up(client, account, trust=False).status_code == 302
    assert client.get("/").status_code == 200

    account.password = new  # and the new password signs in (the old one no more)
    assert sign_in(browser(), account).status_code == 302
