"""Django's tests/runtests.py with Trustgate installed as docs/quickstart.md says.

Usage: ``python trustgate_runtests.py DJANGO/tests/runtests.py [its arguments]``.

runtests.py sets INSTALLED_APPS and MIDDLEWARE to its own lists right before
``django.setup()``, whatever the settings module says, so Trustgate's lines
cannot go in a settings module: they are applied when runtests.py calls
``django.setup()``, to the lists it has just set. Its own settings
(``test_sqlite``) stay as they are, but for the backend.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import django
import trustgate_quickstart
from django.conf import settings

django_setup = django.setup


def setup_with_trustgate(set_prefix: bool = True) -> None:
    """``django.setup()``, once Trustgate is in runtests.py's settings (idempotent)."""
    # In place: runtests.py goes on using the list objects it made.
    apps, middleware = settings.INSTALLED_APPS, settings.MIDDLEWARE
    apps[:] = trustgate_quickstart.apps(apps, "django_otp.plugins.otp_email")
    middleware[:] = trustgate_quickstart.middleware(middleware)
    settings.AUTHENTICATION_BACKENDS = ["trust.backends.ModelBackend"]
    django_setup(set_prefix)


if __name__ == "__main__":
    runtests = Path(sys.argv.pop(1)).resolve()
    # The path `python runtests.py` would have: its directory (its settings,
    # its test apps) in this one's place.
    sys.path[0] = str(runtests.parent)
    django.setup = setup_with_trustgate
    runpy.run_path(str(runtests), run_name="__main__")
