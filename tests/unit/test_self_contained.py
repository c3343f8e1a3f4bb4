"""The project explains itself: no tracked file cites a document outside the repository, and no
comment or doc names a tracker's issue number (say what and why instead; numbers mean nothing to a
reader of the code). Facts the code relies on live in docs/."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".json", ".sh", ".html"}
TEXT_NAMES = {"Makefile", "run", ".gitignore"}

# Written in pieces so this file does not match itself.
OUTSIDE_DOCS = re.compile("|".join([r"\.\./" + "shared", r"/work/" + "shared", r"providers" + r"\.md",
                                    r"local-aws" + r"\.md", r"(?<![\w/-])API" + r"\.md", r"STYLE" + r"\.md"]))
ISSUE_NUMBER = re.compile(r"\bissues?\s*#?\d+\b|(?<![\w#&/])#\d+\b", re.IGNORECASE)


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.split("\0")
    paths = [ROOT / name for name in names if name]
    return [p for p in paths if p.is_file() and (p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES)]


def _hits(pattern: re.Pattern[str]) -> list[str]:
    hits = []
    for path in tracked_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return hits


def test_there_are_files_to_check():
    assert any(p.name == "pyproject.toml" for p in tracked_text_files())


def test_no_file_cites_documents_outside_the_repository():
    assert _hits(OUTSIDE_DOCS) == []


def test_no_file_names_an_issue_number():
    assert _hits(ISSUE_NUMBER) == []


def test_the_patterns_catch_what_they_are_for():
    assert OUTSIDE_DOCS.search("see ../" + "shared/local-aws" + ".md §6")
    assert OUTSIDE_DOCS.search("as API" + ".md fixes it")
    assert not OUTSIDE_DOCS.search("docs/api-conventions.md")
    assert ISSUE_NUMBER.search("# after PAID (issue " + "7)")
    assert ISSUE_NUMBER.search("fixed in #" + "42 upstream")
    for innocent in ('"pk": "ORDER#1"', 'signed + "###1"', "int(issued)", "color: &#39;", "a/#3"):
        assert not ISSUE_NUMBER.search(innocent), innocent
