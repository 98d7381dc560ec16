"""The documentation's commands and links (issue 33 item 5): every `rnnbench` command shown in a code
block of README.md or a page of docs/ composes and passes the command's checks, and every relative link
of those pages points to a file of the repository (and, into a page, to one of its headings)."""
import re
import shlex
from pathlib import Path

import pytest

from rnnbench.cli import compose_checked

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# pages of measurements keep the commands of their day (docs/reproduction.md, docs/measurements/): not checked
MEASURED = {"reproduction.md"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def code_lines(page: Path) -> list[str]:
    """The lines of the page's fenced code blocks, a trailing backslash joining the next line."""
    out, inside, held = [], False, ""
    for line in page.read_text().split("\n"):
        if line.startswith("```"):
            inside = not inside
            continue
        if inside:
            line = held + line.strip()
            held = line[:-1] + " " if line.endswith("\\") else ""
            if not held:
                out.append(line)
    return out


def commands() -> list[tuple[str, str]]:
    """(page, command) for every `rnnbench ...` line of a code block; a sweep's first value of each list."""
    found = []
    for page in PAGES:
        if page.name in MEASURED:
            continue
        for line in code_lines(page):
            command = line.split("#", 1)[0].strip()
            if not command.startswith("rnnbench ") or "<" in command or "..." in command:
                continue
            found.append((page.relative_to(ROOT).as_posix(), command))
    return found


def overrides_of(command: str) -> list[str]:
    """What the command composes: Hydra's own settings, flags and the sweep's other values left out."""
    out = []
    for arg in shlex.split(command)[1:]:
        if arg.startswith("-") or arg.lstrip("+~").startswith(("hydra.", "hydra/")):
            continue
        if "=" not in arg and not arg.startswith("~"):  # a flag's value (--cfg job)
            continue
        key, _, value = arg.partition("=")
        if "," in value and not value.startswith("["):
            value = value.split(",")[0]
        out.append(f"{key}={value}" if _ else arg)
    return out


COMMANDS = commands()


def test_the_pages_show_commands():
    assert len(COMMANDS) >= 30, COMMANDS  # the README's quickstart alone shows about twenty


@pytest.mark.parametrize("page,command", COMMANDS, ids=[f"{p}:{c[9:60]}" for p, c in COMMANDS])
def test_every_documented_command_composes(page, command):
    cfg = compose_checked(overrides_of(command))
    assert cfg.dataset.name and cfg.model.name


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in page.read_text().split("\n") if re.match(r"^#{1,6} ", line)}


def test_every_relative_link_points_into_the_repository():
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.name}: {target} (no heading '{anchor}')")
    assert not broken, broken


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= 250, f"README.md has {lines} lines; move topics to docs/"
