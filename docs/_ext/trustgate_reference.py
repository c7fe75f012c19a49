"""The settings and checks references, generated from the code.

``{trustgate-settings} trust.conf`` lists every entry of the module's
``_DEFAULTS``: its name, its default and the ``#:`` comment above it (a
setting without one fails the build). ``{trustgate-checks} trust.checks``
lists every system check message of the module (or of each module of the
package) by id: its level, its text
and its hint as the code writes them (a value only known when the check runs
is shown by its name, in italics), and whether it runs only with
``check --deploy``.

Both read the source with ``ast`` and ``tokenize`` and import the module for
the values (defaults, module constants in the messages); neither configures
Django's settings.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import math
import pkgutil
import re
import tokenize
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


# --- settings ---------------------------------------------------------------------


def setting_docs(module: Any) -> dict[str, str]:
    """{setting: its ``#:`` comment} for every key of the module's ``_DEFAULTS``."""
    source = inspect.getsource(module)
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.string.startswith("#:"):
            comments[token.start[0]] = token.string[2:].strip()
    for node in ast.walk(ast.parse(source)):
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name) and target.id == "_DEFAULTS":
            dict_node = node.value  # type: ignore[attr-defined]
            break
    else:
        raise ValueError(f"{module.__name__} has no _DEFAULTS")
    docs: dict[str, str] = {}
    for key in dict_node.keys:
        assert isinstance(key, ast.Constant)
        lines, line = [], key.lineno - 1
        while line in comments:
            lines.insert(0, comments[line])
            line -= 1
        docs[key.value] = " ".join(lines)
    return docs


def shown_default(value: Any) -> str:
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
            if seconds % size == 0:
                count = seconds // size
                return f"{count} {unit}{'s' if count != 1 else ''}"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, tuple) and not value:
        return "[]"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def inline(text: str) -> list[nodes.Node]:
    """Text with ``literals`` as docutils nodes."""
    parts = re.split(r"``(.+?)``", text)
    return [
        nodes.literal(part, part) if index % 2 else nodes.Text(part)
        for index, part in enumerate(parts)
        if part
    ]


def table(header: list[str], rows: list[list[list[nodes.Node]]], widths: list[int]) -> nodes.table:
    group = nodes.tgroup(cols=len(header))
    group += [nodes.colspec(colwidth=width) for width in widths]
    head = nodes.thead()
    head += nodes.row("", *[nodes.entry("", nodes.paragraph(text=title)) for title in header])
    body = nodes.tbody()
    for cells in rows:
        body += nodes.row("", *[nodes.entry("", nodes.paragraph("", "", *cell)) for cell in cells])
    group += [head, body]
    return nodes.table("", group)


class SettingsDirective(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module = importlib.import_module(self.arguments[0])
        docs = setting_docs(module)
        rows = []
        for name, value in module._DEFAULTS.items():
            if not docs.get(name):
                logger.warning(
                    "%s: %s has no #: comment saying what it does",
                    module.__name__,
                    name,
                    location=self.get_location(),
                )
            literal = nodes.literal(name, name)
            rows.append(
                [
                    [nodes.target("", "", ids=[nodes.make_id(f"setting-{name}")]), literal],
                    [nodes.literal(shown_default(value), shown_default(value))],
                    inline(docs.get(name, "")),
                ]
            )
        return [table(["Setting", "Default", "What it does"], rows, [3, 2, 7])]


# --- checks -----------------------------------------------------------------------


@dataclass
class CheckId:
    id: str
    level: str
    messages: list[list[nodes.Node]] = field(default_factory=list)
    hints: list[list[nodes.Node]] = field(default_factory=list)
    deploy: bool = False
    functions: set[str] = field(default_factory=set)


def rendered(node: ast.expr | None, namespace: dict[str, Any]) -> list[nodes.Node]:
    """A message as the code writes it: module constants filled in, values
    known only when the check runs named in italics."""
    if node is None:
        return []
    if isinstance(node, ast.Constant):
        return [nodes.Text(str(node.value))]
    if isinstance(node, ast.JoinedStr):
        out: list[nodes.Node] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                expression = ast.unparse(part.value)
                try:
                    value = eval(expression, dict(namespace))  # noqa: S307  # our own source
                except Exception:
                    # Known only when the check runs: its name, or "…" for an expression.
                    simple = isinstance(part.value, ast.Name | ast.Attribute)
                    shown = expression if simple else "…"
                    out.append(nodes.emphasis(shown, shown))
                    continue
                out.append(nodes.Text(repr(value) if part.conversion == ord("r") else str(value)))
            else:
                out += rendered(part, namespace)
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return rendered(node.left, namespace) + rendered(node.right, namespace)
    source = ast.unparse(node)
    return [nodes.emphasis(source, source)]


def text(parts: list[nodes.Node]) -> str:
    return "".join(part.astext() for part in parts)


def is_deploy(function: ast.FunctionDef) -> bool:
    return any(
        isinstance(decorator, ast.Call)
        and any(k.arg == "deploy" and getattr(k.value, "value", False) for k in decorator.keywords)
        for decorator in function.decorator_list
    )


def check_modules(module: Any) -> list[Any]:
    """The module, or each module of a package (``trust.checks`` is one)."""
    if not hasattr(module, "__path__"):
        return [module]
    return [module] + [
        importlib.import_module(f"{module.__name__}.{info.name}")
        for info in pkgutil.iter_modules(module.__path__)
    ]


def check_ids(module: Any) -> dict[str, CheckId]:
    found: dict[str, CheckId] = {}
    for each in check_modules(module):
        _collect(each, found)
    return found


def _collect(module: Any, found: dict[str, CheckId]) -> None:
    tree = ast.parse(inspect.getsource(module))
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        # The module's constants, and the function's own (``path = "..."``).
        namespace = dict(vars(module))
        for statement in function.body:
            if (
                isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and isinstance(statement.value, ast.Constant)
            ):
                namespace[statement.targets[0].id] = statement.value.value
        for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
            if not (isinstance(call.func, ast.Name) and call.func.id in ("Error", "Warning")):
                continue
            keywords = {k.arg: k.value for k in call.keywords}
            ident = keywords.get("id")
            if not isinstance(ident, ast.Constant):
                continue
            entry = found.setdefault(ident.value, CheckId(ident.value, call.func.id))
            message = rendered(call.args[0] if call.args else keywords.get("msg"), namespace)
            if message and text(message) not in map(text, entry.messages):
                entry.messages.append(message)
            hint = rendered(keywords.get("hint"), namespace)
            if hint and text(hint) not in map(text, entry.hints):
                entry.hints.append(hint)
            entry.deploy = entry.deploy or is_deploy(function)
            entry.functions.add(function.name)


class ChecksDirective(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module = importlib.import_module(self.arguments[0])
        found = check_ids(module)
        if not found:
            logger.warning("%s has no checks", module.__name__, location=self.get_location())
        items = nodes.definition_list()
        for ident in sorted(found):
            entry = found[ident]
            term = nodes.term()
            term += nodes.target("", "", ids=[nodes.make_id(f"check-{ident}")])
            term += [nodes.literal(ident, ident), nodes.Text(f" ({entry.level.lower()}")]
            term += nodes.Text(", with --deploy only)" if entry.deploy else ")")
            body = nodes.definition()
            for message in entry.messages:
                body += nodes.paragraph("", "", *message)
            for hint in entry.hints:
                body += nodes.paragraph("", "", nodes.strong("Hint: ", "Hint: "), *hint)
            items += nodes.definition_list_item("", term, body)
        return [items]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("trustgate-settings", SettingsDirective)
    app.add_directive("trustgate-checks", ChecksDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
