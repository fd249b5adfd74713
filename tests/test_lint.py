"""The whole tree is ruff clean, including the logging rule sets (G, LOG) and the notebooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course.manifest import REPO_ROOT

RUFF = Path(sys.executable).parent / "ruff"


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff(command: list[str]) -> None:
    result = subprocess.run(
        [str(RUFF), *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"ruff {' '.join(command)} failed:\n{result.stdout}{result.stderr}"


def test_logging_rule_sets_are_enabled() -> None:
    """A log call with an f-string must be reported: the G rules are really on."""
    bad = 'import logging\nlogging.getLogger(__name__).info(f"fold {3}")\n'
    result = subprocess.run(
        [str(RUFF), "check", "--stdin-filename", "example.py", "-"],
        cwd=REPO_ROOT,
        input=bad,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "G004" in result.stdout, result.stdout
