"""The admin's side doors: API tokens, privileges, password throttles and
autocomplete need a fresh code from a session let in by a trusted device.

Each story is the attacker's: the staff member's password and a copy of
their trusted laptop's cookies, no code entered (otp_flow.admin_site).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.authtoken.models import Token

from tests.conftest import browser, sign_in, trusted_browser
from tests.test_admin_guard import asked_for_code, fresh_code, trusted_admin
from trust.models import PasswordThrottle, TrustedDevice


@pytest.fixture
def root(make_user):
    """A superuser with 2FA on."""
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def laptop(root, clock):
    """The superuser's trusted laptop, signed in with the password alone."""
    return trusted_admin(root, trusted_browser(root, clock))


def model_pages(base: str, pk: int) -> list[str]:
    return [
        base,
        f"{base}add/",
        f"{base}{pk}/change/",
        f"{base}{pk}/delete/",
        f"{base}{pk}/history/",
    ]


# 1. API tokens


def test_api_tokens_are_neither_read_nor_minted_without_a_fresh_code(root, laptop, make_user):
    bob = make_user("bob")
    token = Token.objects.create(user=bob.user)
    base = "/admin/authtoken/tokenproxy/"
    for page in model_pages(base, bob.user.pk):
        response = laptop.get(page)
        assert asked_for_code(response, page), page
        assert token.key not in response.content.decode()
    # Minting one for the superuser, deleting bob's: asked, nothing done.
    add = f"{base}add/"
    assert asked_for_code(laptop.post(add, {"user": root.user.pk}), add)
    action = {"action": "delete_selected", "_selected_action": [bob.user.pk], "post": "yes"}
    assert asked_for_code(laptop.post(base, action), base)
    assert list(Token.objects.values_list("key", flat=True)) == [token.key]

    fresh_code(laptop, root, base)
    assert token.key in laptop.get(base).content.decode()
    assert laptop.post(add, {"user": root.user.pk}).status_code == 302
    assert Token.objects.filter(user=root.user).exists()


# 2. Privileges


@pytest.fixture
def group_admin(make_user):
    """A staff member (not a superuser, 2FA on) whose group may change groups."""
    editors = Group.objects.create(name="editors")
    editors.permissions.set(
        Permission.objects.filter(
            content_type__app_label="auth", codename__in=["view_group", "change_group"]
        )
    )
    account = make_user("editor", is_staff=True)
    account.user.groups.add(editors)
    return account


def test_a_staff_member_cannot_give_its_own_group_every_permission_without_a_code(
    group_admin, clock
):
    laptop = trusted_admin(group_admin, trusted_browser(group_admin, clock))
    editors = Group.objects.get(name="editors")
    before = set(editors.permissions.values_list("pk", flat=True))
    change = f"/admin/auth/group/{editors.pk}/change/"
    everything = {
        "name": "editors",
        "permissions": list(Permission.objects.values_list("pk", flat=True)),
    }
    assert asked_for_code(laptop.get(change), change)
    assert asked_for_code(laptop.post(change, everything), change)
    assert set(editors.permissions.values_list("pk", flat=True)) == before
    group_admin.user.refresh_from_db()
    assert not group_admin.user.has_perm("authtoken.add_tokenproxy")

    # With a fresh code the staff member's own right to change groups holds.
    fresh_code(laptop, group_admin, change)
    assert laptop.post(change, everything).status_code == 302
    assert editors.permissions.count() == Permission.objects.count()


def test_making_oneself_a_superuser_needs_a_fresh_code(root, laptop, make_user):
    """A user's is_staff, is_superuser, groups and permissions: the user model's change page."""
    mallory = make_user("mallory")
    change = f"/admin/auth/user/{mallory.user.pk}/change/"
    raise_up = {
        "username": "mallory",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [Group.objects.create(name="admins").pk],
        "user_permissions": list(Permission.objects.values_list("pk", flat=True)[:5]),
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    assert asked_for_code(laptop.post(change, raise_up), change)
    mallory.user.refresh_from_db()
    assert not (mallory.user.is_staff or mallory.user.is_superuser)
    assert not mallory.user.groups.exists() and not mallory.user.user_permissions.exists()


def test_permissions_and_their_tables_are_covered_by_the_rule():
    from django.contrib.auth import get_user_model

    from otp_flow.credential_models import holds_credentials

    user = get_user_model()
    for model in [Permission, Group, user, Group.permissions.through, user.groups.through]:
        assert holds_credentials(model), model


@pytest.fixture
def throttle(root):
    return PasswordThrottle.objects.create(
        scope=PasswordThrottle.ACCOUNT, key="0" * 64, user=root.user, failures=50
    )


def test_a_password_throttle_is_lifted_neither_by_its_delete_page_nor_by_the_action_without_a_code(
    root, laptop, throttle
):
    base = "/admin/trust/passwordthrottle/"
    for page in model_pages(base, throttle.pk):
        assert asked_for_code(laptop.get(page), page), page
    delete = f"{base}{throttle.pk}/delete/"
    assert asked_for_code(laptop.post(delete, {"post": "yes"}), delete)
    lift = {"action": "lift_selected", "_selected_action": [throttle.pk]}
    assert asked_for_code(laptop.post(base, lift), base)
    assert PasswordThrottle.objects.filter(pk=throttle.pk, failures=50).exists()

    fresh_code(laptop, root, delete)
    assert laptop.post(delete, {"post": "yes"}).status_code == 302
    assert not PasswordThrottle.objects.filter(pk=throttle.pk).exists()


# 3. Autocomplete


def autocomplete(app_label: str, model_name: str, field_name: str, term: str = "") -> str:
    query = {"app_label": app_label, "model_name": model_name, "field_name": field_name}
    return "/admin/autocomplete/?" + urlencode({**query, "term": term})


CREDENTIAL_REMOTES = [
    ("trust", "trustedsession", "device"),  # every user's trusted devices, by IP
    ("trust", "securityevent", "user"),  # the user list
    ("otp_flow", "backupcode", "device"),  # backup-code sets
    ("auth", "user", "groups"),  # groups
    ("authtoken", "tokenproxy", "user"),
]


@pytest.mark.parametrize(("app_label", "model_name", "field_name"), CREDENTIAL_REMOTES)
def test_autocomplete_about_a_credential_model_needs_a_fresh_code(
    root, laptop, app_label, model_name, field_name
):
    path = autocomplete(app_label, model_name, field_name)
    assert asked_for_code(laptop.get(path), path)


def test_autocomplete_answers_after_a_fresh_code(root, laptop):
    path = autocomplete("trust", "trustedsession", "device")
    fresh_code(laptop, root, path)
    answer = laptop.get(path)
    assert answer.status_code == 200
    device = TrustedDevice.objects.get(user=root.user)
    assert answer.json()["results"] == [{"id": str(device.pk), "text": str(device)}]


UNRESOLVABLE = [
    "/admin/autocomplete/",
    "/admin/autocomplete/?app_label=trust&model_name=trustedsession",
    autocomplete("nowhere", "trustedsession", "device"),
    autocomplete("trust", "nothing", "device"),
    autocomplete("trust", "trustedsession", "nothing"),
    autocomplete("trust", "trustedsession", "session_key"),  # not a relation
    autocomplete("trust.trustedsession", "", "device"),
    autocomplete("trust", "trustedsession", "device__user"),
    autocomplete("\x00", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "é"),
    "/admin/autocomplete/?app_label=trust&model_name=trustedsession&field_name=device"
    "&field_name=&term=1",
]


@pytest.mark.parametrize("path", UNRESOLVABLE)
def test_autocomplete_that_names_no_model_is_sent_for_a_code(root, laptop, path):
    assert asked_for_code(laptop.get(path), path)


@pytest.mark.parametrize("path", UNRESOLVABLE)
def test_autocomplete_that_names_no_model_is_djangos_403_for_a_user_with_no_code_to_give(
    make_user, path
):
    operator = make_user("operator", totp=False, is_staff=True, is_superuser=True)
    client = browser()
    sign_in(client, operator)
    assert client.get(path).status_code == 403


def test_autocomplete_about_a_model_that_needs_no_code_answers(root, laptop, settings):
    settings.ROOT_URLCONF = "tests.urls_own_admin_site"
    query = {"app_label": "admin", "model_name": "logentry", "field_name": "content_type"}
    path = "/harmless-admin/autocomplete/?" + urlencode({**query, "term": "group"})
    answer = laptop.get(path)
    assert answer.status_code == 200
    assert [row["text"] for row in answer.json()["results"]] == [
        "Authentication and Authorization | group"
    ]
    # The same query through a site whose content types show permissions inline.
    inline = path.replace("/harmless-admin/", "/own-admin/")
    assert asked_for_code(laptop.get(inline), inline)


def test_view_on_site_of_a_credential_model_needs_a_fresh_code(root, laptop):
    from django.contrib.contenttypes.models import ContentType

    user_type = ContentType.objects.get_for_model(root.user)
    huge = "9" * 30
    for path in [
        f"/admin/r/{user_type.pk}/{root.user.pk}/",
        "/admin/r/x/1/",
        "/admin/r/999999/1/",
        f"/admin/r/{huge}/1/",
        "/admin/r/-1/1/",
    ]:
        assert asked_for_code(laptop.get(path), path), path
