"""``python -m bench.rba``: the risk model of issue 10 against simulated users
and Wiefling et al.'s attacker models (docs/risk.md)."""
