"""The grading kernel still reports a failing cell when student code hides IPython's tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.sandbox import kernel_spec

pytestmark = pytest.mark.slow


def _run_in_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cells: list[str]) -> list:
    spec_dir = tmp_path / "jupyter" / "kernels" / "course-sandbox"
    spec_dir.mkdir(parents=True)
    spec = kernel_spec(cpu_seconds=60, memory_mb=2048, file_mb=16, max_output=100_000, deny=[])
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    workdir = tmp_path / "student"
    workdir.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(
        notebook,
        kernel_name="course-sandbox",
        allow_errors=True,
        timeout=60,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return [cell.outputs for cell in notebook.cells]


def _failed_as_nbgrader_sees_it(outputs: list) -> bool:
    """nbgrader's rule: a test cell fails on an error output or any stderr stream."""
    return any(
        out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr")
        for out in outputs
    )


class TestHiddenTracebacks:
    """rich.traceback.install() must not turn a failing test cell into a passing one."""

    def test_failure_still_counts_after_rich_traceback_install(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        outputs = _run_in_sandbox(
            tmp_path,
            monkeypatch,
            ["import rich.traceback\nrich.traceback.install()", "raise AssertionError('task 12.1 failed')"],
        )
        assert not any(out.output_type == "error" for out in outputs[1]), "rich should hide the error output"
        assert _failed_as_nbgrader_sees_it(outputs[1]), f"the failing cell looks passed: {outputs[1]}"

    def test_passing_cell_stays_clean(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        outputs = _run_in_sandbox(tmp_path, monkeypatch, ["x = 1", "assert x == 1\nprint('ok')"])
        assert not _failed_as_nbgrader_sees_it(outputs[1]), outputs[1]
