"""What a run or a service needs to record about the code it runs: the git commit.

Both applications log it at startup, so that a log line can always be traced back
to the exact code that wrote it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["REPO_ROOT", "code_version"]

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The folder that holds the ``apps`` package (the repository root in a checkout)."""


def code_version(directory: Path = REPO_ROOT) -> str:
    """The commit checked out in ``directory`` (``git rev-parse HEAD``), or ``"unknown"``.

    ``"unknown"`` covers every way of not knowing: no git installed, not a git
    checkout (an installed wheel), git failing or hanging.
    """
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = completed.stdout.strip()
    return sha if completed.returncode == 0 and sha else "unknown"
