"""Sphinx configuration of Trustgate's documentation (``make docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS / "_ext"), str(DOCS.parent)]  # the extension, and trust/otp_flow

project = "Trustgate"
author = "Trustgate contributors"
copyright = "Trustgate contributors"
release = "0.1.0"

extensions = ["myst_parser", "trustgate_reference"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_ext"]
root_doc = "index"

# Settings, check ids and messages are shown as the code writes them: no
# typographic quotes or dashes ("--deploy", not an en dash).
smartquotes = False

html_theme = "furo"
html_title = "Trustgate"
html_static_path: list[str] = []
