"""What `make test-package` asserts about the built sdist and wheel.

    python .ci/check_dist.py dist/

The wheel holds the two apps and nothing else: every file of `trust/` and
`otp_flow/` (code, migrations, templates, static files, compiled
translations, `py.typed`), no test suite, no demo site. The sdist holds the
same apps and the license, without tests or the demo either. Both name the
MIT license and only classifiers PyPI knows.

Their metadata publishes the extras a site may install (the optional
integrations) and nothing of development: no demo, database driver, cache
client or test tool as an extra or a requirement (those are dependency
groups, which are never published). The Project-URLs name the docs, the
source and the changelog, each a path that exists in the repository.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from urllib.parse import urlsplit

from trove_classifiers import classifiers as known_classifiers

REPO = Path(__file__).resolve().parent.parent
APPS = ("trust", "otp_flow")
# Repository folders that are not part of the package: the suite, the demo
# site and its assets, the real-process legs.
NEVER_SHIPPED = ("tests", "e2e", "bench", "project", "templates", "static", "fixtures", ".ci")
# Source files that never reach a wheel: byte code, and translation sources
# (only the compiled .mo files are package data).
NOT_PACKAGED_SUFFIXES = (".pyc", ".po")
# The optional integrations, each used only when installed.
EXTRAS = {"passkeys", "drf", "allauth", "user-agents", "dbsc"}
# Development needs: never an extra, never a requirement of the package.
NEVER_PUBLISHED = {
    "extras": {"demo", "dev", "test", "tests", "lint", "package", "e2e", "postgres", "redis"},
    "requirements": {
        "dj-database-url",
        "django-csp",
        "psycopg",
        "redis",
        "pytest",
        "hypothesis",
        "mypy",
        "ruff",
        "twine",
        "build",
        "playwright",
        "gunicorn",
    },
}
# An optional integration is never a requirement without its extra.
OPTIONAL = {
    "django-otp-webauthn",
    "djangorestframework",
    "django-allauth",
    "django-user-agents",
    "pyjwt",
}
PROJECT_URLS = ("Documentation", "Source", "Changelog")


def app_files() -> set[str]:
    """Every file of the two apps, as a wheel names it."""
    files = set()
    for app in APPS:
        for path in (REPO / app).rglob("*"):
            packaged = not path.name.endswith(NOT_PACKAGED_SUFFIXES)
            if path.is_file() and packaged and "__pycache__" not in path.parts:
                files.add(path.relative_to(REPO).as_posix())
    return files


def check_wheel(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    problems = [
        f"wheel: {name} is not part of the apps"
        for name in sorted(names)
        if name.split("/")[0] not in APPS and ".dist-info/" not in name
    ]
    problems += [f"wheel: {name} is missing" for name in sorted(app_files() - names)]
    for app in APPS:
        for needed in ("templates/", "migrations/__init__.py"):
            if not any(name.startswith(f"{app}/{needed}") for name in names):
                problems.append(f"wheel: no {app}/{needed}")
    if not any(name.endswith(".dist-info/licenses/LICENSE") for name in names):
        problems.append("wheel: no LICENSE in the .dist-info")
    return problems + check_metadata(metadata, "wheel")


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = {member.name.split("/", 1)[1] for member in archive if "/" in member.name}
        pkg_info = archive.extractfile(
            next(m for m in archive if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        )
        assert pkg_info is not None
        metadata = Parser().parsestr(pkg_info.read().decode())
    problems = [
        f"sdist: {name} should not be shipped"
        for name in sorted(names)
        if name.split("/")[0] in NEVER_SHIPPED
    ]
    problems += [
        f"sdist: {name} is missing"
        for name in ("LICENSE", "pyproject.toml", "trust/py.typed", "otp_flow/py.typed")
        if name not in names
    ]
    return problems + check_metadata(metadata, "sdist")


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def check_requirements(metadata, where: str) -> list[str]:
    problems = []
    extras = set(metadata.get_all("Provides-Extra", []))
    if extras != EXTRAS:
        problems.append(f"{where}: extras are {sorted(extras)}, expected {sorted(EXTRAS)}")
    for extra in extras & NEVER_PUBLISHED["extras"]:
        problems.append(f"{where}: the development extra {extra!r} is published")
    for requirement in metadata.get_all("Requires-Dist", []):
        name = requirement_name(requirement)
        if name in NEVER_PUBLISHED["requirements"]:
            problems.append(f"{where}: {requirement!r} is a development need, published")
        if name in OPTIONAL and "extra ==" not in requirement:
            problems.append(f"{where}: {requirement!r} is required without its extra")
    for extra in EXTRAS:
        if not any(f'extra == "{extra}"' in r for r in metadata.get_all("Requires-Dist", [])):
            problems.append(f"{where}: the extra {extra!r} installs nothing")
    return problems


def url_path(url: str) -> str:
    """The repository path a Project-URL names: itself, or what follows
    ``/blob/<ref>/`` or ``/tree/<ref>/`` in an https address."""
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    if parts.scheme != "https":
        return ""
    match = re.search(r"/(?:blob|tree)/[^/]+/(.*)", parts.path)
    return match.group(1) if match else "."


def check_urls(metadata, where: str) -> list[str]:
    problems = []
    urls = dict(
        (label.strip(), url.strip())
        for label, _, url in (entry.partition(",") for entry in metadata.get_all("Project-URL", []))
    )
    for label in PROJECT_URLS:
        if label not in urls:
            problems.append(f"{where}: no Project-URL {label!r}")
            continue
        path = url_path(urls[label])
        if not path or not (REPO / path).exists():
            problems.append(f"{where}: Project-URL {label} ({urls[label]}) names no file here")
    return problems


def check_metadata(metadata, where: str) -> list[str]:
    problems = check_requirements(metadata, where) + check_urls(metadata, where)
    if metadata.get("License-Expression") != "MIT":
        problems.append(f"{where}: License-Expression is {metadata.get('License-Expression')!r}")
    if "LICENSE" not in metadata.get_all("License-File", []):
        problems.append(f"{where}: License-File does not name LICENSE")
    for classifier in metadata.get_all("Classifier", []):
        if classifier not in known_classifiers:
            problems.append(f"{where}: unknown classifier {classifier!r}")
    return problems


def main(dist: Path) -> int:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
        return 1
    problems = check_wheel(wheels[0]) + check_sdist(sdists[0])
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(
        f"{wheels[0].name} and {sdists[0].name}: the two apps, their license, "
        f"extras {', '.join(sorted(EXTRAS))}, nothing else"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "dist"))
