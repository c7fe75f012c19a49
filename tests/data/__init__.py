"""Data files the suite reads, found relative to the checkout (see README.md here)."""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent
# 3,000 real user agents, a reproducible sample of uap-core's test corpus.
USER_AGENT_SAMPLE = DATA / "user_agents.txt"
# The whole corpus (17,816 lines) is not in the repository: the team keeps it
# beside the checkout (``../shared/data/user_agents.txt``), or a variable names it.
FULL_CORPUS_VARIABLE = "TRUSTGATE_UA_CORPUS"
BESIDE_THE_CHECKOUT = DATA.parents[2] / "shared" / "data" / "user_agents.txt"
NO_FULL_CORPUS = (
    "the full user-agent corpus is not here: it is read from ../shared/data/user_agents.txt "
    f"beside the checkout, or from the file {FULL_CORPUS_VARIABLE} names (tests/data/README.md)"
)


def read_agents(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


def full_user_agent_corpus() -> Path | None:
    """The whole corpus: the file ``$TRUSTGATE_UA_CORPUS`` names, else the one
    beside the checkout, where either is there."""
    named = os.environ.get(FULL_CORPUS_VARIABLE)
    if named and Path(named).is_file():
        return Path(named)
    return BESIDE_THE_CHECKOUT if BESIDE_THE_CHECKOUT.is_file() else None


def user_agent_corpus() -> Path:
    """The whole corpus when it is named, else the sample every checkout has."""
    return full_user_agent_corpus() or USER_AGENT_SAMPLE
