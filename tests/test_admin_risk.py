"""The admin's risk page of the sign-in history: rates and reasons over time, the what-if.

Reached as staff do: signed in with a code (the sudo admin asks a fresh code
for any page of the sign-in history), over HTTP. The history is made by
signing in through the test client, or written as rows for the numbers
checked by hand.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission

from tests.agents import FIREFOX_WINDOWS
from tests.conftest import START, browser, sign_in, step_up, trusted_browser
from tests.test_csp import assert_strict, inline_problems
from trust import sign_in_stats
from trust.models import SignInAttempt

PAGE = "/admin/trust/signinattempt/risk/"
REASONS = "Sign-ins asked for a code or refused, by reason (a sign-in may have several)"


@pytest.fixture
def staff(make_user):
    """A superuser with 2FA on."""
    return make_user("root", is_staff=True, is_superuser=True)


def admin_with_code(staff, clock):
    """Signed in just now with a code: the sudo admin lets it in."""
    client = browser(FIREFOX_WINDOWS)
    sign_in(client, staff)
    assert step_up(client, staff, trust=False).status_code == 302
    return client


def answer(response) -> str:
    """The what-if's sentence, as a person reads it."""
    page = response.content.decode()
    match = re.search(r'<p class="trust-risk-answer" id="trust-risk-answer">(.*?)</p>', page, re.S)
    assert match, "no what-if answer on the page"
    return html.unescape(match.group(1))


def table_rows(response, caption: str) -> list[list[str]]:
    """The cells of the table with ``caption``, row by row, as text."""
    page = response.content.decode()
    start = page.index(f"<caption>{caption}</caption>")
    body = page[start : page.index("</table>", start)]
    body = body[body.index("<tbody>") :]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


# Rows of the history by hand, relative to the tests' clock (START, a Monday):
# (days ago, outcome, reasons, score).
HISTORY = [
    (1, "allowed", [], 0.01),
    (1, "allowed", [], 0.05),
    (1, "stepped_up", ["new_device", "new_asn"], 0.5),
    (1, "denied", ["blocked_address"], None),
    (3, "allowed", [], 0.1),
    (3, "allowed", [], 0.2),
    (3, "allowed", ["new_asn"], 0.3),  # let in: its reason is no step-up's
    (3, "passed", ["risk_score"], 1.0),
    (3, "failed_password", [], None),
    (10, "passed", ["new_block"], 2.0),
    (10, "allowed", [], None),  # not scored
    (35, "stepped_up", ["impossible_travel"], 5.0),  # before the last 30 days
]


@pytest.fixture
def history(make_user, settings, clock):
    """The rows above for one user; the staff's own sign-in adds none (the
    risk model off), so every number on the page is the table's. The site's
    step-up threshold is 0.3 here, the one the numbers were worked out for
    by hand (the default is 1)."""
    settings.TRUST_RISK_ENABLED = False
    settings.TRUST_RISK_STEP_UP = 0.3
    user = make_user("bob").user
    for days, outcome, reasons, score in HISTORY:
        SignInAttempt.objects.create(
            user=user,
            at=START - timedelta(days=days),
            outcome=outcome,
            reasons=reasons,
            score=score,
        )
    return user


def test_the_what_if_counts_the_scored_sign_ins_at_or_above_the_threshold(staff, history, clock):
    admin = admin_with_code(staff, clock)
    # 8 scored sign-ins in the last 30 days; today's 0.3 asks 0.3, 0.5, 1, 2.
    assert answer(admin.get(PAGE)) == (
        "With a step-up threshold of 0.3, 50.0 % of the last 30 days' password sign-ins that"
        " were scored (4 of 8) would have been asked for a code by the score (50.0 % at"
        " today's 0.3)."
    )
    assert answer(admin.get(PAGE, {"threshold": "0.1"})) == (
        "With a step-up threshold of 0.1, 75.0 % of the last 30 days' password sign-ins that"
        " were scored (6 of 8) would have been asked for a code by the score (50.0 % at"
        " today's 0.3)."
    )
    assert "12.5 % of the last 30 days'" in answer(admin.get(PAGE, {"threshold": "1.5"}))
    # 90 days take in the 35-day-old sign-in scored 5.
    assert "5 of 9" in answer(admin.get(PAGE, {"threshold": "0.3", "days": "90"}))
    assert "(0 of 8)" in answer(admin.get(PAGE, {"threshold": "1000000"}))
    assert "(8 of 8)" in answer(admin.get(PAGE, {"threshold": "0"}))
    # The form shows what the page is drawn with.
    page = admin.get(PAGE, {"threshold": "0.1"}).content.decode()
    assert '<option value="30" selected>' in page and '<option value="day" selected>' in page


def test_the_what_if_follows_the_setting_in_force(staff, history, clock, settings):
    settings.TRUST_RISK_STEP_UP = 1.0
    admin = admin_with_code(staff, clock)
    assert "(25.0 % at today's 1)" in answer(admin.get(PAGE, {"threshold": "0.1"}))
    curve = table_rows(admin.get(PAGE), "Scored sign-ins at or above each threshold")
    assert ["0.001", "8", "100.0 %"] in curve
    assert ["1", "2", "25.0 %"] in curve
    assert ["1000", "0", "0.0 %"] in curve


def test_the_rates_and_reasons_by_day(staff, history, clock):
    admin = admin_with_code(staff, clock)
    response = admin.get(PAGE)
    assert response.status_code == 200
    rows = table_rows(response, "Sign-ins by outcome")
    assert len(rows) == 30  # every day of the period, the empty ones too
    by_day = {row[0]: row[1:] for row in rows}
    assert by_day["05/31/2026"] == ["4", "1 (25 %)", "1 (25 %)", "0"]
    assert by_day["05/29/2026"] == ["4", "1 (25 %)", "0 (0 %)", "1"]
    assert by_day["05/22/2026"] == ["2", "1 (50 %)", "0 (0 %)", "0"]
    assert by_day["06/01/2026"] == ["0", "0", "0", "0"]
    reasons = table_rows(
        response, "Sign-ins asked for a code or refused, by reason (a sign-in may have several)"
    )
    assert sorted(reasons) == sorted(
        [
            ["new device new_device", "1", "0"],
            ["sign-in from a new internet provider new_asn", "1", "0"],
            ["unusual for your account risk_score", "1", "0"],
            ["sign-in from a new range of addresses new_block", "1", "0"],
            ["blocked address blocked_address", "0", "1"],
        ]
    )
    ninety = table_rows(
        admin.get(PAGE, {"days": "90"}),
        REASONS,
    )
    assert [
        "too far from your last sign-in for the time between them impossible_travel",
        "1",
        "0",
    ] in ninety


def test_the_rates_by_week_start_on_monday(staff, history, clock):
    admin = admin_with_code(staff, clock)
    rows = table_rows(admin.get(PAGE, {"bucket": "week"}), "Sign-ins by outcome")
    by_week = {row[0]: row[1:] for row in rows}
    # The last 30 days start on Sunday 3 May: its week began on Monday 27 April.
    assert list(by_week) == [
        "04/27/2026",
        "05/04/2026",
        "05/11/2026",
        "05/18/2026",
        "05/25/2026",
        "06/01/2026",
    ]
    assert by_week["05/25/2026"] == ["8", "2 (25 %)", "1 (12 %)", "1"]
    assert by_week["05/18/2026"] == ["2", "1 (50 %)", "0 (0 %)", "0"]


def test_the_charts_are_svg_with_no_inline_script_or_style(staff, history, clock):
    admin = admin_with_code(staff, clock)
    response = admin.get(PAGE, {"threshold": "0.1"})
    page = response.content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert_strict(response)
    found = inline_problems(page)
    assert found.problems == []
    assert '<link rel="stylesheet" href="/static/trust/admin-risk.css">' in page
    # The curve marks today's threshold and the chosen one.
    assert "today: 0.3" in page and "chosen: 0.1" in page


def test_the_reasons_are_counted_from_a_bounded_number_of_rows(staff, history, clock):
    since = sign_in_stats.period_start(30)
    complete = sign_in_stats.reason_counts(since, "day")
    assert complete.complete and complete.asked["new_device"] == 1
    # Newest first: the bound keeps the latest rows and says it stopped.
    bounded = sign_in_stats.reason_counts(since, "day", limit=2)
    assert not bounded.complete
    assert bounded.covered_from.isoformat() == "2026-05-31"
    assert dict(bounded.asked) == {"new_device": 1, "new_asn": 1}
    assert dict(bounded.denied) == {"blocked_address": 1}


def test_the_page_shows_history_made_by_signing_in(staff, make_user, clock):
    bob = make_user("bob")
    wrong = browser()
    sign_in(wrong, type(bob)(bob.user, "not bob's password", bob.device))
    asked = browser()
    sign_in(asked, bob)  # a new browser: a code is owed, and never given
    admin = admin_with_code(staff, clock)  # a new browser too, code given
    response = admin.get(PAGE)
    assert response.status_code == 200
    rows = table_rows(response, "Sign-ins by outcome")
    assert rows[-1] == ["06/01/2026", "2", "2 (100 %)", "0 (0 %)", "1"]
    reasons = table_rows(
        response, "Sign-ins asked for a code or refused, by reason (a sign-in may have several)"
    )
    assert ["new device new_device", "2", "0"] in reasons


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threshold", "text"),
        ("threshold", "NaN"),
        ("threshold", "nan"),
        ("threshold", "inf"),
        ("threshold", "-Infinity"),
        ("threshold", "-0.1"),
        ("threshold", "1e999"),
        ("threshold", "1e7"),
        ("threshold", "0x10"),
        ("threshold", "<script>alert(1)</script>"),
        ("threshold", "0.3\x00"),
        ("days", "8"),
        ("days", "-30"),
        ("days", "1e999"),
        ("days", "99999999999999999999999"),
        ("bucket", "year"),
        ("bucket", '"><svg onload=alert(1)>'),
    ],
)
def test_hostile_choices_are_form_errors_and_the_page_shows_the_defaults(
    staff, history, clock, field, value
):
    admin = admin_with_code(staff, clock)
    response = admin.get(PAGE, {field: value})
    assert response.status_code == 200
    page = response.content.decode()
    assert "errornote" in page and 'class="errorlist' in page
    assert field in response.context["form"].errors
    # The defaults: 30 days by day, today's threshold.
    assert answer(response).startswith(
        "With a step-up threshold of 0.3, 50.0 % of the last 30 days'"
    )
    assert len(table_rows(response, "Sign-ins by outcome")) == 30
    assert "<script>alert" not in page and "<svg onload" not in page
    assert inline_problems(page).problems == []


def test_the_sign_in_history_links_to_the_page(staff, history, clock):
    admin = admin_with_code(staff, clock)
    listing = admin.get("/admin/trust/signinattempt/").content.decode()
    assert f'<li><a href="{PAGE}">Risk: step-ups and refusals</a></li>' in listing


def test_a_trusted_device_session_is_asked_for_a_fresh_code_first(staff, history, clock):
    laptop = trusted_browser(staff, clock)
    assert sign_in(laptop, staff).status_code == 302
    assert laptop.get("/admin/").wsgi_request.trust.method == "trusted_device"
    response = laptop.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/2fa/verify/?next={quote(PAGE, safe='/')}"
    entered = laptop.post("/2fa/verify/", {"otp_token": staff.code(), "next": PAGE})
    assert entered["Location"] == PAGE
    assert laptop.get(PAGE).status_code == 200


def test_a_user_who_is_not_staff_is_sent_to_the_admin_login(make_user, history, clock):
    user = make_user("mallory")
    client = browser()
    sign_in(client, user)
    assert step_up(client, user, trust=False).status_code == 302
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={PAGE}"
    assert browser().get(PAGE)["Location"] == f"/admin/login/?next={PAGE}"


def test_staff_without_the_permission_to_view_the_history_are_refused(make_user, history, clock):
    clerk = make_user("clerk", is_staff=True)
    client = admin_with_code(clerk, clock)
    assert client.get(PAGE).status_code == 403
    clerk.user.user_permissions.add(Permission.objects.get(codename="view_signinattempt"))
    assert client.get(PAGE).status_code == 200


def test_the_page_speaks_german(staff, history, clock):
    client = browser(FIREFOX_WINDOWS, HTTP_ACCEPT_LANGUAGE="de")
    sign_in(client, staff)
    assert step_up(client, staff, trust=False).status_code == 302
    response = client.get(PAGE, {"threshold": "0.1"})
    page = response.content.decode()
    assert "Risiko: verlangte Codes und Ablehnungen" in page
    assert answer(response) == (
        "Mit einer Schwelle von 0,1 hätte der Score bei 75,0 % der bewerteten"
        " Passwort-Anmeldungen der letzten 30 Tage (6 von 8) einen Code verlangt"
        " (50,0 % bei der heutigen Schwelle 0,3)."
    )
    assert "neues Gerät" in page or "neues Ger&auml;t" in page
    assert 'value="0.1"' in page  # the field reads what was typed


def test_days_are_the_sites_own_in_its_time_zone(make_user, settings, clock):
    settings.TIME_ZONE = "America/New_York"
    user = make_user("bob").user
    late = datetime(2026, 5, 31, 2, 0, tzinfo=UTC)  # 30 May, 22:00 in New York
    SignInAttempt.objects.create(user=user, at=late, outcome="stepped_up", reasons=["new_asn"])
    since = sign_in_stats.period_start(7)
    assert since.isoformat() == "2026-05-26T00:00:00-04:00"
    buckets = {b.start.isoformat(): b for b in sign_in_stats.rates(since, "day")}
    assert list(buckets)[-1] == "2026-06-01"
    assert buckets["2026-05-30"].asked == 1 and buckets["2026-05-31"].asked == 0
    reasons = sign_in_stats.reason_counts(since, "day")
    assert reasons.by_bucket == {"new_asn": {date(2026, 5, 30): 1}}


@pytest.mark.parametrize("threshold", ["1e-300", "999999", "0.0005"])
def test_a_threshold_off_the_curve_is_marked_at_its_end(staff, history, clock, threshold):
    admin = admin_with_code(staff, clock)
    response = admin.get(PAGE, {"threshold": threshold})
    assert response.status_code == 200 and not response.context["form"].errors
    page = response.content.decode()
    curve = page[page.index('aria-labelledby="chart-curve-t chart-curve-d"') :]
    curve = curve[: curve.index("</svg>")]
    # The curve still spans the plot, 0.001 to 1000; the marker is at an end.
    points = re.search(r'<polyline class="chart-line chart-series-0" points="([^"]+)"', curve)
    xs = [float(point.split(",")[0]) for point in points.group(1).split()]
    assert (xs[0], xs[-1]) == (56.0, 704.0)
    marker = re.findall(r'<line class="chart-marker" x1="([0-9.]+)"', curve)[-1]
    assert float(marker) in (56.0, 704.0)


def test_a_sites_own_reason_is_shown_as_text_in_the_chart_and_the_table(staff, history, clock):
    hostile = '<img src=x onerror="alert(1)">'
    SignInAttempt.objects.create(
        user=history, at=START - timedelta(days=2), outcome="denied", reasons=[hostile]
    )
    admin = admin_with_code(staff, clock)
    response = admin.get(PAGE)
    page = response.content.decode()
    assert hostile not in page and "<img" not in page
    assert page.count(html.escape(hostile, quote=True)) >= 2  # the legend and the table
    assert inline_problems(page).problems == []
    reasons = table_rows(response, REASONS)
    assert [f"{hostile} {hostile}", "0", "1"] in reasons
