"""JSON answers to a second-factor check: the code page's and the passkey's.

The README's JSON table ("JSON, for scripts and single-page apps"). The
error codes are the contract: ``invalid_code`` (400), ``throttled`` (429,
with ``retry_after`` seconds and a ``Retry-After`` header), ``locked`` (423:
too many failures, code entry is locked until an admin resets it; waiting
does not help, so no ``Retry-After``).
"""

from __future__ import annotations

from datetime import datetime

from django.http import JsonResponse
from django.utils import timezone

from .verification import Outcome


def seconds_until(until: datetime) -> int:
    """Whole seconds to wait, rounded up, at least 1."""
    return max(1, int((until - timezone.now()).total_seconds()) + 1)


def verified(next_url: str) -> JsonResponse:
    return JsonResponse({"verified": True, "next": next_url})


def refused(outcome: Outcome, *, error: str = "invalid_code") -> JsonResponse:
    """Why a factor was not accepted; ``error`` when it was checked and wrong."""
    if outcome.blocked:
        return JsonResponse({"error": "locked"}, status=423)
    if outcome.locked_until is not None:
        retry = seconds_until(outcome.locked_until)
        response = JsonResponse({"error": "throttled", "retry_after": retry}, status=429)
        response["Retry-After"] = str(retry)
        return response
    return JsonResponse({"error": error}, status=400)
