"""The two layers: numerics in ``gfteach``, the course in ``gfteach.course``.

* importing any top-level module loads neither matplotlib nor ipywidgets (checked in a fresh
  interpreter, so nothing imported by another test hides a violation);
* the course may call the numerics, never the other way round;
* module sizes hold (top level < 350 lines, course < 400);
* every third-party package the package imports is a declared dependency, so a plain
  ``pip install`` runs every chapter.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gfteach"
NUMERICS = sorted(p for p in PACKAGE.glob("*.py"))
COURSE = sorted((PACKAGE / "course").glob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_numerics_modules_load_no_plotting_or_widgets():
    # one fresh interpreter imports every top-level module in turn and records what each newly loads,
    # so nothing imported by another test hides a violation, and the culprit is named
    names = [module_name(p) for p in NUMERICS]
    code = (
        "import sys, importlib, json\n"
        "out = {}\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "    out[name] = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'ipywidgets')\n"
        "                       or m.startswith('gfteach.course'))\n"
        "print(json.dumps(out))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout)
    first = next((name for name in names if loaded[name]), None)
    assert first is None, f"importing {first} loads {loaded[first][:5]}"


def imports_of(path: Path) -> set[str]:
    """Absolute top-level names and relative module names imported anywhere in ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


@pytest.mark.parametrize("path", NUMERICS, ids=lambda p: p.stem)
def test_numerics_never_import_the_course(path):
    imported = imports_of(path)
    assert not any("course" in name.split(".") for name in imported), imported


@pytest.mark.parametrize("path", NUMERICS + COURSE, ids=lambda p: module_name(p))
def test_module_sizes(path):
    limit = 400 if path.parent.name == "course" else 350
    lines = len(path.read_text().splitlines())
    assert lines < limit, f"{path.relative_to(ROOT)} has {lines} lines (limit {limit}): split it by concept"


# import name -> distribution name, where they differ
DISTRIBUTION = {"sklearn": "scikit-learn", "IPython": "ipython", "yaml": "pyyaml"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {spec.split(">")[0].split("=")[0].split("<")[0].split("[")[0].strip().lower()
                for spec in project["dependencies"]}  # fmt: skip
    used = set()
    for path in NUMERICS + COURSE:
        for name in imports_of(path):
            top = name.split(".")[0]
            if name.startswith(".") or top in STDLIB or top == "gfteach":
                continue
            used.add(DISTRIBUTION.get(top, top).lower())
    # cycler and tqdm come with matplotlib / are declared; torch's own submodules count as torch
    missing = used - declared - {"cycler"}
    assert not missing, f"imported but not declared in pyproject.toml dependencies: {sorted(missing)}"


def test_cycler_arrives_with_matplotlib():
    # the course imports cycler directly; it is a hard dependency of every matplotlib release we allow
    from importlib.metadata import requires

    assert any(r.startswith("cycler") for r in requires("matplotlib"))
