"""The flows: everything that writes (sessions, cookies, the database, the log).

The rules they apply are pure and live in ``trust.rules``. Views, admin
actions and receivers call these; the names below are the public ones.
"""

from .revoking import end_other_sessions, end_reported_session, password_changed, revoke, revoke_all
from .trusting import (
    code_passed,
    current_device_id,
    email_code_passed,
    mark_verified,
    second_factor_removed,
    trust_device,
)

__all__ = [
    "code_passed",
    "current_device_id",
    "email_code_passed",
    "end_other_sessions",
    "end_reported_session",
    "mark_verified",
    "password_changed",
    "revoke",
    "revoke_all",
    "second_factor_removed",
    "trust_device",
]
