"""Every ```python block of the docs and the README runs as written and prints what it says
(issue 14 item 7). A block runs in a fresh folder (with `examples/` and `tests/` of the repository
linked in) in a fresh namespace; `# -> TEXT` after a line means TEXT must appear in the output.
Markers in an HTML comment on the line before a block: `<!-- snippet: slow -->` (run with
`pytest -m slow`), `<!-- snippet: not run (REASON) -->` (needs infrastructure the tests do not
have: only compiled)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"(?:<!-- snippet: (?P<mark>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.S)
EXPECT = re.compile(r"#\s*->\s*(.+)$", re.M)


def snippets():
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text[: m.start("code")].count("\n") + 1
            mark = (m.group("mark") or "").strip()
            marks = [pytest.mark.slow] if mark == "slow" else []
            out.append(pytest.param(m.group("code"), mark, id=f"{page.name}:{line}", marks=marks))
    return out


SNIPPETS = snippets()


def test_snippets_found():
    assert len(SNIPPETS) >= 10
    not_run = [p for p in SNIPPETS if p.values[1].startswith("not run")]
    assert len(not_run) <= 3, "keep docs runnable: only blocks that need a cluster may be 'not run'"


@pytest.mark.parametrize(("code", "mark"), SNIPPETS)
def test_snippet(code, mark, tmp_path, monkeypatch, capsys):
    compiled = compile(code, "<snippet>", "exec")
    if mark.startswith("not run"):
        assert re.fullmatch(r"not run \(.+\)", mark), "say why a block is not run"
        return
    assert mark in ("", "slow"), f"unknown snippet marker {mark!r}"
    for name in ("examples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    exec(compiled, {"__name__": "__snippet__"})  # noqa: S102 - the docs' own code, run as a reader would
    out = capsys.readouterr().out
    for expected in EXPECT.findall(code):
        assert expected.strip() in out, f"expected {expected.strip()!r} in the output:\n{out}"
