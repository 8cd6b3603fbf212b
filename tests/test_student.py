"""Student notebooks: solutions out, stubs in, checkers kept (see gfteach.student)."""

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from gfteach.student import STUB_PREFIX, _partition, solution_regions, student_notebook

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("ch*.ipynb"))


def source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def load(path):
    return json.loads(path.read_text())


def is_stub(cell):
    return cell["cell_type"] == "code" and "raise NotImplementedError" in source(cell) and STUB_PREFIX in source(cell)


SAMPLE = {
    "metadata": {"widgets": {"state": {}}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "```{exercise} Two plus two\n:label: ex\n\nAdd.\n```\n"},
        {
            "cell_type": "markdown",
            "metadata": {},
            "source": "```{solution-start} ex\n:class: dropdown\n```\nIt is four.\n",
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 3,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "✓ right"}],
            "source": "x = 1\n# BEGIN SOLUTION\n# HINT: add two and two\nanswer = 2 + 2\n"
            "# END SOLUTION\ncheck(answer)\n",
        },
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "outputs": [], "source": "assert answer == 4"},
        {"cell_type": "markdown", "metadata": {}, "source": "Four, since 2+2=4.\n```{solution-end}\n```\n## Summary\n"},
    ],
}


def test_generator_on_a_small_notebook():
    student = student_notebook(SAMPLE)
    text = "\n".join(source(c) for c in student["cells"])
    assert "It is four" not in text and "2 + 2" not in text and "Four, since" not in text
    assert "assert answer" not in text  # hidden checks of the solution are dropped
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert source(code[0]) == (
        "x = 1\n# YOUR CODE HERE\nraise NotImplementedError('Exercise: add two and two')\ncheck(answer)\n"
    )
    assert code[0]["outputs"] == [] and code[0]["execution_count"] is None
    assert "## Summary" in text and "Your solution" in text and "widgets" not in student["metadata"]
    regions = [
        "It is four.\n",
        "# HINT: add two and two\nanswer = 2 + 2\n",
        "assert answer == 4",
        "Four, since 2+2=4.\n",
    ]
    assert solution_regions(SAMPLE) == regions
    assert SAMPLE["cells"][2]["outputs"]  # the input is not modified


def solution_blocks(nb):
    """Code cells of each exercise's solution, one list per solution."""
    blocks, inside = [], False
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            was_inside = inside
            _, _, inside = _partition(source(cell), inside)
            if inside and (not was_inside or "{solution-start}" in source(cell)):
                blocks.append([])
        elif inside:
            blocks[-1].append(cell)
    return blocks


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_solutions_pass_their_checkers(chapter):
    """Each solution that calls a checker gets a ✓ from it (stored outputs, which nbval re-verifies).
    A solution may also show the checker rejecting a wrong answer; the ✓ must be there too."""
    checked = 0
    for block in solution_blocks(load(chapter)):
        calls = [c for c in block if re.search(r"\bcheck_\w+\(", source(c))]
        if calls:
            checked += 1
            printed = "".join("".join(o["text"]) for c in calls for o in c["outputs"] if o["output_type"] == "stream")
            assert "✓" in printed, [source(c) for c in calls]
    assert checked >= 1, "every chapter has at least one exercise with a checker"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_contains_no_solution_text(chapter):
    nb = load(chapter)
    regions = solution_regions(nb)
    assert len(regions) >= 3
    student = student_notebook(nb)
    text = "\n".join(source(c) for c in student["cells"])
    for region in regions:
        for line in region.splitlines():
            line = line.strip()
            if len(line) >= 25 and line not in ("# BEGIN SOLUTION", "# END SOLUTION"):
                assert line not in text, f"solution text leaked: {line!r}"
    assert all(not c.get("outputs") for c in student["cells"] if c["cell_type"] == "code")
    assert sum(map(is_stub, student["cells"])) >= 1  # prose-only solutions have no code to stub


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_stubs_fail_with_their_hint_and_the_rest_runs(chapter, tmp_path):
    """Execute the student notebook: each stub raises NotImplementedError with its hint, and every
    cell before the exercises runs cleanly (so a student starts from a working chapter)."""
    student = nbformat.from_dict(student_notebook(load(chapter)))
    client = NotebookClient(
        student, timeout=300, allow_errors=True, resources={"metadata": {"path": str(ROOT / "book")}}
    )
    client.execute()
    seen_stub = False
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if is_stub(cell):
            seen_stub = True
            assert errors and errors[0].ename == "NotImplementedError", source(cell)
            assert errors[0].evalue.startswith(STUB_PREFIX)
        elif not seen_stub:
            assert not errors, f"{source(cell)[:80]!r} failed: {errors[0].ename if errors else ''}"
        else:  # after a stub, only its consequences may fail
            assert all(e.ename in ("NotImplementedError", "NameError") for e in errors), source(cell)
    assert seen_stub
