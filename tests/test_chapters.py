"""Static checks of the chapters and the book configuration (fast; no kernel, no build)."""

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


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_setup_cell_installs_only_gfteach_from_the_configured_repository(nb):
    setup = next(c for c in cells(nb, "code") if "remove-cell" in tags(c))
    text = source(setup)
    assert "google.colab" in text
    urls = re.findall(r"git\+(https://github\.com/[\w.-]+/[\w.-]+?)(?:\.git)?@", text)
    assert urls == [CONFIG["repository"]["url"]], f"setup cell installs from {urls}"
    assert not re.search(r"pip install[^\n]*\b(torch|numpy|matplotlib)\b", text)


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_exercises_solutions_and_hidden_asserts(nb):
    markdown = "\n".join(source(c) for c in cells(nb, "markdown"))
    assert len(re.findall(r"^```{exercise}", markdown, re.M)) >= 3
    assert len(re.findall(r"^```{solution-start}", markdown, re.M)) >= 3
    asserts = [c for c in cells(nb, "code") if "remove-cell" in tags(c) and "assert" in source(c)]
    assert asserts, "claims in the prose must be backed by hidden assert cells"


@pytest.mark.parametrize("nb", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text(nb):
    for c in cells(nb, "code"):
        has_image = any("image/png" in out.get("data", {}) for out in c.get("outputs", []))
        if has_image and "nbval-ignore-output" not in tags(c):
            alt = c.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 20, f"figure without alt text in cell: {source(c)[:80]!r}"
