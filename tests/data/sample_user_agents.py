"""Make tests/data/user_agents.txt from the whole corpus, reproducibly.

    python tests/data/sample_user_agents.py CORPUS > tests/data/user_agents.txt

Keeps the 3,000 lines with the smallest SHA-256 (of the line's UTF-8 bytes),
in the corpus's own order: the same corpus always gives the same sample, and
the choice favours no browser, operating system or device.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SIZE = 3000


def sample(lines: list[str], size: int = SIZE) -> list[str]:
    def digest(line: str) -> str:
        return hashlib.sha256(line.encode("utf-8")).hexdigest()

    kept = set(sorted(lines, key=digest)[:size])
    return [line for line in lines if line in kept]


if __name__ == "__main__":
    corpus = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
    sys.stdout.write("".join(f"{line}\n" for line in sample(corpus)))
