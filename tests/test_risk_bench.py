"""python -m bench.rba: a short run produces the table, every share in [0, 1]."""

from __future__ import annotations

import re

from bench.rba.__main__ import main


def test_quick_evaluation_prints_the_table(capsys):
    assert main(["--quick", "--users", "400", "--days", "60"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| (1|5|20|40) \| ", line)]
    assert len(rows) == 4 * 6  # history sizes x (five attacks + legitimate)
    assert any("legitimate asked for a code" in row for row in rows)
    shares = [float(s) / 100 for row in rows for s in re.findall(r"([\d.]+)% \(n=", row)]
    assert len(shares) == len(rows) * 3
    assert all(0.0 <= share <= 1.0 for share in shares)
    assert "µs" in out  # the cost table
