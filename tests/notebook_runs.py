"""Helpers for the notebook tests (student, nbgrader, Colab): run notebooks headless, two at a time
(CI has two cores, and a chapter runs mostly on one), and find the numbers a text gives away."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKERS = max(1, min(2, os.cpu_count() or 1))
# one thread per kernel when two run side by side; the notebooks' own bin first on PATH (nbgrader calls
# `alembic`); the repository never on the kernels' import path (they import the installed package)
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
ENV.pop("PYTHONPATH", None)
_NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?:[eE][-+]?\d+)?")


def run_all(jobs: dict, timeout: int = 1800) -> dict:
    """Run ``{key: (command, cwd, env)}`` side by side; ``{key: CompletedProcess}`` (stdout+stderr as text)."""

    def one(item):
        key, (command, cwd, env) = item
        try:
            done = subprocess.run(
                [str(c) for c in command], cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as error:
            done = subprocess.CompletedProcess(error.cmd, 124, "", f"timed out after {timeout} s")
        return key, done

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(pool.map(one, jobs.items()))


def nbconvert(path: Path, allow_errors: bool = True, kernel: str | None = None) -> list:
    """The command that executes ``path`` in place (a fresh kernel, top to bottom)."""
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
               "--ExecutePreprocessor.timeout=900", str(path)]  # fmt: skip
    if allow_errors:
        command.append("--allow-errors")
    if kernel:
        command.append(f"--ExecutePreprocessor.kernel_name={kernel}")
    return command


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def outputs_text(cell) -> str:
    """The text a cell's outputs show: streams, plain text, Markdown, HTML, errors."""
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        for text in (out.get("text"), data.get("text/plain"), data.get("text/markdown"), data.get("text/html")):
            if text:
                parts.append("".join(text) if isinstance(text, list) else text)
        if out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "\n".join(parts)


def numbers(text: str) -> set[str]:
    """The decimal numbers in ``text`` with three or more significant digits (2.000 has one), rounded to
    three (so a printed 0.585786 and a written 0.5858 are the same number)."""
    found = set()
    for token in _NUMBER.findall(text):
        mantissa = token.lower().split("e")[0].replace(".", "").strip("0")
        if len(mantissa) >= 3:
            found.add(f"{float(token):.3g}")
    return found


_SOLUTION_FENCE = re.compile(r"^ {0,3}(`{3,}|:{3,})\{solution-(start|end)\}")
_REGION = re.compile(r"^[ \t]*# BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*# END SOLUTION[^\n]*\n?", re.M | re.S)
_HINT_LINE = re.compile(r"^[ \t]*# HINT:.*\n?", re.M)
HIDDEN = {"remove-cell", "remove_cell", "remove-input", "remove_input"}


def solution_parts(nb) -> dict[str, list[str]]:
    """The test's own reading of a chapter (independent of the generators): solution ``prose``, solution
    ``code`` (hints excepted), the text ``outputs`` of solution cells; and what the book ``shown``
    elsewhere (sources and outputs, hidden cells excepted)."""
    parts, inside = {"prose": [], "code": [], "outputs": [], "shown": []}, False
    for cell in nb["cells"]:
        hidden = bool(set(cell.get("metadata", {}).get("tags", [])) & HIDDEN)
        if cell["cell_type"] == "markdown":
            fence = None
            for line in source(cell).splitlines(keepends=True):
                m = _SOLUTION_FENCE.match(line)
                if fence is None and m:
                    fence, inside = m.group(1), m.group(2) == "start"
                elif fence is not None:
                    fence = None if line.strip().startswith(fence) and not line.strip(fence[0]).strip() else fence
                elif not hidden:
                    parts["prose" if inside else "shown"].append(line)
        elif not hidden and cell["cell_type"] == "code":
            code = source(cell)
            marked = _REGION.findall(code)
            regions = marked or ([code] if inside else [])  # an unmarked cell in a solution is all solution
            parts["code"] += [_HINT_LINE.sub("", region) for region in regions]
            parts["outputs" if regions else "shown"].append(outputs_text(cell))
            parts["shown"].append(_REGION.sub("", code) if marked else "" if inside else code)
    return parts


def secrets(nb):
    """What the chapter shows only inside solutions: code lines, prose fragments and answer numbers."""
    parts = solution_parts(nb)
    shown = "\n".join(parts["shown"])
    shown_lines = {line.strip() for line in shown.splitlines()}
    lines = {line.strip() for code in parts["code"] for line in code.splitlines()} - shown_lines
    lines = {line for line in lines if len(line) >= 8}
    fragments = {f.strip() for prose in parts["prose"] for f in re.split(r"\{[^}]*\}`[^`]*`|\$[^$]*\$|`[^`]*`", prose)}
    fragments = {f for f in fragments if len(f) >= 30 and f not in shown}
    answer = numbers("\n".join(parts["prose"] + parts["code"] + parts["outputs"])) - numbers(shown)
    return lines, fragments, answer


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def tiny_chapter(fence: str = "```") -> dict:
    """A small chapter written to the book's conventions (exercises, hints, gated solutions with marked
    code, a hidden check, a figure, a labelled equation), executable in a few seconds. The answer 3.75
    appears only in the solution (prose, code, output) and in hidden checks."""

    def md(text):
        return {"cell_type": "markdown", "metadata": {}, "source": text.replace("```", fence)}

    def code(text, tags=(), outputs=(), **metadata):
        meta = {**metadata, **({"tags": list(tags)} if tags else {})}
        return {"cell_type": "code", "execution_count": 1, "metadata": meta, "outputs": list(outputs), "source": text}

    def stream(text):
        return {"output_type": "stream", "name": "stdout", "text": text}

    return {
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
        "cells": [
            md(
                "# A tiny chapter\n\nWhat is $1.5 + 2.25$? We add as in {eq}`eq-tiny`, drawn in {numref}`fig-tiny`.\n"
                "(Solution code is marked `# BEGIN SOLUTION` … `# END SOLUTION`.)"
            ),
            code(
                "import matplotlib.pyplot as plt\n\n"
                "from gfteach.course.checkers import as_number, checker, verdict\n\n\n"
                "@checker\ndef check_total(total):\n    right = as_number(total, 'total') == 1.5 + 2.25\n"
                "    return verdict(right, 'the sum' if right else 'not the sum: add both terms')\n"
            ),
            md("$$\n1.5 + 2.25 = s\n$$ (eq-tiny)\n"),
            code("plt.plot([0, 1], [0, 1])\nplt.show()", mystnb={"figure": {"name": "fig-tiny", "caption": "A line."}}),
            code("assert 1.5 + 2.25 == 3.75", tags=["remove-cell"]),
            md(
                "## Exercises\n\n```{exercise} The sum\n:label: ex-tiny-sum\n\nDefine `total`, the sum of the two "
                "numbers.\n```\n\n```{admonition} Hint\n:class: dropdown hint\nAdd them.\n```\n\n"
                "```{solution-start} ex-tiny-sum\n:class: dropdown\n```\n\nThe total is exactly 3.750, as computed:\n"
            ),
            code(
                "# BEGIN SOLUTION\n# HINT: add the two numbers\ntotal = 1.5 + 2.25\n# END SOLUTION\n"
                'print(f"your total: {total}")\ncheck_total(total)\n',
                outputs=[stream("your total: 3.75\n✓ the sum\n")],
            ),
            code("assert total == 3.75", tags=["remove-cell"]),
            md(
                "So the sum of {eq}`eq-tiny` is a short decimal.\n\n```{solution-end}\n```\n\n"
                "```{exercise} Why exact\n:label: ex-tiny-why\nWhy is the floating-point sum exact?\n```\n\n"
                "```{solution-start} ex-tiny-why\n:class: dropdown\n```\n"
                "Both numbers are dyadic rationals, so 3.750 is exact in binary floating point.\n\n"
                "```{solution-end}\n```\n\n## Summary\n\nAdding is easy.\n"
            ),
        ],
    }
