"""Languages: the pages follow Accept-Language; twelve languages ship complete.

The catalogues are read with polib (no GNU gettext needed): every entry
translated, none fuzzy, placeholders kept, and the committed .mo files say
exactly what their .po files say.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import translation
from django_otp_webauthn.models import WebAuthnCredential

from otp_flow.models import BackupCodeDevice
from tests.conftest import START, browser, sign_in, step_up
from tests.passkey_authenticator import Authenticator
from tests.test_passkeys import add_passkey
from trust import reason_labels
from trust.models import PasswordThrottle

ROOT = Path(__file__).resolve().parent.parent
# The shipped languages, as Django codes (their catalogues' folders: to_locale).
SHIPPED = ("de", "fr", "es", "it", "nl", "pt-br", "pl", "ja", "zh-hans", "ru", "tr", "uk")
CATALOGUE_DIRS = (
    ROOT / "trust" / "locale",
    ROOT / "otp_flow" / "locale",
    ROOT / "project" / "locale",
)
CATALOGUES = [
    d / translation.to_locale(lang) / "LC_MESSAGES" / "django.po"
    for d in CATALOGUE_DIRS
    for lang in SHIPPED
]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")

# Per page and language: words the page must show (one proves the template,
# one the form or the view).
CODE_PAGE = {
    "en": ["Enter your code", "This browser is new to us.", "Trust this device"],
    "de": ["Code eingeben", "Dieser Browser ist uns neu.", "Diesem Gerät vertrauen"],
    "fr": [
        "Saisissez votre code",
        "Ce navigateur nous est inconnu.",
        "Faire confiance à cet appareil",
    ],
}
SIGN_IN_PAGE = {
    "en": ["Sign in", "Forgot your password?"],
    "de": ["Anmelden", "Passwort vergessen?", "Benutzername"],
    "fr": ["Se connecter", "Mot de passe oublié\u00a0?", "Nom d'utilisateur"],
}
SETUP_PAGE = {
    "en": ["Set up two-factor authentication", "Can't scan it?"],
    "de": ["Zwei-Faktor-Authentifizierung einrichten", "Scannen nicht möglich?"],
    "fr": ["Configurer l'authentification à deux facteurs", "Impossible de le scanner\u00a0?"],
}
DEVICES_PAGE = {
    "en": ["Trusted devices", "Chrome on Windows", "Device trusted"],
    "de": ["Vertrauenswürdige Geräte", "Chrome unter Windows", "Gerät als vertrauenswürdig"],
    "fr": ["Appareils de confiance", "Chrome sur Windows", "Appareil de confiance ajouté"],
}
# One passkey, never used yet: the page, and the words its script shows.
PASSKEYS_PAGE = {
    "en": ["Add a passkey", "Last used", "Never", 'data-failed="No passkey was made. Try again."'],
    "de": [
        "Passkey hinzufügen",
        "Zuletzt verwendet",
        "Nie",
        'data-failed="Es wurde kein Passkey erstellt. Versuchen Sie es erneut."',
    ],
    "fr": [
        "Ajouter une clé d'accès",
        "Dernière utilisation",
        "Jamais",
        "data-failed=\"Aucune clé d'accès n'a été créée. Réessayez.\"",
    ],
}
NO_EMAIL_NOTICE = {
    "en": ["Your account has no e-mail address, so security alerts"],
    "de": ["Für Ihr Konto ist keine E-Mail-Adresse hinterlegt."],
    "fr": ["Votre compte n'a pas d'adresse e-mail"],
}
# No backup codes yet: 0 is plural in English and German, singular in French.
BACKUP_PAGE = {
    "en": ["0</strong> unused backup codes left."],
    "de": ["0</strong> unbenutzte Backup-Codes."],
    "fr": ["0</strong> code de secours inutilisé."],
}


def page_text(response) -> str:
    return unescape(response.content.decode())


def assert_in_language(response, lang: str, expected: list[str]) -> None:
    assert response.status_code == 200
    content_language = lang
    assert response["Content-Language"] == content_language
    assert "Accept-Language" in response["Vary"]
    text = page_text(response)
    assert f'<html lang="{content_language}">' in text
    for words in expected:
        assert words in text, (lang, words)


def in_language(lang: str, **extra):
    return browser(HTTP_ACCEPT_LANGUAGE=f"{lang},en;q=0.5", **extra)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_the_code_page_speaks_the_browsers_language(account, lang):
    client = in_language(lang)
    assert sign_in(client, account).status_code == 302
    assert_in_language(client.get("/2fa/verify/"), lang, CODE_PAGE[lang])


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_a_wrong_code_is_refused_in_the_browsers_language(account, lang):
    client = in_language(lang)
    sign_in(client, account)
    response = client.post("/2fa/verify/", {"otp_token": "12345"})
    refused = {
        "en": "That code didn't work.",
        "de": "Dieser Code hat nicht funktioniert.",
        "fr": "Ce code n'a pas fonctionné.",
    }
    assert refused[lang] in page_text(response)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_the_sign_in_page_speaks_the_browsers_language(lang):
    assert_in_language(in_language(lang).get("/accounts/login/"), lang, SIGN_IN_PAGE[lang])


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_the_setup_page_speaks_the_browsers_language(make_user, lang):
    newcomer = make_user(totp=False)
    client = in_language(lang)
    sign_in(client, newcomer)
    assert_in_language(client.get("/2fa/setup/"), lang, SETUP_PAGE[lang])


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_the_devices_page_names_devices_and_events_in_the_browsers_language(account, clock, lang):
    client = in_language(lang)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    assert_in_language(client.get("/devices/"), lang, DEVICES_PAGE[lang])


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_the_backup_codes_count_takes_each_languages_plural(account, clock, lang):
    client = in_language(lang)
    sign_in(client, account)
    step_up(client, account)
    assert_in_language(client.get("/2fa/backup-codes/"), lang, BACKUP_PAGE[lang])


def passkey_browser(account, clock, lang: str):
    """alice in ``lang``, a code entered just now: the passkeys page is open to her."""
    client = in_language(lang)
    sign_in(client, account)
    assert step_up(client, account, trust=False).status_code == 302
    clock.shift(timedelta(seconds=31))  # the next code is a new time step
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_the_passkeys_page_speaks_the_browsers_language(account, clock, lang):
    client = passkey_browser(account, clock, lang)
    assert add_passkey(client, Authenticator()).status_code == 302
    assert_in_language(client.get("/2fa/passkeys/"), lang, PASSKEYS_PAGE[lang])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "refused"),
    [
        ("en", "The passkey could not be added. Try again."),
        ("de", "Der Passkey konnte nicht hinzugefügt werden. Versuchen Sie es erneut."),
        ("fr", "La clé d'accès n'a pas pu être ajoutée. Réessayez."),
    ],
)
def test_a_refused_passkey_is_said_in_the_browsers_language(account, clock, lang, refused):
    client = passkey_browser(account, clock, lang)
    # No ceremony was begun: whatever the answer says, nothing is kept.
    response = client.post("/2fa/passkeys/add/", {"name": "Laptop", "credential": "{}"})
    assert response.status_code == 400
    assert refused in page_text(response)
    assert not WebAuthnCredential.objects.filter(user=account.user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "button", "refused"),
    [
        ("en", "Use a passkey", "That passkey did not work. Try again, or enter a code."),
        (
            "de",
            "Passkey verwenden",
            "Dieser Passkey hat nicht funktioniert. Versuchen Sie es erneut oder geben Sie "
            "einen Code ein.",
        ),
        (
            "fr",
            "Utiliser une clé d'accès",
            "Cette clé d'accès n'a pas fonctionné. Réessayez ou saisissez un code.",
        ),
    ],
)
def test_the_code_pages_passkey_speaks_the_browsers_language(account, clock, lang, button, refused):
    assert add_passkey(passkey_browser(account, clock, "en"), Authenticator()).status_code == 302
    stranger = in_language(lang)  # no trusted device: the code page, with the passkey
    sign_in(stranger, account)
    assert_in_language(stranger.get("/2fa/verify/"), lang, [button])
    options = stranger.post("/2fa/verify/passkey/options/")
    assert options.status_code == 200
    response = stranger.post("/2fa/verify/passkey/", {"credential": "{}"})
    assert response.status_code == 400
    assert refused in page_text(response)


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "name"), [("en", "Passkey"), ("fr", "Clé d'accès")])
def test_an_unnamed_passkey_is_named_in_the_language_it_was_added_in(account, clock, lang, name):
    client = passkey_browser(account, clock, lang)
    assert add_passkey(client, Authenticator(), name="").status_code == 302
    assert WebAuthnCredential.objects.get(user=account.user).name == name


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "de", "fr"])
def test_the_no_email_notice_speaks_the_browsers_language(make_user, lang):
    newcomer = make_user(totp=False)
    newcomer.user.email = ""
    newcomer.user.save(update_fields=["email"])
    client = in_language(lang)
    assert sign_in(client, newcomer).status_code == 302
    assert_in_language(client.get("/"), lang, NO_EMAIL_NOTICE[lang])


@pytest.fixture
def staff(db):
    """A superuser without 2FA (sudo has no code to ask of them)."""
    return get_user_model().objects.create_superuser("root", "root@example.com", "x")


@pytest.mark.django_db
def test_the_admin_guard_speaks_german(staff, account):
    BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    client = in_language("de")
    client.force_login(staff)
    page = client.get("/admin/otp_flow/backupcodedevice/")
    assert page.status_code == 200 and page["Content-Language"] == "de"
    text = page_text(page)
    assert "Verbleibende Codes" in text  # the column
    assert "Fehlversuche bei Codes der ausgewählten Benutzer zurücksetzen" in text  # the action
    device = BackupCodeDevice.objects.get(user=account.user)
    done = client.post(
        "/admin/otp_flow/backupcodedevice/",
        {"action": "reset_code_failures", "_selected_action": [device.pk]},
        follow=True,
    )
    assert "Fehlversuche bei Codes von 1 Benutzer zurückgesetzt." in page_text(done)


@pytest.mark.django_db
def test_the_password_throttle_admin_speaks_french(staff, account):
    """Two throttles lifted: plural in French (n > 1), the scope a French word."""
    wrong = {"username": account.user.get_username(), "password": "not it"}
    assert browser().post("/accounts/login/", wrong).status_code == 200
    assert PasswordThrottle.objects.count() == 2  # the account's, the address's
    client = in_language("fr")
    client.force_login(staff)
    page = client.get("/admin/trust/passwordthrottle/")
    assert page.status_code == 200 and page["Content-Language"] == "fr"
    text = page_text(page)
    assert "Compte ou adresse" in text  # the column
    assert ">compte<" in text and ">adresse<" in text  # the scopes
    assert "Lever les limitations sélectionnées (oublier leurs échecs)" in text  # the action
    done = client.post(
        "/admin/trust/passwordthrottle/",
        {
            "action": "lift_selected",
            "_selected_action": list(PasswordThrottle.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert "2 limitations de mot de passe levées." in page_text(done)


@pytest.mark.django_db
def test_a_language_not_shipped_falls_back_to_english(account):
    response = browser(HTTP_ACCEPT_LANGUAGE="sw").get("/accounts/login/")  # Swahili: not shipped
    assert response["Content-Language"] == "en"
    assert "Forgot your password?" in page_text(response)


@pytest.mark.django_db
def test_no_english_is_left_on_the_german_pages(account, make_user, clock):
    """Every catalogue string whose German differs is gone from the German pages."""
    english = {
        entry.msgid
        for path in CATALOGUES
        if "/de/" in path.as_posix()
        for entry in polib.pofile(str(path))
        if entry.msgstr != entry.msgid and len(entry.msgid) > 12 and "%(" not in entry.msgid
    }
    client = in_language("de")
    sign_in(client, account)
    pages = [client.get("/2fa/verify/")]
    step_up(client, account)
    urls = ("/", "/devices/", "/2fa/setup/", "/2fa/backup-codes/", "/2fa/passkeys/")
    pages += [client.get(url) for url in urls]
    for response in pages:
        text = page_text(response)
        assert not [msgid for msgid in english if msgid in text], response.request["PATH_INFO"]


@pytest.mark.django_db
@pytest.mark.throttling
@pytest.mark.parametrize(
    ("lang", "wait"),
    [
        ("en", "Too many attempts. Wait 1 second before trying again."),
        ("de", "Zu viele Versuche. Warten Sie 1 Sekunde, bevor Sie es erneut versuchen."),
        ("fr", "Trop de tentatives. Patientez 1 seconde avant de réessayer."),
    ],
)
def test_one_second_to_wait_is_singular(account, time_machine, settings, lang, wait):
    """Not "Wait 1 seconds": the wait is a real plural in every language."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    time_machine.move_to(START, tick=False)
    client = in_language(lang)
    sign_in(client, account)
    wrong = f"{(int(account.code()) + 1) % 1_000_000:06d}"
    client.post("/2fa/verify/", {"otp_token": wrong})
    time_machine.shift(timedelta(milliseconds=500))  # half of the 1 s back-off left
    response = client.post("/2fa/verify/", {"otp_token": account.code()})
    assert wait in page_text(response)


@pytest.mark.django_db(transaction=True)
def test_the_alert_mail_is_in_the_language_of_the_sign_in(account, clock):
    mail.outbox.clear()  # the fixture's authenticator, added as a shell would, alerted too
    client = in_language("de")
    sign_in(client, account)
    step_up(client, account, trust=True)
    [message] = [m for m in mail.outbox if m.to == [account.user.email]]
    assert message.subject == "Ihrem Konto wurde ein neues vertrauenswürdiges Gerät hinzugefügt"
    assert "Gerät: Chrome unter Windows" in message.body
    assert "Hallo alice," in message.body


@pytest.mark.parametrize(
    ("lang", "label"), [("en", "new device"), ("de", "neues Gerät"), ("fr", "nouvel appareil")]
)
def test_reasons_are_shown_as_labels_and_a_sites_own_as_its_code(lang, label):
    with translation.override(lang):
        assert reason_labels.labels(["new_device", "site_rule_7"]) == [label, "site_rule_7"]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["passkey", "passkey removed", "many wrong passwords"]),
        ("de", ["Passkey", "Passkey entfernt", "viele falsche Passwörter"]),
        ("fr", ["clé d'accès", "clé d'accès supprimée", "de nombreux mots de passe erronés"]),
    ],
)
def test_the_passkey_and_password_throttle_reasons_have_labels(lang, words):
    """Recorded by passkeys (events, revocations) and by password throttling."""
    with translation.override(lang):
        assert reason_labels.labels(["passkey", "passkey_removed", "password_failures"]) == words


def test_the_demo_offers_the_shipped_languages_and_reads_accept_language():
    assert [code for code, _ in settings.LANGUAGES] == ["en", *SHIPPED]
    middleware = settings.MIDDLEWARE
    locale = middleware.index("django.middleware.locale.LocaleMiddleware")
    assert middleware.index("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < middleware.index("django.middleware.common.CommonMiddleware")


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_catalogue_entry_is_translated(path):
    po = polib.pofile(str(path))
    assert po.metadata["Language"] == path.parts[-3]
    assert po.percent_translated() == 100
    assert not po.untranslated_entries()
    assert not po.fuzzy_entries() and not po.metadata_is_fuzzy
    assert not po.obsolete_entries()
    for entry in po.translated_entries():
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for form in forms:
            assert form.strip(), entry.msgid
            # A plural form may leave the count out ("eine"), never add one.
            if entry.msgid_plural:
                assert set(PLACEHOLDER.findall(form)) <= set(wanted), entry.msgid
            else:
                assert sorted(PLACEHOLDER.findall(form)) == wanted, entry.msgid


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_compiled_catalogue_matches_its_source(path):
    """The committed .mo says what the .po says (run `make messages` if not)."""
    mo_path = path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run make messages"

    def contents(catalogue) -> dict:
        return {
            (entry.msgctxt, entry.msgid, entry.msgid_plural): (
                entry.msgstr,
                tuple(sorted(entry.msgstr_plural.items())),
            )
            for entry in catalogue
            if entry.msgid and not entry.obsolete and "fuzzy" not in entry.flags
        }

    po, mo = polib.pofile(str(path)), polib.mofile(str(mo_path))
    assert contents(mo) == contents(po)
    assert mo.metadata.get("Plural-Forms") == po.metadata.get("Plural-Forms")


@pytest.mark.parametrize("lang", SHIPPED)
def test_a_string_shared_by_catalogues_reads_the_same_in_each(lang):
    """The demo's catalogue (LOCALE_PATHS) wins for a shared msgid: no page of
    the apps may then read differently than their own catalogue says."""
    seen: dict[tuple, tuple[str, Path]] = {}
    for path in CATALOGUES:
        if path.parts[-3] != translation.to_locale(lang):
            continue
        for entry in polib.pofile(str(path)):
            key = (entry.msgctxt, entry.msgid)
            value = entry.msgstr or str(sorted(entry.msgstr_plural.items()))
            if key in seen:
                assert seen[key][0] == value, (key, seen[key][1], path)
            seen[key] = (value, path)
