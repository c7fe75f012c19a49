"""The run: users with homes sign up and build a history over HTTP, then
each attacker tries each victim once, then the users' own sign-ins that
should not be asked. Only HTTP answers are read."""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import world
from .client import ASKED, IN, REFUSED, SECRET, Authenticator, Browser
from .site import Mailbox

THREADS = 6  # parallel browsers (some wait out a cooldown): the server has 2 workers
COOLDOWN = 61.0  # seconds: django-otp's OTP_EMAIL_COOLDOWN_DURATION (60) and a margin


@dataclass
class User:
    username: str
    email: str
    password: str
    two_factor: bool
    isp: world.Operator
    home: ipaddress.IPv4Network  # the home's /24
    home_ip: str
    mobile: world.Operator
    browser: world.Browser
    client: Browser
    authenticator: Authenticator | None = None
    emailed_at: float = 0.0  # when this user last typed an e-mailed code (monotonic)
    used_codes: set[str] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)  # the code page's, last sign-in

    @property
    def country(self) -> str:
        return self.isp.country

    @property
    def home16(self) -> ipaddress.IPv4Network:
        return self.home.supernet(new_prefix=16)


@dataclass
class Row:
    name: str
    who: str  # "no 2FA" or "2FA"
    target: str = "-"
    goal: Callable[[float], bool] | None = None
    extra: bool = False  # 2FA legitimate row: codes beyond device recognition, in points
    outcomes: list[str] = field(default_factory=list)
    device_asks: int = 0  # how many of them device recognition alone would ask
    reasons: Counter[str] = field(default_factory=Counter)  # as the code page words them

    def share(self) -> float:
        stopped = sum(1 for o in self.outcomes if o != IN)
        return 100 * stopped / len(self.outcomes) if self.outcomes else float("nan")

    def figure(self) -> float:
        if not self.extra:
            return self.share()
        device = 100 * self.device_asks / len(self.outcomes) if self.outcomes else 0.0
        return self.share() - device


@dataclass
class Tally:
    history: list[str] = field(default_factory=list)
    asked: int = 0  # legitimate sign-ins asked for a code, all phases
    unanswered: int = 0  # of them, how many could not be answered
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, answered: bool, history: bool) -> None:
        with self.lock:
            if history:
                self.history.append(outcome)
            if outcome == ASKED:
                self.asked += 1
                self.unanswered += int(not answered)


def _at_least(goal: float) -> Callable[[float], bool]:
    return lambda value: value >= goal


def _at_most(goal: float) -> Callable[[float], bool]:
    return lambda value: value <= goal


def rows() -> dict[str, Row]:
    return {
        "targeted": Row(
            "targeted: victim's country, another ISP, victim's browser, right password",
            "no 2FA",
            ">= 97 %",
            _at_least(97),
        ),
        "vpn": Row(
            "VPN / hosting exit in the victim's country, victim's browser",
            "no 2FA",
            ">= 97 %",
            _at_least(97),
        ),
        "isp": Row(
            "the victim's ISP (another /16 of it), victim's browser",
            "no 2FA",
            ">= 90 %",
            _at_least(90),
        ),
        "slash16": Row("the victim's /16 (residential proxy), victim's browser", "no 2FA"),
        "thief_abroad": Row(
            "cookie thief abroad: copied trusted-device cookie, password, victim's browser",
            "2FA",
        ),
        "thief_home": Row(
            "cookie thief in the victim's country, another ISP", "2FA", ">= 90 %", _at_least(90)
        ),
        "later": Row(
            "legitimate: later sign-ins from home (asked)", "no 2FA", "<= 5 %", _at_most(5)
        ),
        "later_2fa": Row(
            "legitimate: later sign-ins from home (extra codes over device recognition)",
            "2FA",
            "<= 3 points",
            _at_most(3),
            extra=True,
        ),
        "mobile": Row(
            "legitimate: first sign-in over the home country's mobile carrier (asked)", "no 2FA"
        ),
        "mobile_2fa": Row(
            "legitimate: first sign-in over the home country's mobile carrier (extra codes)",
            "2FA",
            extra=True,
        ),
        "update": Row(
            "legitimate: browser update to the next major version, from home (asked)",
            "no 2FA",
            "<= 5 %",
            _at_most(5),
        ),
        "update_2fa": Row(
            "legitimate: browser update to the next major version (extra codes)",
            "2FA",
            "<= 5 points",
            _at_most(5),
            extra=True,
        ),
    }


class Check:
    def __init__(self, base: str, mailbox: Mailbox, seed: int, users: int, history: int) -> None:
        self.base = base
        self.mailbox = mailbox
        self.rng = random.Random(seed)
        self.seed = seed
        self.history_size = history
        self.rows = rows()
        self.tally = Tally()
        self.users = [self._draw_user(index, users) for index in range(users)]

    # --- the world of users ---

    def _draw_user(self, index: int, count: int) -> User:
        rng = self.rng
        country = world.COUNTRIES[index % len(world.COUNTRIES)]
        isp = rng.choice(world.operators(country, world.FIXED))
        home16 = rng.choice(world.slash16s(isp))
        home_ip = world.address_in(rng, isp, within=home16)
        home = ipaddress.IPv4Network(f"{home_ip}/24", strict=False)
        browser = rng.choice(world.browsers())
        return User(
            username=f"check{self.seed}-{index:03d}",
            email=f"check{self.seed}-{index:03d}@example.com",
            password=f"an outsider's passphrase {rng.getrandbits(48):x}",
            two_factor=index >= count // 2,
            isp=isp,
            home=home,
            home_ip=home_ip,
            mobile=rng.choice(world.operators(country, world.MOBILE)),
            browser=browser,
            client=Browser(self.base, browser.user_agent),
        )

    def _home_address(self, user: User, rng: random.Random) -> str:
        """Mostly the home's address; now and then another lease in its /24."""
        if rng.random() < 0.8:
            return user.home_ip
        return world.address_in(rng, user.isp, within=user.home)

    # --- steps a user takes ---

    def sign_up(self, user: User) -> None:
        client = user.client
        client.address = user.home_ip
        answer = client.form(
            "/accounts/signup/",
            {
                "username": user.username,
                "email": user.email,
                "password1": user.password,
                "password2": user.password,
            },
        )
        if answer.status_code != 302:
            raise RuntimeError(f"sign-up of {user.username}: {answer.status_code}")
        if user.two_factor:
            page = client.get("/2fa/setup/")
            found = SECRET.search(page.text)
            if found is None:
                raise RuntimeError(f"no key on the setup page for {user.username}")
            user.authenticator = Authenticator(found.group(1).replace(" ", ""))
            # The first code: "trust this device" ticked.
            enrolled = client.post(
                "/2fa/setup/", {"otp_token": user.authenticator.code(), "trust_device": "on"}
            )
            if enrolled.status_code != 200 or not client.trust_cookie():
                raise RuntimeError(f"enrolling {user.username}: {enrolled.status_code}")
        client.sign_out()

    def legitimate(
        self, user: User, address: str, *, history: bool = False, look: bool = False
    ) -> str:
        """A sign-in by the user themself; a code asked for is answered
        (the authenticator's, or the one the inbox got)."""
        client = user.client
        client.address = address
        seen = self.mailbox.count(user.email)
        outcome = client.sign_in(user.username, user.password)
        user.reasons = list(client.reasons)
        answered = outcome != ASKED
        if outcome == ASKED:
            answered = self._answer(user, seen)
        if outcome == ASKED and not answered and user.authenticator is None:
            # No code to type: django-otp e-mails none within 60 s of the
            # last (OTP_EMAIL_COOLDOWN_DURATION) and the last was used. A
            # user waits and tries again; so does this one (the server's
            # clock is real). The sign-in counts once, as asked.
            client.sign_out()
            time.sleep(max(0.0, user.emailed_at + COOLDOWN - time.monotonic()))
            seen = self.mailbox.count(user.email)
            again = client.sign_in(user.username, user.password)
            answered = self._answer(user, seen) if again == ASKED else again == IN
        if look and answered and outcome != REFUSED:
            self._sees(user, address)
        self.tally.add(outcome, answered, history)
        client.sign_out()
        return outcome

    def _answer(self, user: User, seen: int) -> bool:
        """Type the code: the authenticator's, or the newest unused one in the inbox."""
        if user.authenticator is not None:
            return user.client.enter_code(user.authenticator.code())
        code = self.mailbox.code_for(user.email, seen)
        if code is None or code in user.used_codes:
            return False
        user.used_codes.add(code)
        user.emailed_at = time.monotonic()
        return user.client.enter_code(code)

    def _sees(self, user: User, address: str) -> None:
        """The site's own security page lists this sign-in from ``address``
        in the user's country: it reads the forwarded address as the check
        means it (no 127.0.0.1, no one else's)."""
        page = user.client.get("/devices/")
        if page.status_code != 200 or f"<td>{address}</td>" not in page.text:
            raise RuntimeError(f"the site did not record the sign-in from {address}")
        if f"<td>{user.country}</td>" not in page.text:
            raise RuntimeError(f"the site did not place {address} in {user.country}")

    def attack(
        self, victim: User, address: str, cookie: str | None = None
    ) -> tuple[str, list[str]]:
        """One attempt with the victim's password and browser, in a fresh jar."""
        thief = Browser(self.base, victim.client.user_agent)
        thief.address = address
        if cookie is not None:
            thief.http.cookies.set("trustgate_token", cookie)
        outcome = thief.sign_in(victim.username, victim.password)
        thief.http.close()
        return outcome, thief.reasons

    # --- phases ---

    def _each(self, users: Iterable[User], step: Callable[[User], None]) -> None:
        with ThreadPoolExecutor(THREADS) as pool:
            for result in pool.map(step, list(users)):
                del result  # raises here when a step raised

    def build(self, progress: Callable[[str], None]) -> None:
        self._each(self.users, self.sign_up)
        progress(f"{len(self.users)} users signed up")
        for round_ in range(self.history_size):
            rng = random.Random(f"{self.seed}-history-{round_}")
            addresses = {u.username: self._home_address(u, rng) for u in self.users}

            look = round_ == self.history_size - 1

            def history(
                user: User, addresses: dict[str, str] = addresses, look: bool = look
            ) -> None:
                self.legitimate(user, addresses[user.username], history=True, look=look)

            self._each(self.users, history)
            progress(f"history round {round_ + 1}/{self.history_size}")

    def attacks(self) -> None:
        rng = random.Random(f"{self.seed}-attacks")
        jobs: list[tuple[str, User, str, str | None]] = []
        for victim in self.users:
            same_country_others = [
                op
                for op in world.operators(victim.country, world.FIXED)
                if op.geo_name != victim.isp.geo_name
            ]
            other_isp = world.address_in(rng, rng.choice(same_country_others))
            if not victim.two_factor:
                jobs.append(("targeted", victim, other_isp, None))
                vpn = rng.choice(world.operators(victim.country, world.HOSTING))
                jobs.append(("vpn", victim, world.address_in(rng, vpn), None))
                other16 = rng.choice([n for n in world.slash16s(victim.isp) if n != victim.home16])
                jobs.append(
                    ("isp", victim, world.address_in(rng, victim.isp, within=other16), None)
                )
                jobs.append(("slash16", victim, self._neighbour(rng, victim), None))
            else:
                cookie = victim.client.trust_cookie()
                abroad = rng.choice([c for c in world.COUNTRIES if c != victim.country])
                far = world.address_in(rng, rng.choice(world.operators(abroad, world.FIXED)))
                jobs.append(("thief_abroad", victim, far, cookie))
                jobs.append(("thief_home", victim, other_isp, cookie))

        def run(job: tuple[str, User, str, str | None]) -> tuple[str, tuple[str, list[str]]]:
            kind, victim, address, cookie = job
            return kind, self.attack(victim, address, cookie)

        with ThreadPoolExecutor(THREADS) as pool:
            for kind, (outcome, reasons) in pool.map(run, jobs):
                self.rows[kind].outcomes.append(outcome)
                self.rows[kind].reasons.update(reasons)

    def _neighbour(self, rng: random.Random, victim: User) -> str:
        """Another /24 of the victim's /16, on the victim's ISP."""
        for _ in range(100):
            address = world.address_in(rng, victim.isp, within=victim.home16)
            if ipaddress.IPv4Address(address) not in victim.home:
                return address
        raise RuntimeError(f"no other /24 in {victim.home16}")

    def later(self, later_sign_ins: int) -> None:
        def step(user: User, rng: random.Random) -> None:
            key = "later_2fa" if user.two_factor else "later"
            for _ in range(later_sign_ins):
                device_asks = user.two_factor and not user.client.trust_cookie()
                outcome = self.legitimate(user, self._home_address(user, rng))
                self._record(user, key, outcome, device_asks)

        self._each_seeded("later", step)

    def mobile(self) -> None:
        def step(user: User, rng: random.Random) -> None:
            device_asks = user.two_factor and not user.client.trust_cookie()
            outcome = self.legitimate(user, world.address_in(rng, user.mobile))
            self._record(user, "mobile_2fa" if user.two_factor else "mobile", outcome, device_asks)

        self._each_seeded("mobile", step)

    def update(self) -> None:
        def step(user: User, rng: random.Random) -> None:
            user.client.user_agent = user.browser.updated
            device_asks = user.two_factor and not user.client.trust_cookie()
            outcome = self.legitimate(user, self._home_address(user, rng))
            self._record(user, "update_2fa" if user.two_factor else "update", outcome, device_asks)

        self._each_seeded("update", step)

    def _each_seeded(self, phase: str, step: Callable[[User, random.Random], None]) -> None:
        # A generator per user: the draws do not depend on thread timing.
        self._each(
            self.users,
            lambda user: step(user, random.Random(f"{self.seed}-{phase}-{user.username}")),
        )

    def _record(self, user: User, key: str, outcome: str, device_asks: bool) -> None:
        with self.tally.lock:
            self.rows[key].outcomes.append(outcome)
            self.rows[key].reasons.update(user.reasons)
            self.rows[key].device_asks += int(device_asks)


def run_check(
    base: str,
    mailbox: Mailbox,
    *,
    seed: int,
    users: int,
    history: int,
    later: int,
    progress: Callable[[str], None],
) -> Check:
    started = time.monotonic()
    check = Check(base, mailbox, seed, users, history)
    check.build(progress)
    progress(f"history built in {time.monotonic() - started:.0f} s")
    check.attacks()
    progress("attacks done")
    check.later(later)
    check.mobile()
    check.update()
    progress("legitimate rows done")
    return check
