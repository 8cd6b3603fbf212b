"""Lint is part of the test run: ruff over the package, tests, benchmarks and tasks.py."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    paths = ["gfteach", "tests", "benchmarks", "tasks.py", "book/_ext"]
    out = subprocess.run([sys.executable, "-m", "ruff", "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_is_applied():
    paths = ["gfteach", "tests", "benchmarks", "tasks.py", "book/_ext"]
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, "run `ruff format`:\n" + out.stdout + out.stderr
