"""Static checks of the chapters and the book configuration (fast; no kernel, no build)."""

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))


def toc_files():
    entries = TOC.get("chapters", []) + [c for part in TOC.get("parts", []) for c in part["chapters"]]
    return [TOC["root"]] + [entry["file"] for entry in entries]


def cells(nb_path, kind=None):
    nb = json.loads(nb_path.read_text())
    return [c for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def source(cell):
    return "".join(cell["source"])


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def test_config_keeps_the_launch_buttons_and_stored_outputs():
    assert CONFIG["only_build_toc_files"] is True
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    # theme options under sphinx.config without recursive_update silently drop the launch buttons
    sphinx_config = CONFIG.get("sphinx", {}).get("config", {})
    assert "html_theme_options" not in sphinx_config or CONFIG["sphinx"].get("recursive_update") is True
    assert {"sphinx_proof", "sphinx_exercise"} <= set(CONFIG["sphinx"]["extra_extensions"])


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    listed = set(toc_files())
    for nb in CHAPTERS:
        assert f"book/{nb.stem}" in listed, f"{nb.name} is not listed in _toc.yml"
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_committed_executed_in_order_without_errors(nb):
    code = [c for c in cells(nb, "code") if source(c).strip()]
    counts = [c["execution_count"] for c in code]
    assert None not in counts, "some code cells were never executed: run `python3 tasks.py refresh`"
    assert counts == sorted(counts) and counts[0] == 1, "re-execute top to bottom in a fresh kernel"
    for c in code:
        for out in c.get("outputs", []):
            assert out["output_type"] != "error" or "raises-exception" in tags(c), source(c)[:80]


PIPELINES = ("track(", "flow_curvature(", "guarantee_run(", "reproduce(", "flow_study(")
HIDDEN = {"remove-cell", "remove-input", "hide-cell", "hide-input"}


def chapter_number(nb) -> str:
    return re.match(r"ch(\d\d)_", nb.stem).group(1)


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_imports_in_a_visible_setup_cell_and_installs_nothing(nb):
    code = [c for c in cells(nb, "code") if source(c).strip()]
    setup = code[0]
    assert not HIDDEN & set(tags(setup)), "the setup cell (imports) must be visible"
    text = source(setup)
    assert re.search(r"^import gfteach as gt$", text, re.M), "setup cell: `import gfteach as gt`"
    assert f"from gfteach.course import ch{chapter_number(nb)}" in text, "setup cell imports the chapter's module"
    everything = "\n".join(source(c) for c in code)
    assert "google.colab" not in everything and "pip install" not in everything  # Colab notebooks install


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_computes_its_experiment_in_visible_cells(nb):
    visible = "\n".join(source(c) for c in cells(nb, "code") if "remove-cell" not in tags(c))
    for call in PIPELINES:
        assert not re.search(r"(?<![\w.])" + re.escape(call), visible), f"one-call pipeline {call!r} is back"
    # the computation is shown: visible cells call the numerics (gt.<function>) and stay short
    numerics_calls = re.findall(r"\bgt\.\w+\(", visible)
    assert len(numerics_calls) >= 5, f"only {len(numerics_calls)} visible calls into gfteach"
    long_cells = [source(c)[:60] for c in cells(nb, "code") if "remove-cell" not in tags(c)
                  and len(source(c).splitlines()) > 25]  # fmt: skip
    assert not long_cells, f"visible cells longer than 25 lines: {long_cells}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_keeps_at_least_five_hidden_checks_of_its_prose(nb):
    asserts = [c for c in cells(nb, "code") if "remove-cell" in tags(c) and re.search(r"^\s*assert\b", source(c), re.M)]
    assert len(asserts) >= 5, f"{len(asserts)} hidden assert cells; each claim of the prose needs one"


def exercises(nb):
    """Each exercise label with the cells of its solution (between solution-start and solution-end)."""
    found, current, inside = {}, None, False
    for c in cells(nb):
        text = source(c)
        if c["cell_type"] == "markdown":
            for label in re.findall(r"^[`:]{3,}\{exercise\}[^\n]*\n(?::[^\n]*\n)*?:label: ([\w-]+)", text, re.M):
                found[label] = []
            for marker in re.finditer(r"^[`:]{3,}\{solution-(start|end)\} ?([\w-]*)", text, re.M):
                current, inside = (marker.group(2), True) if marker.group(1) == "start" else (current, False)
        elif inside and current in found:
            found[current].append(c)
    return found


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_gives_automatic_feedback(nb):
    found = exercises(nb)
    assert len(found) >= 3
    for label, solution in found.items():
        checked = [c for c in solution if "# END SOLUTION" in source(c) and "remove-cell" not in tags(c)
                   and re.search(r"\bcheck_\w+\(", source(c).split("# END SOLUTION", 1)[1])]  # fmt: skip
        assert checked, f"exercise {label} has no solution cell that ends in a checker call"


def defined_names(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_lines_after_a_solution_only_use_the_students_answer(nb):
    for c in cells(nb, "code"):
        text = source(c)
        if "# END SOLUTION" not in text:
            continue
        inside = re.search(r"# BEGIN SOLUTION\n(.*?)# END SOLUTION[^\n]*\n?(.*)", text, re.S)
        assert inside, f"unbalanced solution markers in {text[:80]!r}"
        answer, after = defined_names(inside.group(1)), inside.group(2)
        for statement in ast.parse(after).body:
            used = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
            assert used & answer, f"a line after END SOLUTION ignores the answer: {ast.unparse(statement)!r}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text(nb):
    for c in cells(nb, "code"):
        has_image = any("image/png" in out.get("data", {}) for out in c.get("outputs", []))
        if has_image and "nbval-ignore-output" not in tags(c):
            alt = c.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 20, f"figure without alt text in cell: {source(c)[:80]!r}"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_stores_no_widget_state(nb):
    # explorers precompute their frames for the book; stored widget state would make the book load a
    # widget manager from a CDN (dead offline) and show frozen controls
    assert "widgets" not in json.loads(nb.read_text())["metadata"], "re-execute with `python3 tasks.py refresh`"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_explorer_cells_are_tagged_for_the_book_and_nbval(nb):
    for c in cells(nb, "code"):
        html = [o for o in c.get("outputs", []) if "gft-explorer" in str(o.get("data", {}).get("text/html", ""))]
        if html:
            assert {"nbval-ignore-output", "hide-input"} <= set(tags(c)), source(c)[:80]
            assert "data-control" in str(html[0]["data"]["text/html"]), "explorer frames were not precomputed"
