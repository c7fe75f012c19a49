"""``manage.py trust_lift_throttle``: forget the password failures of an
account or a client address, so its next attempt is checked at once.

    manage.py trust_lift_throttle --username alice
    manage.py trust_lift_throttle --address 203.0.113.9

The admin's "Password throttles" list does the same for selected rows.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trust.flows import password_throttle


class Command(BaseCommand):
    help = "Forget the password failures of an account (any of its names) or an address."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", help="the account, by username or e-mail")
        parser.add_argument("--address", help="a client IP (an IPv6 address lifts its /64)")

    def handle(self, *args: Any, **options: Any) -> None:
        username, address = options["username"], options["address"]
        if username is None and address is None:
            raise CommandError("Name an account (--username) or an address (--address).")
        lifted = password_throttle.lift(username=username, address=address)
        self.stdout.write(f"Lifted {lifted} password-throttle records.")
