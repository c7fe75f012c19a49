"""Simulated users and their legitimate sign-ins over months.

Each user has a home country and a home ISP drawn by users
(``bench.rba.isps``): an IPv4 address that changes every few weeks and, on
a dual-stack line, an IPv6 /56 whose /64 the devices use (some ISPs rotate
it every few days, within the /48); often a mobile carrier (carrier-grade
NAT: a new IPv4 address almost every time, or a new IPv6 /64 from a few
/48s); sometimes an office network or a commercial VPN; devices whose
browsers follow their release trains (``bench.rba.browsers``) and whose
cookies get cleared, new devices now and then, and trips abroad with real
flight times (great-circle distance at 800 km/h plus three hours at
airports), during which the phone roams home-routed. Some users' laptops
roam: a few regular cafés (other ISPs of their country) and now and then a
café never visited before.
"""

from __future__ import annotations

import ipaddress
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from trust.rules.fingerprint import DESKTOP, MOBILE, TABLET
from trust.rules.risk import travel

from . import ranges
from .browsers import Browser, Browsers, update_lag
from .world import Network, World

DAY = 86400.0
# The roaming laptop: a share of the users with a desktop take it to a few
# regular cafés (business lines of other ISPs of their country); this share
# of its sign-ins at home is from a café, and this share of those from a
# café never visited before. Assumptions, as for the other shares here.
ROAMERS = 0.3
CAFE = 0.25
NEW_CAFE = 0.2
START = datetime(2026, 1, 5)


@dataclass
class Device:
    kind: str
    ua: str
    cookie_issued: float = -math.inf
    cookie_used: float = -math.inf
    next_update: float = 0.0  # unused with generated browsers (kept for the corpus)
    countries: set[str] = field(default_factory=set)  # seen with the current cookie
    # The operators (``short_digest``s, latest last, as the trusted device's
    # record keeps them) and the address blocks seen with the current cookie.
    asns: list[str] = field(default_factory=list)
    blocks: set[str] = field(default_factory=set)
    browser: Browser | None = None
    lag: float = 0.0  # days between a release and this device running it


@dataclass
class Trip:
    leave: float  # leaves home
    arrive: float  # lands abroad
    depart: float  # leaves abroad
    back: float  # lands home
    country: str
    hotel: Network


@dataclass
class V6Home:
    """A dual-stack home's IPv6 side: the delegated /56 and how it rotates."""

    prefix: int  # first address of the delegated /56
    isp_range: ranges.Range
    subnet: int  # the LAN's /64 within the /56
    rotate_every: float  # days; inf: a stable prefix
    next_rotation: float


@dataclass
class User:
    id: int
    country: str
    two_factor: bool
    rate: float  # sign-ins a day
    home_asn: str
    home: Network
    home_ip: str
    next_home_change: float
    mobile: list[Network]
    work_ip: str
    vpn: Network | None
    devices: list[Device]
    trips: list[Trip] = field(default_factory=list)
    home_op: ranges.Operator | None = None
    home6: V6Home | None = None
    carrier: str = ""
    mobile6: list[int] = field(default_factory=list)  # the carrier's /48s this user meets
    mobile6_share: float = 0.0  # share of mobile sessions over IPv6
    # A laptop that roams: its regular cafés (empty: it stays home and at the office).
    cafes: list[Network] = field(default_factory=list)


@dataclass
class SignIn:
    t: float
    user: User
    ip: str
    device: Device
    updated: bool = False  # the device's first sign-in since its browser updated
    via: str = ""  # how it connects: "home v4", "home v6", "mobile v6", "travel", ...


def _flight_hours(a: str, b: str) -> float:
    table = travel.countries()
    ca, cb = table.get(a), table.get(b)
    if ca is None or cb is None:
        return 10.0
    return travel.great_circle_km(ca.lat, ca.lng, cb.lat, cb.lng) / 800.0 + 3.0


# IPv6 homes: how many rotate their delegated prefix, how often, and how
# often a rotation leaves the /48 (another aggregation router). Assumptions:
# some large ISPs rotate daily, many never; no public figure measures it.
V6_ROTATING = 0.4
V6_ROTATION_DAYS = (1.0, 14.0)
V6_MOVE = 0.1
V6_PREFERRED = 0.8  # happy eyeballs: a dual-stack sign-in goes over IPv6 this often


def _new_device(rng: random.Random, browsers: Browsers, kind: str) -> Device:
    browser = browsers.choose(rng, kind)
    lag = update_lag(rng)
    return Device(kind, browser.at(-lag), browser=browser, lag=lag)


def make_user(rng: random.Random, world: World, browsers: Browsers, uid: int, days: float) -> User:
    country = world.home_country(rng)
    table = world.table[country]
    isp = world.fixed_isp(rng, country)
    home = world.v4(rng, isp)
    mobile: list[Network] = []
    mobile6: list[int] = []
    carrier = ""
    devices: list[Device] = []
    if rng.random() < 0.85:
        devices.append(_new_device(rng, browsers, DESKTOP))
    if rng.random() < 0.85 or not devices:
        operator = world.carrier(rng, country)
        carrier = operator.name
        mobile = world.pool(rng, country, carrier, rng.randint(4, 16))
        if operator.v6:
            mobile6 = world.v6_pool(rng, operator, rng.randint(2, 8))
        devices.append(_new_device(rng, browsers, MOBILE))
    if rng.random() < 0.15:
        devices.append(_new_device(rng, browsers, TABLET))
    home6 = None
    if isp.v6 and rng.random() < table.ipv6_fixed:
        block = isp.v6_block(rng)
        isp_range = isp.v6_range_of(block)
        assert isp_range is not None
        rotating = rng.random() < V6_ROTATING
        every = rng.uniform(*V6_ROTATION_DAYS) if rotating else math.inf
        home6 = V6Home(
            ranges.home_prefix(rng, block),
            isp_range,
            rng.choice((0, 0, 0, 1)),
            every,
            rng.uniform(0, every) * DAY if rotating else math.inf,
        )
    work_ip = ""
    if rng.random() < 0.35:  # an office: a business line of another ISP
        work_ip = world.v4(rng, world.fixed_isp(rng, country, (isp.name,))).address(rng)
    vpn = world.hosting_anywhere(rng) if rng.random() < 0.03 else None
    # Sign-in frequency: log-normal, a median of one every three days.
    rate = min(4.0, math.exp(rng.gauss(math.log(1 / 3), 1.0)))
    user = User(
        id=uid,
        country=country,
        two_factor=rng.random() < 0.4,
        rate=rate,
        home_asn=isp.name,
        home=home,
        home_ip=home.address(rng),
        next_home_change=rng.uniform(7, 60) * DAY,
        mobile=mobile,
        work_ip=work_ip,
        vpn=vpn,
        devices=devices,
        home_op=isp,
        home6=home6,
        carrier=carrier,
        mobile6=mobile6,
        mobile6_share=table.ipv6_mobile,
    )
    if any(d.kind == DESKTOP for d in devices) and rng.random() < ROAMERS:
        user.cafes = [_cafe(rng, world, user) for _ in range(rng.randint(2, 4))]
    t = rng.uniform(0, 60) * DAY
    while rng.random() < 0.3 and t < days * DAY:  # trips abroad
        hotel = world.consumer_abroad(rng, country)
        hours = _flight_hours(country, hotel.country)
        leave = t
        arrive = leave + hours * 3600
        depart = arrive + rng.uniform(2, 14) * DAY
        back = depart + hours * 3600
        user.trips.append(Trip(leave, arrive, depart, back, hotel.country, hotel))
        t = back + rng.uniform(20, 120) * DAY
    return user


def _cafe(rng: random.Random, world: World, user: User) -> Network:
    """A café's line: a fixed ISP of the user's country other than the home's."""
    return world.v4(rng, world.fixed_isp(rng, user.country, (user.home_asn,)))


def roams(user: User, device: Device) -> bool:
    """Is ``device`` the user's roaming laptop?"""
    return bool(user.cafes) and device.kind == DESKTOP


def sign_ins(
    rng: random.Random, world: World, browsers: Browsers, user: User, days: float
) -> list[SignIn]:
    """The user's legitimate sign-in attempts, in time order."""
    events: list[SignIn] = []
    # Users sign up over the first half of the period, so the site's
    # counts are already there when most histories start.
    t = rng.uniform(0, days / 2) * DAY + rng.expovariate(user.rate) * DAY
    end = days * DAY
    trips = iter(user.trips)
    trip = next(trips, None)
    seen: dict[int, str] = {}  # the string each device last signed in with
    while t < end:
        while trip is not None and t >= trip.back:
            trip = next(trips, None)
        if trip is not None and (trip.leave <= t < trip.arrive or trip.depart <= t < trip.back):
            t = trip.arrive if t < trip.arrive else trip.back  # no sign-in in the air
            continue
        abroad = trip is not None and trip.arrive <= t < trip.depart
        if t >= user.next_home_change:  # the ISP hands out another IPv4 address
            if rng.random() < 0.3 and user.home_op is not None:
                user.home = world.v4(rng, user.home_op)
            user.home_ip = user.home.address(rng)
            user.next_home_change = t + rng.uniform(7, 60) * DAY
        six = user.home6
        if six is not None and t >= six.next_rotation:  # a new delegated prefix
            six.prefix = ranges.rotate_prefix(rng, six.prefix, six.isp_range, V6_MOVE)
            six.next_rotation = t + six.rotate_every * DAY
        if rng.random() < 0.004:  # a new device now and then
            kind = rng.choice([d.kind for d in user.devices])
            user.devices = [d for d in user.devices if d.kind != kind]
            user.devices.append(_new_device(rng, browsers, kind))
        device = rng.choice(user.devices)
        if device.browser is not None:  # the release it runs by now
            device.ua = device.browser.at(t / DAY - device.lag)
        updated = id(device) in seen and seen[id(device)] != device.ua
        seen[id(device)] = device.ua
        address, via = _address(rng, world, user, device, trip if abroad else None)
        events.append(SignIn(t, user, address, device, updated, via))
        t += rng.expovariate(user.rate) * DAY
    return events


def _v6(rng: random.Random, network64: int) -> str:
    # Privacy extensions: a random interface identifier, renewed daily.
    return str(ipaddress.IPv6Address(network64 + rng.getrandbits(64)))


def _mobile(rng: random.Random, user: User) -> tuple[str, str]:
    if user.mobile6 and rng.random() < user.mobile6_share:
        block = rng.choice(user.mobile6)
        return _v6(rng, block + (rng.getrandbits(16) << 64)), "mobile v6"
    return rng.choice(user.mobile).address(rng), "mobile v4"


def _address(
    rng: random.Random, world: World, user: User, device: Device, trip: Trip | None
) -> tuple[str, str]:
    """The sign-in's address, and how it connects."""
    if user.vpn is not None and rng.random() < 0.25:
        return user.vpn.address(rng), "VPN"
    if trip is not None:
        if device.kind == MOBILE and user.mobile and rng.random() < 0.6:
            return _mobile(rng, user)[0], "roaming"  # routed home
        return trip.hotel.address(rng), "abroad"
    if device.kind == MOBILE and user.mobile and rng.random() < 0.6:
        return _mobile(rng, user)
    if user.work_ip and device.kind == DESKTOP and rng.random() < 0.3:
        return user.work_ip, "office"
    if roams(user, device) and rng.random() < CAFE:
        if rng.random() < NEW_CAFE:
            return _cafe(rng, world, user).address(rng), "new café"
        return rng.choice(user.cafes).address(rng), "café"
    if user.home6 is not None and rng.random() < V6_PREFERRED:  # dual stack
        return _v6(rng, ranges.lan_network(user.home6.prefix, user.home6.subnet)), "home v6"
    return user.home_ip, "home v4"


def at(t: float) -> datetime:
    return START + timedelta(seconds=t)
