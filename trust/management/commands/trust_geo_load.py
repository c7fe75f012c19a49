"""``manage.py trust_geo_load PATH [PATH]``: make downloaded geolocation data the site's.

Give one IPinfo Lite file, or a country file and an ASN file of one provider
(GeoLite2-Country + GeoLite2-ASN, DBIP-Country-Lite + DBIP-ASN-Lite), as
``.mmdb`` or ``.mmdb.gz``; a later update may give one of the two. The files
are checked and installed into ``TRUST_GEOIP_DIR`` (``--dir`` overrides it);
each process reads them when it starts (docs/geo.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trust.conf import conf
from trust.flows.geo_load import GeoLoadError, install


class Command(BaseCommand):
    help = "Check downloaded MMDB geolocation files and install them into TRUST_GEOIP_DIR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help=".mmdb or .mmdb.gz files")
        parser.add_argument("--dir", default=None, help="install here, not in TRUST_GEOIP_DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["dir"] or conf.GEOIP_DIR
        if not directory:
            raise CommandError("Set TRUST_GEOIP_DIR (or give --dir): where to install the data.")
        try:
            installed = install(options["paths"], directory)
        except GeoLoadError as error:
            raise CommandError(f"Nothing installed. {error}") from error
        for role, entry in installed.files.items():
            self.stdout.write(
                f"{role}: {entry['database_type']} built {entry['built'][:10]} ({entry['file']})"
            )
        self.stdout.write(
            f"Installed {installed.provider} data into {installed.directory}. "
            "Each process reads it when it next starts: restart the site's processes."
        )
