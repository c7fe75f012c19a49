"""The admin's risk page, beside the sign-in history: rates, reasons, a what-if.

Served by ``SignInAttemptAdmin.get_urls`` through ``admin_site.admin_view``,
so the staff check and the sudo admin's rule (a fresh code for any page of
the sign-in history) apply before it runs. It reads only: the numbers come
from ``trust.sign_in_stats``, the charts from ``trust.charts``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict
from django.template.response import TemplateResponse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import reason_labels, sign_in_stats
from .charts import Marker, Series, line_chart
from .conf import conf
from .sign_in_stats import DAY, PERIODS, WEEK, Bucket, ReasonCounts, WhatIf

MAX_THRESHOLD = 1e6  # far past any score that asks anything of anyone


class RiskPageForm(forms.Form):
    """The page's choices, from the query string: hostile values are form
    errors, and the page shows the defaults for them."""

    days = forms.TypedChoiceField(
        label=gettext_lazy("Period"),
        choices=lambda: [(days, _("last %(days)d days") % {"days": days}) for days in PERIODS],
        coerce=int,
        initial=30,
        required=False,
    )
    bucket = forms.ChoiceField(
        label=gettext_lazy("By"),
        choices=[(DAY, gettext_lazy("day")), (WEEK, gettext_lazy("week"))],
        initial=DAY,
        required=False,
    )
    threshold = forms.FloatField(
        label=gettext_lazy("Step-up threshold"),
        # Django's FloatField refuses nan and inf (1e999 reads as inf).
        min_value=0,
        max_value=MAX_THRESHOLD,
        required=False,
        help_text=gettext_lazy("A score at or above it asks for a code; a number such as 0.3."),
    )

    def choice(self, name: str) -> Any:
        """The valid value of field ``name`` (after ``is_valid``), or its default."""
        value = getattr(self, "cleaned_data", {}).get(name)
        return self.fields[name].initial if value in (None, "") else value


def risk_page(model_admin: admin.ModelAdmin, request: HttpRequest) -> TemplateResponse:
    """The page: the rates and reasons over time, and the what-if."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    today = conf.RISK_THRESHOLDS.step_up
    form = RiskPageForm(_with_defaults(request, today))
    form.is_valid()  # the valid fields' values are kept; the errors are shown
    days, bucket = form.choice("days"), form.choice("bucket")
    chosen = form.choice("threshold")
    threshold = today if chosen is None else chosen
    since = sign_in_stats.period_start(days)
    buckets = sign_in_stats.rates(since, bucket)
    reasons = sign_in_stats.reason_counts(since, bucket)
    found = sign_in_stats.what_if(since, threshold, today)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Risk: step-ups and refusals"),
        "form": form,
        "days": days,
        "bucket": bucket,
        "buckets": buckets,
        "rates_chart": _rates_chart(buckets, bucket),
        "reasons": _reason_rows(reasons),
        "reason_counts": reasons,
        "reasons_chart": _reasons_chart(buckets, reasons, bucket),
        "what_if": _what_if_answer(found),
        "curve_chart": _curve_chart(found),
        "today_threshold": _threshold(today),
        "reason_rows_limit": sign_in_stats.REASON_ROWS,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/trust/signinattempt/risk.html", context)


def _with_defaults(request: HttpRequest, today: float) -> QueryDict:
    """The query string, with the defaults for what it leaves out (so that
    the form shows the choices the page is drawn with)."""
    data = request.GET.copy()
    data.setdefault("days", str(RiskPageForm.base_fields["days"].initial))
    data.setdefault("bucket", DAY)
    if math.isfinite(today):
        data.setdefault("threshold", f"{today:g}")
    return data


def _percent(share: float | None) -> str:
    if share is None:
        return "-"
    return _("%(share)s %%") % {"share": formats.number_format(share * 100, 1)}


def _threshold(value: float) -> str:
    if not math.isfinite(value):
        return _("never (infinite)")
    return formats.number_format(f"{value:g}")


def _x_ticks(starts: Sequence[date]) -> Sequence[tuple[float, str]]:
    """About eight dates under the axis, whatever the number of buckets."""
    step = max(1, math.ceil(len(starts) / 8))
    labels = [formats.date_format(start, "SHORT_DATE_FORMAT") for start in starts]
    return list(enumerate(labels))[::step]


def _rates_chart(buckets: list[Bucket], bucket: str) -> str:
    starts = [one.start for one in buckets]
    asked = [None if one.asked_share is None else one.asked_share * 100 for one in buckets]
    denied = [None if one.denied_share is None else one.denied_share * 100 for one in buckets]
    return line_chart(
        title=_("Share of sign-ins asked for a code and refused"),
        description=_("Per day, in per cent of sign-ins; the table below has the numbers.")
        if bucket == DAY
        else _("Per week, in per cent of sign-ins; the table below has the numbers."),
        x=list(range(len(starts))),
        series=[Series(_("asked for a code"), asked), Series(_("refused"), denied)],
        x_ticks=_x_ticks(starts),
        y_format=lambda value: _percent(value / 100),
        empty=_("No sign-ins in this period."),
        ident="rates",
    )


def _reason_rows(counts: ReasonCounts) -> list[dict[str, Any]]:
    return [
        {
            "code": reason,
            "label": reason_labels.labels([reason])[0],
            "asked": counts.asked[reason],
            "denied": counts.denied[reason],
        }
        for reason in counts.reasons
    ]


def _reasons_chart(buckets: list[Bucket], counts: ReasonCounts, bucket: str) -> str:
    starts = [one.start for one in buckets]
    series = [
        Series(
            reason_labels.labels([reason])[0],
            [counts.by_bucket.get(reason, {}).get(start, 0) for start in starts],
        )
        for reason in counts.reasons
    ]
    return line_chart(
        title=_("Reasons of the sign-ins asked for a code or refused"),
        description=_("Per day, how many such sign-ins came with each reason.")
        if bucket == DAY
        else _("Per week, how many such sign-ins came with each reason."),
        x=list(range(len(starts))),
        series=series,
        x_ticks=_x_ticks(starts),
        y_format=lambda value: formats.number_format(round(value)),
        counts=True,
        empty=_("No sign-in was asked for a code or refused in this period."),
        ident="reasons",
    )


def _what_if_answer(found: WhatIf) -> dict[str, Any]:
    return {
        "threshold": _threshold(found.threshold),
        "scored": found.scored,
        "count": found.at_threshold,
        "share": _percent(WhatIf.share(found.at_threshold, found.scored)),
        "today_count": found.at_today,
        "today_share": _percent(WhatIf.share(found.at_today, found.scored)),
        "curve": [
            (_threshold(value), count, _percent(WhatIf.share(count, found.scored)))
            for value, count in found.curve
        ],
    }


def _curve_chart(found: WhatIf) -> str:
    """Share asked against the threshold, on a logarithmic axis of thresholds."""
    shares = [
        None if found.scored == 0 else count / found.scored * 100 for _value, count in found.curve
    ]
    low, high = math.log10(found.curve[0][0]), math.log10(found.curve[-1][0])

    def at(value: float) -> float:
        # A threshold off the curve is marked at its end (labelled with its value).
        return min(max(math.log10(value), low), high)

    markers = []
    if math.isfinite(found.today) and found.today > 0:
        markers.append(Marker(at(found.today), _("today: %s") % _threshold(found.today)))
    if found.threshold > 0 and found.threshold != found.today:
        markers.append(Marker(at(found.threshold), _("chosen: %s") % _threshold(found.threshold)))
    return line_chart(
        title=_("Share of scored sign-ins asked, by threshold"),
        description=_("How many of the period's scored sign-ins score at or above each threshold."),
        x=[math.log10(value) for value, _count in found.curve],
        series=[Series(_("asked for a code"), shares)],
        x_ticks=[(power, _threshold(10.0**power)) for power in range(-3, 4)],
        y_format=lambda value: _percent(value / 100),
        y_top=100,
        markers=markers,
        empty=_("No scored sign-ins in this period."),
        ident="curve",
    )
