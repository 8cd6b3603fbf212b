#!/usr/bin/env python3
"""The course's commands. Needs only python3: each command makes the virtual environment it needs.

    python3 tasks.py book      build the book into _build/html (open _build/html/index.html)
    python3 tasks.py test      lint, package tests, every chapter under nbval, student notebooks, the nbgrader
                               course, the Colab notebooks in a Colab-like environment, book build + browser
    python3 tasks.py refresh   re-execute every chapter in place (explorer frames precomputed for the static
                               book), then regenerate colab/; or name chapters:
                               python3 tasks.py refresh book/ch01_numerical_odes.ipynb
    python3 tasks.py student   write the student notebooks into student/ (not committed)
    python3 tasks.py nbgrader  write the nbgrader course into nbgrader/ (not committed) and generate its release
    python3 tasks.py colab     write the Colab notebooks into colab/ (committed)

The environment lives in .venv and is (re)installed from requirements.txt whenever that file changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".requirements.sha256"


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def run(*cmd, env: dict | None = None, cwd: Path = ROOT) -> int:
    say(" ".join(str(c) for c in cmd))
    # the environment's own tools first on PATH (nbgrader calls `alembic`, nbconvert finds `jupyter-*`)
    env = {**os.environ, **(env or {}), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.call([str(c) for c in cmd], cwd=cwd, env=env)


def ensure_env() -> None:
    """Create .venv and install requirements.txt into it, unless that exact file is installed already."""
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    if not PY.exists():
        say(f"creating a virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("installing requirements.txt (first time: a few minutes)")
    pip = [PY, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if run(*pip, "--upgrade", "pip") or run(*pip, "-r", "requirements.txt"):
        sys.exit("[tasks] installing requirements.txt failed")
    STAMP.write_text(digest)


def chapters() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))


def book() -> int:
    """Build the HTML book from the committed notebook outputs; warnings are errors."""
    code = run(BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going")
    if code == 0:
        say(f"built: open {ROOT / '_build' / 'html' / 'index.html'} in a browser")
    return code


def test() -> int:
    """Everything CI checks, in one pytest run (so its summary line is the last line printed).

    tests/test_lint.py runs ruff, tests/test_book.py builds the book under -W and loads every page in
    headless Chromium, --nbval re-executes every chapter and compares each output (strict); the student,
    nbgrader and Colab tests generate those notebooks and run them (tests/notebook_runs.py).
    """
    return run(
        PY, "-m", "pytest", "tests", *chapters(),
        "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/sanitize.cfg",
        "-p", "no:cacheprovider", "-q", "-rfE",
    )  # fmt: skip


def refresh(names: list[str]) -> int:
    """Re-execute chapters top to bottom in a fresh kernel, in place, with every explorer frame
    precomputed for the static book (no widget state: the book shows the frames, not the widgets);
    then regenerate the Colab notebooks, which are made from the chapters."""
    code = run(
        PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
        "--ExecutePreprocessor.timeout=900", "--ExecutePreprocessor.store_widget_state=False",
        *(names or chapters()),
        env={"GFTEACH_EXPLORER_FRAMES": "all"},
    )  # fmt: skip
    return code or colab()


def notebooks(kind: str) -> int:
    """Student, nbgrader or Colab notebooks from every chapter (gfteach.course.notebooks)."""
    return run(PY, "-m", "gfteach.course.notebooks", kind, "--root", ROOT)


def nbgrader() -> int:
    """The nbgrader course: nbgrader/source/<chapter>/<chapter>.ipynb, then nbgrader's release of each."""
    return notebooks("nbgrader") or run(BIN / "nbgrader", "generate_assignment", "*", "--force", cwd=ROOT / "nbgrader")


def colab() -> int:
    return notebooks("colab")


def main(argv: list[str]) -> int:
    commands = {
        "book": lambda: book(),
        "test": lambda: test(),
        "refresh": lambda: refresh(argv[1:]),
        "student": lambda: notebooks("student"),
        "nbgrader": lambda: nbgrader(),
        "colab": lambda: colab(),
    }
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    ensure_env()
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
