"""What the legs of ``make compat`` share.

Each ``suite_*.py`` runs a project's own test suite from the sdist of the
version installed (the tests are not in the wheels), once as released and
once with Trustgate installed as docs/quickstart.md says, and fails when the
suite fails as released (the harness is broken), when a test fails only
with Trustgate and its ``DOCUMENTED`` dict does not say why, or when a
documented failure no longer happens (Trustgate was not in the second run,
or the entry is stale). The suites' own
modules are named ``suite_*`` and ``trustgate_*``: this directory is on the
suites' path, where a ``django_otp.py`` would hide the package.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Outcome:
    """A suite's run: the runner's own count line, the ids of the tests that failed."""

    summary: str
    failed: frozenset[str]


def sdist(name: str, release: str, into: Path) -> Path:
    """The project's source distribution of ``release``, unpacked in ``into``."""
    download = ["download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest", str(into)]
    # This interpreter's pip, a pinned requirement: nothing from outside.
    subprocess.run([sys.executable, "-m", "pip", *download, f"{name}=={release}"], check=True)  # noqa: S603
    (archive,) = into.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    (tree,) = (path for path in into.iterdir() if path.is_dir())
    return tree


_UNITTEST_FAILED = re.compile(r"^(?:FAIL|ERROR): \S+ \(([^)\s]+)\)", re.MULTILINE)
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests?", re.MULTILINE)
_UNITTEST_OUTCOME = re.compile(r"^(?:OK|FAILED)\b.*$", re.MULTILINE)


def unittest_outcome(output: str) -> Outcome | None:
    """Django's test runner at verbosity 2 (``FAIL: name (dotted.id)``); None if it never ran."""
    ran, outcomes = _UNITTEST_RAN.search(output), _UNITTEST_OUTCOME.findall(output)
    if ran is None or not outcomes:
        return None
    failed = frozenset(_UNITTEST_FAILED.findall(output))
    return Outcome(f"{ran.group(1)} tests, {outcomes[-1]}", failed)


_PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
_PYTEST_OUTCOME = re.compile(r"^=* ?(\d+ (?:passed|failed|errors?)\b.*?) in [\d.]+s", re.MULTILINE)


def pytest_outcome(output: str) -> Outcome | None:
    """pytest with ``-rfE`` (``FAILED node::id``); None if it never ran."""
    outcomes = _PYTEST_OUTCOME.findall(output)
    if not outcomes:
        return None
    return Outcome(outcomes[-1], frozenset(_PYTEST_FAILED.findall(output)))


def run(
    label: str,
    command: list[str],
    cwd: Path,
    env: Mapping[str, str],
    parse: Callable[[str], Outcome | None],
) -> Outcome:
    """Runs a suite; exits with its output's tail when it did not get to run its tests."""
    done = subprocess.run(  # noqa: S603
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    output = done.stdout + done.stderr
    outcome = parse(output)
    if outcome is None:
        sys.exit(f"{label}: the suite did not run\n{output[-3000:]}")
    return outcome


def report(title: str, alone: Outcome, trusted: Outcome, documented: Mapping[str, str]) -> int:
    """Prints the comparison; 1 when the suite fails as released, a failure is
    unexplained, or a documented one no longer happens."""
    only_with = trusted.failed - alone.failed
    explained = sorted(only_with & documented.keys())
    unexplained = sorted(only_with - documented.keys())
    print(title)
    print(f"  as released:    {alone.summary}")
    print(f"  with Trustgate: {trusted.summary}")
    for test in sorted(alone.failed):
        print(f"  failing as released (the harness is broken): {test}")
    print(f"  failing only with Trustgate, as documented: {len(explained)}")
    for test in explained:
        print(f"    {test}: {documented[test]}")
    # A documented failure that stopped failing fails the run too: the list
    # doubles as proof that the second run really had Trustgate installed.
    passing = sorted(documented.keys() - only_with)
    for test in passing:
        print(f"  documented but passing now (Trustgate not installed, or drop it): {test}")
    print(f"  failing only with Trustgate, unexplained: {len(unexplained)}")
    for test in unexplained:
        print(f"    {test}")
    return 1 if alone.failed or unexplained or passing else 0
