#!/usr/bin/env python3
"""The course's commands. Needs only python3: each command makes the virtual environment it needs.

    python3 tasks.py book      build the book into _build/html (open _build/html/index.html)
    python3 tasks.py test      lint, package tests, every chapter under nbval, book build + browser checks
    python3 tasks.py refresh   re-execute every chapter in place (widget state stored), to commit outputs
                               (or name chapters: python3 tasks.py refresh book/ch01_numerical_odes.ipynb)
    python3 tasks.py student   write student notebooks (solutions replaced by stubs) into student/

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


def run(*cmd, **kw) -> int:
    say(" ".join(str(c) for c in cmd))
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


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


def book() -> int:
    """Build the HTML book from the committed notebook outputs; warnings are errors."""
    code = run(BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going")
    if code == 0:
        say(f"built: open {ROOT / '_build' / 'html' / 'index.html'} in a browser")
    return code


def test() -> int:
    """Everything CI checks, in one pytest run (so its summary line is the last line printed).

    tests/test_lint.py runs ruff, tests/test_book.py builds the book under -W and loads every page
    in headless Chromium; --nbval re-executes every chapter and compares each output (strict).
    """
    chapters = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))
    return run(
        PY, "-m", "pytest", "tests", *chapters,
        "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/sanitize.cfg",
        "-p", "no:cacheprovider", "-q", "-rfE",
    )  # fmt: skip


def refresh(chapters: list[str]) -> int:
    """Re-execute chapters top to bottom in a fresh kernel, storing widget state, in place."""
    chapters = chapters or sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.ipynb"))
    return run(
        PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
        "--ExecutePreprocessor.store_widget_state=True", "--ExecutePreprocessor.timeout=600", *chapters,
    )  # fmt: skip


def student() -> int:
    """Write each chapter's student version (gfteach.student) into student/ (not committed)."""
    code = (
        "import json, pathlib\n"
        "from gfteach.student import student_notebook\n"
        "out = pathlib.Path('student'); out.mkdir(exist_ok=True)\n"
        "for nb in sorted(pathlib.Path('book').glob('ch*.ipynb')):\n"
        "    target = out / nb.name\n"
        "    target.write_text(json.dumps(student_notebook(json.loads(nb.read_text())), indent=1) + '\\n')\n"
        "    print(f'[tasks] wrote {target}')\n"
    )
    return run(PY, "-c", code)


def main(argv: list[str]) -> int:
    commands = {
        "book": lambda: book(),
        "test": lambda: test(),
        "refresh": lambda: refresh(argv[1:]),
        "student": lambda: student(),
    }
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    ensure_env()
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
