"""The README's configuration reference names every setting the description gives functions."""

from pathlib import Path

from infra.description import SERVICE

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    assert README.index("make up") < 400 and README.index("make test") < 400


def test_every_setting_is_documented():
    names = set(SERVICE.settings) | {k for f in SERVICE.functions for k in f.environment}
    missing = sorted(n for n in names if f"`{n}`" not in README)
    assert missing == []
