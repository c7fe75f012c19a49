"""The public surface (docs/reference/api.md) is importable as documented,
and the risk-signal types have a home outside ``rules``."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.processes import REPO

API = REPO / "docs" / "reference" / "api.md"


def documented_names() -> set[str]:
    """Every dotted ``trust.``/``otp_flow.`` name the page shows as code."""
    text = API.read_text(encoding="utf-8")
    return set(re.findall(r"`((?:trust|otp_flow)\.[a-z_.]+[A-Za-z_]*)", text))


def resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(dotted)


@pytest.mark.parametrize("dotted", sorted(documented_names()))
def test_each_documented_name_exists(dotted):
    assert resolve(dotted) is not None


def test_the_page_names_the_risk_signal_api():
    assert "trust.risk" in documented_names()


def test_risk_signal_types_are_the_models_own():
    from trust import risk
    from trust.rules.risk import decision

    assert risk.RiskContext is decision.RiskContext
    assert risk.SignalResult is decision.SignalResult
    assert (risk.ALLOW, risk.STEP_UP, risk.DENY) == (
        decision.ALLOW,
        decision.STEP_UP,
        decision.DENY,
    )
    assert set(risk.__all__) <= set(dir(risk))


def test_the_guide_imports_signal_types_from_the_public_module():
    guide = (REPO / "docs" / "guides" / "risk-tuning.md").read_text(encoding="utf-8")
    assert "from trust.risk import" in guide
    assert "trust.rules" not in guide.split("## Signals of your own")[1].split("##")[0]
