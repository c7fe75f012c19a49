"""The demo site for ``e2e/test_dbsc.py``: its bound cookie lives seconds, not minutes.

``trust.dbsc.BOUND_LIFETIME`` is a module constant (ten minutes), read on
every sign-in and refresh. The browser test cannot wait that long, and a
change made in the test's own process would not reach the server's: this
module, the server's WSGI entry point, sets it in the server process from
``TRUSTGATE_E2E_BOUND_SECONDS`` before the first request. Test use only.
"""

from __future__ import annotations

import os
from datetime import timedelta

from project.wsgi import application  # sets Django up first
from trust import dbsc

dbsc.BOUND_LIFETIME = timedelta(seconds=int(os.environ["TRUSTGATE_E2E_BOUND_SECONDS"]))

__all__ = ["application"]
