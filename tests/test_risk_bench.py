"""python -m bench.rba: a short run produces the table, every share in [0, 1]."""

from __future__ import annotations

import re

import pytest

from bench.rba import world
from bench.rba.__main__ import main


@pytest.mark.skipif(
    not (world.USER_AGENTS.exists() or world.ALT_USER_AGENTS.exists()),
    reason="shared/data/user_agents.txt is not on this machine",
)
def test_quick_evaluation_prints_the_table(capsys):
    assert main(["--quick", "--users", "400", "--days", "60"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| (1|5|20|40) \| ", line)]
    # history sizes x (six attacks + legitimate + its roaming laptops)
    assert len(rows) == 4 * 8
    assert any("legitimate asked for a code" in row for row in rows)
    assert any("victim's country, another ISP" in row for row in rows)
    shares = [float(s) / 100 for row in rows for s in re.findall(r"([\d.]+)% \(n=", row)]
    assert len(shares) == len(rows) * 3
    assert all(0.0 <= share <= 1.0 for share in shares)
    assert "µs" in out  # the cost table
    assert "block new to the user (default)" in out  # the device history's curve
