"""Simulated users and their legitimate sign-ins over months.

Each user has a home country, a home ISP (its address changes every few
weeks), often a mobile operator (carrier-grade NAT: a new address almost
every time), sometimes an office network or a VPN; devices whose browsers
update and whose cookies get cleared, new devices now and then, and trips
abroad with real flight times (great-circle distance at 800 km/h plus
three hours at airports), during which the phone roams home-routed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from trust.rules.fingerprint import DESKTOP, MOBILE, TABLET
from trust.rules.risk import travel

from .world import Agents, Network, World

DAY = 86400.0
ROAMERS = 0.3  # users whose laptop signs in from cafés too
CAFE = 0.25  # a roaming laptop's share of sign-ins at home from a café
NEW_CAFE = 0.2  # of those, a café never visited before
START = datetime(2026, 1, 5)


@dataclass
class Device:
    kind: str
    ua: str
    cookie_issued: float = -math.inf
    cookie_used: float = -math.inf
    next_update: float = 0.0
    countries: set[str] = field(default_factory=set)  # seen with the current cookie
    asns: set[str] = field(default_factory=set)  # operators seen with it
    blocks: set[str] = field(default_factory=set)  # address blocks seen with it


@dataclass
class Trip:
    leave: float  # leaves home
    arrive: float  # lands abroad
    depart: float  # leaves abroad
    back: float  # lands home
    country: str
    hotel: Network


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
    # A laptop that roams: a few regular cafés (other operators of the home
    # country), and now and then one never visited before.
    cafes: list[Network] = field(default_factory=list)


@dataclass
class SignIn:
    t: float
    user: User
    ip: str
    device: Device


def _flight_hours(a: str, b: str) -> float:
    table = travel.countries()
    ca, cb = table.get(a), table.get(b)
    if ca is None or cb is None:
        return 10.0
    return travel.great_circle_km(ca.lat, ca.lng, cb.lat, cb.lng) / 800.0 + 3.0


def make_user(rng: random.Random, world: World, agents: Agents, uid: int, days: float) -> User:
    country = world.home_country(rng)
    home_asn = world.operator_in(rng, country)
    home = world.network_of(rng, country, home_asn)
    mobile: list[Network] = []
    devices: list[Device] = []
    if rng.random() < 0.85:
        devices.append(Device(DESKTOP, agents.pick(rng, DESKTOP)))
    if rng.random() < 0.75 or not devices:
        carrier = world.operator_in(rng, country, exclude=home_asn)
        mobile = world.pool(rng, country, carrier, rng.randint(4, 16))
        devices.append(Device(MOBILE, agents.pick(rng, MOBILE)))
    if rng.random() < 0.15:
        devices.append(Device(TABLET, agents.pick(rng, TABLET)))
    for device in devices:
        device.next_update = rng.uniform(0, 45) * DAY
    work_ip = world.in_country(rng, country).address(rng) if rng.random() < 0.35 else ""
    vpn = world.abroad(rng, country) if rng.random() < 0.03 else None
    # Sign-in frequency: log-normal, a median of one every three days.
    rate = min(4.0, math.exp(rng.gauss(math.log(1 / 3), 1.0)))
    user = User(
        id=uid,
        country=country,
        two_factor=rng.random() < 0.4,
        rate=rate,
        home_asn=home_asn,
        home=home,
        home_ip=home.address(rng),
        next_home_change=rng.uniform(7, 60) * DAY,
        mobile=mobile,
        work_ip=work_ip,
        vpn=vpn,
        devices=devices,
    )
    if rng.random() < ROAMERS and any(d.kind == DESKTOP for d in devices):
        user.cafes = [world.in_country(rng, country) for _ in range(rng.randint(2, 4))]
    t = rng.uniform(0, 60) * DAY
    while rng.random() < 0.3 and t < days * DAY:  # trips abroad
        hotel = world.abroad(rng, country)
        hours = _flight_hours(country, hotel.country)
        leave = t
        arrive = leave + hours * 3600
        depart = arrive + rng.uniform(2, 14) * DAY
        back = depart + hours * 3600
        user.trips.append(Trip(leave, arrive, depart, back, hotel.country, hotel))
        t = back + rng.uniform(20, 120) * DAY
    return user


def sign_ins(
    rng: random.Random, world: World, agents: Agents, user: User, days: float
) -> list[SignIn]:
    """The user's legitimate sign-in attempts, in time order."""
    events: list[SignIn] = []
    # Users sign up over the first half of the period, so the site's
    # counts are already there when most histories start.
    t = rng.uniform(0, days / 2) * DAY + rng.expovariate(user.rate) * DAY
    end = days * DAY
    trips = iter(user.trips)
    trip = next(trips, None)
    while t < end:
        while trip is not None and t >= trip.back:
            trip = next(trips, None)
        if trip is not None and (trip.leave <= t < trip.arrive or trip.depart <= t < trip.back):
            t = trip.arrive if t < trip.arrive else trip.back  # no sign-in in the air
            continue
        abroad = trip is not None and trip.arrive <= t < trip.depart
        if t >= user.next_home_change:  # the ISP hands out another address
            if rng.random() < 0.3:
                user.home = world.network_of(rng, user.country, user.home_asn)
            user.home_ip = user.home.address(rng)
            user.next_home_change = t + rng.uniform(7, 60) * DAY
        if rng.random() < 0.004:  # a new device now and then
            kind = rng.choice([d.kind for d in user.devices])
            user.devices = [d for d in user.devices if d.kind != kind]
            user.devices.append(Device(kind, agents.pick(rng, kind), next_update=t + 30 * DAY))
        device = rng.choice(user.devices)
        if t >= device.next_update:  # a browser update: same family, another string
            device.ua = agents.update(rng, device.ua)
            device.next_update = t + rng.uniform(25, 50) * DAY
        events.append(
            SignIn(t, user, _address(rng, world, user, device, trip if abroad else None), device)
        )
        t += rng.expovariate(user.rate) * DAY
    return events


def _address(
    rng: random.Random, world: World, user: User, device: Device, trip: Trip | None
) -> str:
    if user.vpn is not None and rng.random() < 0.25:
        return user.vpn.address(rng)
    if trip is not None:
        if device.kind == MOBILE and user.mobile and rng.random() < 0.6:
            return rng.choice(user.mobile).address(rng)  # roaming, routed home
        return trip.hotel.address(rng)
    if device.kind == MOBILE and user.mobile and rng.random() < 0.6:
        return rng.choice(user.mobile).address(rng)
    if user.work_ip and device.kind == DESKTOP and rng.random() < 0.3:
        return user.work_ip
    if user.cafes and device.kind == DESKTOP and rng.random() < CAFE:
        if rng.random() < NEW_CAFE:
            return world.in_country(rng, user.country).address(rng)
        return rng.choice(user.cafes).address(rng)
    return user.home_ip


def at(t: float) -> datetime:
    return START + timedelta(seconds=t)
