"""Binder and local Jupyter. Binder (repo2docker) reads binder/: Python from runtime.txt, and from
requirements.txt the CPU torch and only what a reader needs. It cannot be built here, so pip resolves
everything but torch for Python 3.12, wheels only, as repo2docker's pip would. Locally, JupyterLab
(from requirements.txt) runs the chapters with the widget manager the explorers need."""

import json
import re
import subprocess
import sys
from pathlib import Path

from notebook_runs import ENV

from gfteach.course.notebooks import release

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
TOOLS = set(
    "jupyter-book pytest nbval ruff hypothesis playwright torchdiffeq nbgrader check-jsonschema sphinx-proof "
    "sphinx-exercise sphinxcontrib-bibtex django-static-mathjax jupyterlab".split()
)


def pins(path: Path) -> dict[str, str]:
    """``{name: version}`` of the ``name==version`` lines of a requirements file."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {m.group(1).lower(): m.group(2) for m in map(re.compile(r"^([\w.-]+)==(\S+)$").match, lines) if m}


def test_runtime_is_a_python_the_pins_have_wheels_for():
    assert (BINDER / "runtime.txt").read_text().strip() in ("python-3.11", "python-3.12")


def test_torch_is_the_cpu_build_from_pytorchs_index_at_the_books_version():
    text = (BINDER / "requirements.txt").read_text()
    assert re.search(r"^--extra-index-url https://download\.pytorch\.org/whl/cpu$", text, re.M)
    assert pins(BINDER / "requirements.txt")["torch"] == pins(ROOT / "requirements.txt")["torch"] + "+cpu"


def test_binder_installs_what_a_reader_needs_and_nothing_to_build_or_test_the_book():
    binder, book = pins(BINDER / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert not set(binder) & TOOLS, set(binder) & TOOLS
    assert {name: binder[name] for name in binder if name != "torch"} == {
        name: book[name] for name in binder if name != "torch"
    }
    declared = {re.split(r"[<>=!~ \[;]", d)[0].lower() for d in release(ROOT)[2]}
    assert declared - {"ipython"} <= set(binder), (
        "a declared dependency is not pinned for Binder"
    )  # Jupyter has IPython
    assert re.search(r"^\.$", (BINDER / "requirements.txt").read_text(), re.M), "the package itself"


def test_everything_but_torch_resolves_for_python_3_12(tmp_path):
    binder = pins(BINDER / "requirements.txt")
    declared = [d for d in release(ROOT)[2] if not d.startswith("torch")]  # what `.` asks for
    wanted = [f"{name}=={version}" for name, version in binder.items() if name != "torch"] + declared
    (tmp_path / "requirements.txt").write_text("\n".join(wanted) + "\n")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--python-version", "3.12", "--only-binary=:all:", "--target", tmp_path / "target",
               "--report", tmp_path / "report.json", "-r", tmp_path / "requirements.txt"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {
        i["metadata"]["name"].lower(): i["metadata"]["version"]
        for i in json.loads((tmp_path / "report.json").read_text())["install"]
    }
    assert all(resolved.get(name) == version for name, version in binder.items() if name != "torch"), resolved
    assert "jupyterlab-widgets" in resolved or "jupyterlab_widgets" in resolved  # the widgets' JupyterLab side
    assert not set(resolved) & TOOLS and "torch" not in resolved


def test_local_jupyterlab_is_installed_with_the_widget_manager():
    lab = subprocess.run([Path(sys.executable).parent / "jupyter", "lab", "--version"], capture_output=True, text=True)
    assert lab.returncode == 0 and re.match(r"4\.", lab.stdout), lab.stderr
    extensions = subprocess.run(
        [Path(sys.executable).parent / "jupyter", "labextension", "list"], capture_output=True, text=True
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", extensions.stdout + extensions.stderr)  # without its colours
    assert re.search(r"@jupyter-widgets/jupyterlab-manager v\S+ enabled\s+OK", listing), listing
