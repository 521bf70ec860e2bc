"""The README's test command (quick start, command 2) is what CI runs (issue 14 item 7)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_command_2_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n\s*(.*?)\n\s*```", readme, re.S)
    command = blocks[1].strip()
    steps = [s.strip() for s in command.split("&&")]
    assert steps[0] == ". .venv/bin/activate"
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for step in steps[1:]:
        assert step in ci, f"README step {step!r} is not a line of .ci/run"
    assert "mkdocs build --strict" in steps and any(s.startswith("python -m pytest") for s in steps)
    assert (ROOT / "mkdocs.yml").read_text().count("strict: true") == 1
