"""Colab notebooks (``colab/``, ``python3 tasks.py colab``): up to date, plain Markdown, pinned, and
runnable in a Colab-like environment: a fresh virtual environment with Colab's ipywidgets 7.7.1 and the
package installed from a built wheel with its declared dependencies, each notebook copied outside the
repository and executed top to bottom with no error, every explorer control moved live."""

import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import types
import venv
from pathlib import Path

import nbformat
import pytest
from notebook_runs import ENV, ROOT, load, nbconvert, outputs_text, run_all, source

from gfteach.course import notebooks
from gfteach.course.myst import HIDDEN_TAGS, Book

BOOK = Book.load(ROOT)
CHAPTERS = BOOK.order
URL, TAG, DEPENDENCIES = notebooks.release(ROOT)
VENV = ROOT / ".venv-colab"  # cached between runs, rebuilt when what it is made of changes
TORCH = "torch==2.13.0"  # first, from this machine's wheel folder (a bare `torch` would pull a CUDA build)
COLAB = ["ipywidgets==7.7.1", "ipykernel"]  # Colab's ipywidgets, and a kernel to run the notebooks in
MYST = re.compile(r"(`{3,}|:{3,})\{|\{[\w:-]+\}`|^:[\w-]+:|^\([\w-]+\)=|\$\$[ \t]*\([\w:.-]+\)", re.M)


def test_colab_notebooks_are_committed_and_up_to_date(tmp_path):
    assert notebooks.main(["colab", "--root", str(ROOT), "--out", str(tmp_path)]) == 0
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.ipynb")}
    committed = {p.name: p.read_text() for p in (ROOT / "colab").glob("*.ipynb")}
    assert sorted(fresh) == sorted(f"{c}.ipynb" for c in CHAPTERS)
    stale = sorted(name for name in fresh if committed.get(name) != fresh[name])
    assert not stale and sorted(committed) == sorted(fresh), f"run `python3 tasks.py colab` (stale: {stale})"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_colab_notebook_is_plain_markdown_pinned_and_shows_no_hidden_cell(chapter):
    nb = load(ROOT / "colab" / f"{chapter}.ipynb")
    nbformat.validate(nbformat.from_dict(nb))
    first = nb["cells"][0]
    assert source(first) == notebooks.install_cell(URL, TAG, DEPENDENCIES).strip("\n")
    assert f"git+{URL}@{TAG}" in source(first) and "@main" not in source(first)
    markdown = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert not MYST.search(markdown), MYST.search(markdown)
    assert "<details>\n<summary>Solution to Exercise" in markdown
    book = load(ROOT / "book" / f"{chapter}.ipynb")
    hidden = [source(c).strip() for c in book["cells"] if set(c["metadata"].get("tags", [])) & HIDDEN_TAGS]
    everything = "\n".join(source(c) for c in nb["cells"])
    assert not [h for h in hidden if h and h in everything], "a cell the book hides is in the Colab notebook"
    assert "# BEGIN SOLUTION" not in everything and "# HINT:" not in everything
    assert all(c["outputs"] == [] for c in nb["cells"] if c["cell_type"] == "code")


def run_install_cell(in_colab: bool, returncode: int):
    calls = []

    def fake_run(command, *args, **kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, returncode)

    saved = sys.modules.get("google.colab"), subprocess.run
    if in_colab:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    subprocess.run = fake_run
    try:
        exec(notebooks.install_cell(URL, TAG, DEPENDENCIES), {})
    finally:
        subprocess.run = saved[1]
        sys.modules.pop("google.colab", None)
        if saved[0] is not None:
            sys.modules["google.colab"] = saved[0]
    return calls


def test_install_cell_pins_the_release_installs_nothing_colab_has_and_says_what_to_do_when_it_fails():
    assert run_install_cell(in_colab=False, returncode=0) == []  # outside Colab it does nothing
    [command] = run_install_cell(in_colab=True, returncode=0)
    assert command[:3] == [sys.executable, "-m", "pip"] and "--no-deps" in command
    assert f"gfteach @ git+{URL}@{TAG}" in command
    assert TAG == "v" + re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    requested = " ".join(command[command.index("--no-deps") + 1 :]).lower()
    for package in ("torch", "numpy", "matplotlib", "scipy", "scikit-learn", "sklearn", "ipywidgets"):
        assert not re.search(rf"(^|\s){package}\b", requested), package
    with pytest.raises(RuntimeError, match=re.escape(f"!pip install --no-deps 'gfteach @ git+{URL}@{TAG}'")):
        run_install_cell(in_colab=True, returncode=1)


def test_the_launch_button_opens_the_colab_notebook_at_the_release():
    spec = importlib.util.spec_from_file_location("colab_launch", ROOT / "book" / "_ext" / "colab_launch.py")
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    theme = "https://colab.research.google.com/github/gfteach/gfteach/blob/main/book/ch02_gd_is_euler.ipynb"
    buttons = [{"text": "Binder", "url": "https://mybinder.org/v2/gh/o/r/main"}, {"text": "Colab", "url": theme}]
    context = {"header_buttons": [{"label": "launch-buttons", "buttons": buttons}]}
    extension._rewrite(types.SimpleNamespace(srcdir=str(ROOT)), "book/ch02_gd_is_euler", "page.html", context, None)
    expected = f"https://colab.research.google.com/github/gfteach/gfteach/blob/{TAG}/colab/ch02_gd_is_euler.ipynb"
    assert buttons[1]["url"] == expected and buttons[0]["url"] == "https://mybinder.org/v2/gh/o/r/main"


# -- the Colab-like run ------------------------------------------------------------------------------------

PROBE = """
# (test probe) move each explorer control once: the live figure must change
import gc, json
import ipywidgets, gfteach
boxes = [w for w in gc.get_objects() if isinstance(w, ipywidgets.VBox) and len(w.children) == 2
         and isinstance(w.children[1], ipywidgets.Output)]
moved = 0
for box in boxes:
    out = box.children[1]
    for control in box.children[0].children:
        first, before = control.value, out.outputs
        others = [v for v in (o[1] if isinstance(o, tuple) else o for o in control.options) if v != first]
        if not others:
            continue
        control.value = others[0]
        assert out.outputs and out.outputs != before, f"{control.description}: the figure did not change"
        control.value = first
        moved += 1
print("PROBE", json.dumps({"ipywidgets": ipywidgets.__version__, "gfteach": gfteach.__file__,
                           "explorers": len(boxes), "moved": moved}))
"""


def _pip(python: Path, *args) -> None:
    done = subprocess.run([python, "-m", "pip", "install", "-q", *args], capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, f"pip install {' '.join(map(str, args))}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"


def _wheel(folder: Path) -> Path:
    """The package's wheel, built from a copy of its sources (so the repository gets no build/ folder)."""
    source_copy = folder / "src"
    shutil.copytree(ROOT / "gfteach", source_copy / "gfteach", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source_copy / name)
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", folder / "dist", source_copy]
    if subprocess.run([*command, "--no-build-isolation"], capture_output=True, env=ENV).returncode:
        subprocess.run(command, check=True, capture_output=True, env=ENV)
    return next((folder / "dist").glob("gfteach-*.whl"))


@pytest.fixture(scope="module")
def colab_kernel(tmp_path_factory) -> str:
    """A kernel in the Colab-like environment (.venv-colab): rebuilt only when its inputs change, the
    package's wheel reinstalled every time. Returns the kernel's name (its spec lives in the venv)."""
    wheel, python = _wheel(tmp_path_factory.mktemp("wheel")), VENV / "bin" / "python"
    key = hashlib.sha256(json.dumps([sys.version, TORCH, COLAB, DEPENDENCIES]).encode()).hexdigest()
    if not python.exists() or not (VENV / ".key").exists() or (VENV / ".key").read_text() != key:
        shutil.rmtree(VENV, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
        _pip(python, TORCH)
        _pip(python, *COLAB, wheel)  # the wheel with its declared dependencies
        (VENV / ".key").write_text(key)
    else:
        _pip(python, "--no-deps", "--force-reinstall", wheel)
    spec = VENV / "share" / "jupyter" / "kernels" / "gfteach-colab"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab-like", "language": "python"}))
    return "gfteach-colab"


@pytest.fixture(scope="module")
def colab_runs(colab_kernel, tmp_path_factory):
    """Every colab/ notebook, copied outside the repository, executed in the Colab-like kernel."""
    folder, jobs = tmp_path_factory.mktemp("colab"), {}
    env = {**ENV, "JUPYTER_PATH": str(VENV / "share" / "jupyter")}
    for chapter in CHAPTERS:
        nb = load(ROOT / "colab" / f"{chapter}.ipynb")
        probe = {"cell_type": "code", "metadata": {}, "source": PROBE, "outputs": [], "execution_count": None}
        nb["cells"].append({**probe, "id": "probe"})
        path = folder / chapter / f"{chapter}.ipynb"
        path.parent.mkdir()
        path.write_text(json.dumps(nb))
        jobs[chapter] = (nbconvert(path, allow_errors=False, kernel=colab_kernel), path.parent, env)
    done = run_all(jobs)
    return {c: (done[c], load(folder / c / f"{c}.ipynb")) for c in CHAPTERS}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_colab_notebook_runs_top_to_bottom_in_a_colab_like_environment(colab_runs, chapter):
    done, nb = colab_runs[chapter]
    assert done.returncode == 0, done.stderr[-4000:]
    assert all(o["output_type"] != "error" for c in nb["cells"] for o in c.get("outputs", []))
    assert nb["cells"][0]["outputs"] == []  # the install cell does nothing outside Colab
    probe = json.loads(outputs_text(nb["cells"][-1]).split("PROBE ", 1)[1])
    assert probe["ipywidgets"] == "7.7.1" and probe["gfteach"].startswith(str(VENV))
    if any("explorer(" in source(c) for c in nb["cells"][:-1]):
        assert probe["explorers"] >= 1 and probe["moved"] >= probe["explorers"], probe
