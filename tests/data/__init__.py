"""Data files the suite reads, found relative to the checkout (see README.md here)."""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent
# 3,000 real user agents, a reproducible sample of uap-core's test corpus.
USER_AGENT_SAMPLE = DATA / "user_agents.txt"
# The whole corpus (17,816 lines) is not in the repository: name it here.
FULL_CORPUS_VARIABLE = "TRUSTGATE_UA_CORPUS"
NO_FULL_CORPUS = (
    f"the full user-agent corpus is not here: set {FULL_CORPUS_VARIABLE} to uap-core's "
    "user agents, one a line (tests/data/README.md)"
)


def read_agents(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()]


def full_user_agent_corpus() -> Path | None:
    """The whole corpus, when ``$TRUSTGATE_UA_CORPUS`` names a file."""
    named = os.environ.get(FULL_CORPUS_VARIABLE)
    return Path(named) if named and Path(named).is_file() else None


def user_agent_corpus() -> Path:
    """The whole corpus when it is named, else the sample every checkout has."""
    return full_user_agent_corpus() or USER_AGENT_SAMPLE
