"""Risk beyond the device (the README's "Risk, beyond the device"): pure modules.

- ``geo``: country and ASN of an address, offline, from one source;
- ``geodata``: that source: geoip2fast's shipped data or the site's MMDB files;
- ``features``: the features of one password sign-in;
- ``score``: Freeman et al.'s score over a ``Counts`` of successful sign-ins;
- ``counts``: the in-memory ``Counts`` (tests, evaluation);
- ``travel``: impossible travel between two countries;
- ``blocklist``: the site's blocked networks;
- ``decision``: thresholds, rules and site signals to allow / step_up / deny.

Nothing here touches the ORM or a request: docs/risk.md says what the
wiring needs.
"""
