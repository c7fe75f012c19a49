"""Where simulated users are: consumer ISPs and mobile carriers per country.

Homes are weighted by *users*, not by address space: a country's share is
roughly its number of Internet users, an operator's share within it roughly
its share of subscribers. All the figures below are rounded approximations
of the kind of public source named beside them (ITU's "individuals using the
Internet" by country, regulators' and operators' published subscriber
counts, Google's and APNIC's per-country IPv6 measurements), good to tens of
percent: they set the simulator's proportions, they are not measurements.

Operators are named as the offline ASN data (geoip2fast) names them, so the
simulator draws their addresses from the ranges that data assigns to them
(``bench.rba.ranges``). Hosting, cloud, transit and military operators are
never homes: they appear only as ``HOSTING`` (commercial VPN exits and
attackers' servers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    code: str
    users_m: float  # Internet users, millions (ITU-style estimate, rounded)
    fixed: tuple[tuple[str, float], ...]  # home ISPs and their rough subscriber shares
    mobile: tuple[tuple[str, float], ...]  # mobile carriers and their rough shares
    ipv6_fixed: float  # share of fixed lines with IPv6 (dual stack), approximate
    ipv6_mobile: float  # share of mobile sessions over IPv6, approximate


_ACT = "Atria Convergence Technologies Pvt. Ltd. Broadband Internet Service Provider INDIA"

COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        310,
        (
            ("COMCAST-7922", 0.30),
            ("CHARTER-20115", 0.28),
            ("ATT-INTERNET4", 0.16),
            ("ASN-CXA-ALL-CCI-22773-RDC", 0.08),
            ("CENTURYLINK-US-LEGACY-QWEST", 0.08),
            ("FRONTIER-FRTR", 0.05),
            ("WINDSTREAM", 0.03),
        ),
        (
            ("T-MOBILE-AS21928", 0.38),
            ("CELLCO-PART", 0.36),
            ("ATT-MOBILITY-LLC-AS20057", 0.26),
        ),
        0.55,
        0.85,
    ),
    Country(
        "IN",
        750,
        (
            ("Reliance Jio Infocomm Limited", 0.35),
            ("Bharti Airtel Ltd., Telemedia Services", 0.30),
            ("National Internet Backbone", 0.15),
            (_ACT, 0.12),
            ("Hathway IP Over Cable Internet", 0.08),
        ),
        (
            ("Reliance Jio Infocomm Limited", 0.48),
            ("Bharti Airtel Ltd. AS for GPRS Service", 0.36),
            ("Vodafone Idea Ltd", 0.16),
        ),
        0.55,
        0.80,
    ),
    Country(
        "BR",
        180,
        (
            ("TELEFONICA BRASIL S.A", 0.30),
            ("Claro NXT Telecomunicacoes Ltda", 0.35),
            ("V tal", 0.20),
            ("ALGAR TELECOM SA", 0.15),
        ),
        (
            ("CLARO S.A.", 0.33),
            ("TELEFONICA BRASIL S.A", 0.38),
            ("TIM SA", 0.29),
        ),
        0.45,
        0.40,
    ),
    Country(
        "JP",
        105,
        (
            ("NTT Communications Corporation", 0.30),
            ("SoftBank Corp.", 0.25),
            ("KDDI CORPORATION", 0.20),
            ("Sony Network Communications Inc.", 0.10),
            ("BIGLOBE Inc.", 0.08),
            ("JCOM Co., Ltd.", 0.07),
        ),
        (
            ("NTT DOCOMO, INC.", 0.40),
            ("KDDI CORPORATION", 0.30),
            ("SoftBank Corp.", 0.25),
            ("Rakuten Mobile Network, Inc.", 0.05),
        ),
        0.50,
        0.45,
    ),
    Country(
        "MX",
        100,
        (
            ("UNINET", 0.45),
            ("Television Internacional, S.A. de C.V.", 0.25),
            ("TOTAL PLAY TELECOMUNICACIONES SA DE CV", 0.18),
            ("Mega Cable, S.A. de C.V.", 0.12),
        ),
        (
            ("RadioMovil Dipsa, S.A. de C.V.", 0.65),
            ("AT&T COMUNICACIONES DIGITALES S DE RL", 0.35),
        ),
        0.50,
        0.55,
    ),
    Country(
        "DE",
        78,
        (
            ("Deutsche Telekom AG", 0.40),
            ("Vodafone GmbH", 0.30),
            ("1&1 Versatel Deutschland GmbH", 0.15),
            ("Telefonica Germany", 0.15),
        ),
        (
            ("Deutsche Telekom AG", 0.38),
            ("Vodafone GmbH", 0.30),
            ("Telefonica Germany", 0.32),
        ),
        0.65,
        0.55,
    ),
    Country(
        "GB",
        66,
        (
            ("British Telecommunications PLC", 0.38),
            ("Virgin Media", 0.22),
            ("Sky UK Limited", 0.25),
            ("TalkTalk", 0.15),
        ),
        (
            ("EE Limited", 0.36),
            ("Vodafone Limited", 0.25),
            ("Three", 0.19),
            ("Telefonica O2 UK", 0.20),
        ),
        0.50,
        0.40,
    ),
    Country(
        "FR",
        60,
        (
            ("Orange", 0.40),
            ("Free SAS", 0.25),
            ("Societe Francaise Du Radiotelephone - SFR SA", 0.20),
            ("Bouygues Telecom SA", 0.15),
        ),
        (
            ("Orange", 0.40),
            ("Societe Francaise Du Radiotelephone - SFR SA", 0.25),
            ("Bouygues Telecom SA", 0.20),
            ("Free Mobile SAS", 0.15),
        ),
        0.80,
        0.60,
    ),
    Country(
        "IT",
        50,
        (
            ("Telecom Italia", 0.45),
            ("Vodafone Italia S.p.A.", 0.15),
            ("Fastweb", 0.20),
            ("Wind Tre S.p.A.", 0.15),
            ("Tiscali SpA", 0.05),
        ),
        (
            ("Telecom Italia", 0.35),
            ("Vodafone Italia S.p.A.", 0.30),
            ("Wind Tre S.p.A.", 0.35),
        ),
        0.15,
        0.15,
    ),
    Country(
        "ES",
        45,
        (
            ("Telefonica De Espana S.a.u.", 0.45),
            ("Orange Espagne SA", 0.25),
            ("Vodafone Ono, S.A.", 0.20),
            ("Digi Spain Telecom S.l.", 0.10),
        ),
        (
            ("Telefonica De Espana S.a.u.", 0.35),
            ("Vodafone Spain", 0.30),
            ("Orange Espagne SA", 0.30),
            ("Digi Spain Telecom S.l.", 0.05),
        ),
        0.15,
        0.10,
    ),
    Country(
        "CA",
        36,
        (
            ("BACOM", 0.30),
            ("ROGERS-COMMUNICATIONS", 0.25),
            ("SHAW", 0.15),
            ("TELUS Communications", 0.15),
            ("VIDEOTRON", 0.10),
            ("COGECOWAVE", 0.05),
        ),
        (
            ("ROGERS-COMMUNICATIONS", 0.35),
            ("BACOM", 0.30),
            ("TELUS Communications", 0.35),
        ),
        0.40,
        0.45,
    ),
    Country(
        "PL",
        33,
        (
            ("Orange Polska Spolka Akcyjna", 0.35),
            ("Liberty Global B.V.", 0.20),
            ("Netia SA", 0.20),
            ("Vectra S.A.", 0.15),
            ("Multimedia Polska Sp. z o.o.", 0.10),
        ),
        (
            ("Orange Polska Spolka Akcyjna", 0.28),
            ("T-Mobile Polska S.A.", 0.25),
            ("Play", 0.27),
            ("Polkomtel Sp. z o.o.", 0.20),
        ),
        0.25,
        0.30,
    ),
    Country(
        "NL",
        17,
        (
            ("KPN B.V.", 0.45),
            ("Vodafone Libertel B.V.", 0.35),
            ("Odido Netherlands B.V.", 0.10),
            ("DELTA Fiber Nederland B.V.", 0.10),
        ),
        (
            ("KPN B.V.", 0.40),
            ("Vodafone Libertel B.V.", 0.30),
            ("Odido Netherlands B.V.", 0.30),
        ),
        0.55,
        0.35,
    ),
)

# Hosting, cloud and commercial-VPN operators: never homes; the exits of
# VPN users and of attackers' servers, in whatever country the data puts them.
HOSTING: tuple[str, ...] = (
    "AMAZON-02",
    "AMAZON-AES",
    "GOOGLE-CLOUD-PLATFORM",
    "MICROSOFT-CORP-MSN-AS-BLOCK",
    "DIGITALOCEAN-ASN",
    "AS-CHOOPA",
    "AKAMAI-LINODE-AP",
    "LINODE-AP",
    "OVH SAS",
    "Hetzner Online GmbH",
    "Scaleway S.a.s.",
    "Contabo GmbH",
    "IONOS SE",
    "LeaseWeb Netherlands B.V.",
    "M247 Europe SRL",
    "M247 Ltd",
    "Datacamp Limited",
    "Clouvider Limited",
    "xTom GmbH",
    "Aruba S.p.A.",
    "SAKURA Internet Inc.",
    "IDC Frontier Inc.",
    "Netmagic Datacenter Mumbai",
    "Locaweb Servicos de Internet SA",
)

# Words that mark an operator as no one's home (a check on the table above).
NOT_A_HOME = (
    "AMAZON",
    "GOOGLE",
    "MICROSOFT",
    "CLOUD",
    "HOSTING",
    "DATACENTER",
    "DATA CENTER",
    "OVH",
    "HETZNER",
    "AKAMAI",
    "LEVEL3",
    "COGENT",
    "UUNET",
    "DNIC",
    "M247",
    "LEASEWEB",
    "DIGITALOCEAN",
    "CHOOPA",
    "UNIVERS",
    "RESEARCH",
)


def by_code() -> dict[str, Country]:
    return {country.code: country for country in COUNTRIES}


def home_operators() -> set[str]:
    """Every operator the table makes a home ISP or a mobile carrier."""
    return {name for c in COUNTRIES for name, _ in (*c.fixed, *c.mobile)}
