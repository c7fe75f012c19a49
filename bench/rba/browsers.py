"""Current browsers: reduced user-agent strings and their release trains.

Chrome (and Edge, Samsung Internet's Chrome token) send the reduced user
agent: a frozen platform ("Windows NT 10.0; Win64; x64", "Macintosh; Intel
Mac OS X 10_15_7", "Linux; Android 10; K") and "Chrome/<major>.0.0.0".
Safari sends "Version/<major>.<minor>" with a frozen OS token; Firefox
"rv:<major>.0". So the string of a browser changes only at its releases:
Chrome, Edge and Firefox every four weeks, Safari with its point releases
(about every eight), Samsung Internet about every six. Versions at the
simulation's start (early January 2026) and the release dates follow the
browsers' published schedules, approximately.

A device's browser updates some days after each release (its lag: most
within two weeks, a few much later), so its string changes about every
four weeks: "browser updates asked" is measured on those changes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from trust.rules.fingerprint import DESKTOP, MOBILE, TABLET

DAY = 86400.0

_CHROME_WIN = "Windows NT 10.0; Win64; x64"
_MAC = "Macintosh; Intel Mac OS X 10_15_7"
_ANDROID = "Linux; Android 10; K"
_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
_IOS = "CPU iPhone OS 18_6 like Mac OS X"


@dataclass(frozen=True)
class Train:
    """A browser's releases: ``first`` at ``offset`` days from the start, then
    one every ``every`` days, the version going up by ``step``."""

    first: float
    offset: float
    every: float
    step: float = 1.0

    def version(self, day: float) -> float:
        if day < self.offset:
            return self.first - self.step
        return self.first + ((day - self.offset) // self.every) * self.step


CHROME = Train(144, 8, 28)  # 144 around 13 January 2026, then every four weeks
EDGE = Train(144, 11, 28)
FIREFOX = Train(147, 8, 28)
SAFARI = Train(26.3, 20, 56, 0.1)  # 26.2 in December 2025, then 26.3, 26.4...
SAMSUNG = Train(29, 30, 42)


@dataclass(frozen=True)
class Browser:
    name: str
    kind: str  # DESKTOP, MOBILE or TABLET: the device it runs on
    share: float  # rough share of its kind's sign-ins (StatCounter-style, rounded)

    def at(self, day: float) -> str:
        """The user-agent string this browser sends ``day`` days into the run."""
        return _RENDER[self.name](day)


def _render_table() -> dict[str, Callable[[float], str]]:
    def chrome(platform: str, suffix: str = "Safari/537.36") -> Callable[[float], str]:
        return lambda d: (
            f"Mozilla/5.0 ({platform}) {_WEBKIT} Chrome/{int(CHROME.version(d))}.0.0.0 " + suffix
        )

    def firefox(platform: str) -> Callable[[float], str]:
        return lambda d: (
            f"Mozilla/5.0 ({platform}; rv:{int(FIREFOX.version(d))}.0) Gecko/20100101 "
            f"Firefox/{int(FIREFOX.version(d))}.0"
        )

    return {
        "chrome-windows": chrome(_CHROME_WIN),
        "chrome-mac": chrome(_MAC),
        "chrome-linux": chrome("X11; Linux x86_64"),
        "chrome-chromeos": chrome("X11; CrOS x86_64 14541.0.0"),
        "edge-windows": lambda d: (
            f"Mozilla/5.0 ({_CHROME_WIN}) {_WEBKIT} Chrome/{int(EDGE.version(d))}.0.0.0 "
            f"Safari/537.36 Edg/{int(EDGE.version(d))}.0.0.0"
        ),
        "firefox-windows": firefox(_CHROME_WIN),
        "firefox-mac": firefox("Macintosh; Intel Mac OS X 10.15"),
        "firefox-linux": firefox("X11; Linux x86_64"),
        "safari-mac": lambda d: (
            f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{SAFARI.version(d):.1f} Safari/605.1.15"
        ),
        "chrome-android": chrome(_ANDROID, "Mobile Safari/537.36"),
        "samsung-android": lambda d: (
            f"Mozilla/5.0 ({_ANDROID}) {_WEBKIT} SamsungBrowser/{int(SAMSUNG.version(d))}.0 "
            f"Chrome/{int(CHROME.version(d - 90))}.0.0.0 Mobile Safari/537.36"
        ),
        "firefox-android": lambda d: (
            f"Mozilla/5.0 (Android 15; Mobile; rv:{int(FIREFOX.version(d))}.0) "
            f"Gecko/{int(FIREFOX.version(d))}.0 Firefox/{int(FIREFOX.version(d))}.0"
        ),
        "safari-iphone": lambda d: (
            f"Mozilla/5.0 (iPhone; {_IOS}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{SAFARI.version(d):.1f} Mobile/15E148 Safari/604.1"
        ),
        "chrome-iphone": lambda d: (
            f"Mozilla/5.0 (iPhone; {_IOS}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"CriOS/{int(CHROME.version(d))}.0.0.0 Mobile/15E148 Safari/604.1"
        ),
        "chrome-android-tablet": chrome(_ANDROID),
        "samsung-android-tablet": lambda d: (
            f"Mozilla/5.0 ({_ANDROID}) {_WEBKIT} SamsungBrowser/{int(SAMSUNG.version(d))}.0 "
            f"Chrome/{int(CHROME.version(d - 90))}.0.0.0 Safari/537.36"
        ),
        # iPadOS asks for the desktop site: an iPad sends the Mac's string.
        "safari-ipad": lambda d: (
            f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{SAFARI.version(d):.1f} Safari/605.1.15"
        ),
    }


_RENDER = _render_table()

BROWSERS: tuple[Browser, ...] = (
    Browser("chrome-windows", DESKTOP, 0.44),
    Browser("edge-windows", DESKTOP, 0.13),
    Browser("firefox-windows", DESKTOP, 0.05),
    Browser("chrome-mac", DESKTOP, 0.10),
    Browser("safari-mac", DESKTOP, 0.13),
    Browser("firefox-mac", DESKTOP, 0.01),
    Browser("chrome-linux", DESKTOP, 0.04),
    Browser("firefox-linux", DESKTOP, 0.02),
    Browser("chrome-chromeos", DESKTOP, 0.08),
    Browser("chrome-android", MOBILE, 0.46),
    Browser("samsung-android", MOBILE, 0.07),
    Browser("firefox-android", MOBILE, 0.01),
    Browser("safari-iphone", MOBILE, 0.40),
    Browser("chrome-iphone", MOBILE, 0.06),
    Browser("chrome-android-tablet", TABLET, 0.45),
    Browser("samsung-android-tablet", TABLET, 0.15),
    Browser("safari-ipad", TABLET, 0.40),
)


def update_lag(rng: random.Random) -> float:
    """Days between a release and a device running it: most update within
    two weeks, one in twenty a month or two late."""
    if rng.random() < 0.05:
        return rng.uniform(30, 60)
    return rng.uniform(0, 14)


class Browsers:
    """Browsers for the simulated devices: pick one, render it at a time."""

    available = True

    def __init__(self) -> None:
        self.by_kind = {
            kind: [b for b in BROWSERS if b.kind == kind] for kind in (DESKTOP, MOBILE, TABLET)
        }

    def choose(self, rng: random.Random, kind: str) -> Browser:
        options = self.by_kind[kind]
        return rng.choices(options, [b.share for b in options])[0]

    def pick(self, rng: random.Random, kind: str, day: float = 0.0) -> str:
        """A current user agent of a device of ``kind`` (for attackers)."""
        return self.choose(rng, kind).at(day)

    def anyone(self, rng: random.Random, day: float = 0.0) -> str:
        kind = rng.choices((DESKTOP, MOBILE, TABLET), (0.5, 0.4, 0.1))[0]
        return self.pick(rng, kind, day)
