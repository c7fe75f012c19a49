"""The device cap holds when several browsers become trusted at once.

Real HTTP from real threads (``tests.test_races``): each browser signs in,
then all post a different backup code with "Trust this device" together.
"""

from __future__ import annotations

from django.utils import timezone

from otp_flow.models import BackupCodeDevice
from tests.test_core_loop import other_trusted_devices
from tests.test_races import Browser, race, server  # noqa: F401  (fixture)
from trust.flows.trusting import MAX_DEVICES
from trust.models import TrustedDevice

RACERS = 8
# Trust held on other browsers: the racers are the cap's last places and more.
ELSEWHERE = MAX_DEVICES - 2


def test_parallel_trusts_never_exceed_the_device_cap(server, account):  # noqa: F811
    other_trusted_devices(account.user, ELSEWHERE, timezone.now())
    codes = BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    browsers = [Browser(server.url) for _ in range(RACERS)]
    tokens = []
    for each in browsers:
        each.sign_in(account)
        tokens.append(each.csrf("/2fa/verify/"))

    results = race(
        [
            lambda b=b, t=t, c=c: b.request(
                "/2fa/verify/", {"csrfmiddlewaretoken": t, "otp_token": c, "trust_device": "on"}
            )
            for b, t, c in zip(browsers, tokens, codes, strict=False)
        ]
    )

    # Each code passed and trusted its browser; a browser whose device a
    # later one evicted meanwhile had its session ended mid-request (400).
    assert all(status in (302, 400) for status, _ in results), results
    assert TrustedDevice.objects.filter(user=account.user).count() == ELSEWHERE + RACERS
    assert TrustedDevice.objects.active().filter(user=account.user).count() == MAX_DEVICES
