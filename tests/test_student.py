"""Student notebooks (gfteach.course.notebooks): the student's work and the feedback on it, nothing else.

Solutions out (prose, code, outputs), answer cells and stubs with hints in, checker calls kept, hidden
cells dropped, MyST turned into Markdown; and nothing of a solution leaks, neither in the sources nor in
the outputs of running the student notebook with its stubs in place.
"""

import copy
import json
import re

import pytest
from notebook_runs import ROOT, load, nbconvert, numbers, outputs_text, run_all, secrets, source, tiny_chapter

from gfteach.course.myst import HIDDEN_TAGS, Book, MystError, blocks
from gfteach.course.notebooks import STUB_PREFIX, NotebookError, install_cell, release, student_notebook

BOOK = Book.load(ROOT)
INSTALL = install_cell(*release(ROOT))  # as the book serves them (book/_ext/student_notebooks.py)
CHAPTERS = BOOK.order
MYST = re.compile(r"(`{3,}|:{3,})\{|\{[\w:-]+\}`|^:label:", re.M)


def text_of(nb, kind=None):
    return "\n".join(source(c) for c in nb["cells"] if kind is None or c["cell_type"] == kind)


def is_stub(cell):
    return cell["cell_type"] == "code" and "raise NotImplementedError" in source(cell)


@pytest.mark.parametrize("fence", ["```", "````", ":::"])
def test_a_small_chapter_becomes_a_student_notebook(fence):
    nb = tiny_chapter(fence)
    before = copy.deepcopy(nb)
    student = student_notebook(nb)
    assert nb == before  # the chapter is not modified
    text = text_of(student)
    assert "3.75" not in text and "total = 1.5 + 2.25" not in text and "dyadic" not in text  # no solution
    assert "assert" not in text and "remove-cell" not in str(student)  # hidden checks dropped
    assert not MYST.search(text), MYST.search(text)
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    stub = [c for c in code if is_stub(c)]
    assert [source(c) for c in stub] == [
        "# YOUR CODE HERE\nraise NotImplementedError('Exercise 1.1: add the two numbers')\n"
        'print(f"your total: {total}")\ncheck_total(total)'
    ]
    answers = [source(c) for c in student["cells"] if source(c).startswith("**Your answer")]
    assert answers == [f"**Your answer (Exercise {k}).** Double-click to write it here." for k in ("1.1", "1.1", "1.2")]
    assert "**Exercise 1.1 (The sum).**" in text and "<summary>Hint</summary>" in text and "Add them." in text
    assert "**Figure 1.1.** A line." in text and "\\tag{1.1}" in text and "(1.1)" in text and "## Summary" in text


BAD_CODE = {
    "begin without end": ("x = 1\n# BEGIN SOLUTION\ny = 2\n", "without '# END SOLUTION'"),
    "end without begin": ("y = 2\n# END SOLUTION\n", "without '# BEGIN SOLUTION'"),
    "nested": ("# BEGIN SOLUTION\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n# END SOLUTION\n", "inside another"),
    "nbgrader's markers": ("### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n", "not the book's marker"),
    "a line ignoring the answer": ("# BEGIN SOLUTION\ny = 2\n# END SOLUTION\nprint(2 - 1)\n", "ignores"),
    "not python": ("# BEGIN SOLUTION\ny = (\n# END SOLUTION\n", "not valid Python"),
    "a line overwriting the answer": (
        "# BEGIN SOLUTION\ny = 2\n# END SOLUTION\ny = 3\ncheck(y)\n",
        "overwrites the student's y",
    ),
    "a loop rebinding the answer": (
        "# BEGIN SOLUTION\ny = 2\n# END SOLUTION\nfor y in [1]:\n    check(y)\n",
        "overwrites",
    ),
    "a shell escape": ("# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n!echo y\n", "ignores"),
    "an augmented assignment": ("# BEGIN SOLUTION\ny = 2\n# END SOLUTION\ny += 1\n", "overwrites the student's y"),
    "a walrus": ("# BEGIN SOLUTION\ny = 2\n# END SOLUTION\nprint(y := 3)\n", "overwrites the student's y"),
    "a del": ("# BEGIN SOLUTION\ny = 2\n# END SOLUTION\ndel y\n", "overwrites the student's y"),
    "lower-case markers": ("# begin solution\ny = 2\n# end solution\n", "not the book's marker"),
}


@pytest.mark.parametrize("case", BAD_CODE, ids=str)
def test_unbalanced_or_foreign_markers_are_an_error_naming_the_cell(case):
    nb = tiny_chapter()
    nb["cells"][6]["source"] = BAD_CODE[case][0]
    with pytest.raises(NotebookError, match=rf"cell 6 \(code.*{re.escape(BAD_CODE[case][1])}"):
        student_notebook(nb)


BAD_FENCES = {
    "unclosed solution": (
        8,
        "```{solution-end}\n```\n```{solution-start} ex-tiny-why\n```\nThe rest.",
        "cell 8.*never closed",
    ),
    "end without start": (0, "# Title\n```{solution-end}\n```\n", "cell 0 .*without \\{solution-start\\}"),
    "nested solutions": (8, "```{solution-start} ex-tiny-why\n```\n", "cell 8 .*inside the solution opened in cell 5"),
    "solution inside a note": (
        5,
        "````{note}\n```{solution-start} ex-tiny-sum\n```\n````\n",
        "cell 5 .*inside \\{note\\}",
    ),
}


@pytest.mark.parametrize("case", BAD_FENCES, ids=str)
def test_solution_fences_that_do_not_pair_are_an_error_never_a_silent_deletion(case):
    index, text, message = BAD_FENCES[case]
    nb = tiny_chapter()
    nb["cells"][index]["source"] = text
    with pytest.raises(NotebookError, match=message):
        student_notebook(nb)


@pytest.mark.parametrize(
    "junk", [None, [], {}, {"cells": 3}, {"cells": [3]}, {"cells": [{"cell_type": "code", "source": 3}]}]
)
def test_junk_gets_a_clear_error(junk):
    with pytest.raises(NotebookError, match="not a notebook|not a cell|source must be"):
        student_notebook(junk)


def test_a_magic_reading_the_answer_may_follow_a_solution():
    nb = tiny_chapter()
    nb["cells"][6]["source"] = "# BEGIN SOLUTION\ntotal = 1.5 + 2.25\n# END SOLUTION\n%time check_total(total)\n"
    stub = [source(c) for c in student_notebook(nb)["cells"] if is_stub(c)]
    stub_line = "raise NotImplementedError('Exercise 1.1: write your solution here')"
    assert stub[0].endswith(f"{stub_line}\n%time check_total(total)")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"name": 5}, TypeError, "name must be the chapter's name"),
        ({"book": "x"}, TypeError, "book must be a gfteach.course.myst.Book"),
        ({"book": BOOK, "name": "ch99_nothing"}, NotebookError, "name must be one of the book's chapters"),
        ({"book": BOOK}, NotebookError, "name must be one of the book's chapters"),
    ],
    ids=["name not a str", "book not a Book", "name not in the book", "no name with a book"],
)
def test_a_wrong_book_or_name_is_a_clear_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        student_notebook(tiny_chapter(), **kwargs)


def test_unclosed_directive_options_name_the_chapter_and_the_cell():
    nb = tiny_chapter()
    nb["cells"][2]["source"] = "```{note}\n---\nclass: x\nThe body.\n```\n"
    with pytest.raises(MystError, match=r"^ch09, cell 2: directive options opened with '---' are never closed"):
        student_notebook(nb, name="ch09")


def test_the_stub_runs_and_the_answer_gets_feedback(tmp_path):
    """Execute the small chapter's student notebook: the stub raises with its hint; filled in, it checks."""
    student = student_notebook(tiny_chapter())
    wrong, right = copy.deepcopy(student), copy.deepcopy(student)
    for nb, answer in ((wrong, "total = 1.5 - 2.25"), (right, "total = 2.25 + 1.5")):
        for cell in nb["cells"]:
            if is_stub(cell):
                cell["source"] = re.sub(r"# YOUR CODE HERE\nraise .*\n", answer + "\n", source(cell))
    paths = {}
    for name, nb in (("stub", student), ("wrong", wrong), ("right", right)):
        paths[name] = tmp_path / f"{name}.ipynb"
        paths[name].write_text(json.dumps(nb))
    done = run_all({name: (nbconvert(path), tmp_path, None) for name, path in paths.items()})
    assert all(d.returncode == 0 for d in done.values()), {k: d.stderr[-2000:] for k, d in done.items()}
    shown = {name: "\n".join(outputs_text(c) for c in load(path)["cells"]) for name, path in paths.items()}
    assert "NotImplementedError: Exercise 1.1: add the two numbers" in shown["stub"] and "✓" not in shown["stub"]
    assert "✗ not the sum: add both terms" in shown["wrong"] and "3.75" not in shown["wrong"]
    assert "✓ the sum" in shown["right"]


# -- the chapters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_student_notebook_sources_hold_no_solution_and_no_hidden_cell(chapter):
    nb = load(ROOT / "book" / f"{chapter}.ipynb")
    student = student_notebook(nb, BOOK, chapter, INSTALL)
    assert source(student["cells"][0]) == INSTALL.strip("\n")  # runs in Colab too
    lines, fragments, answer = secrets(nb)
    text = text_of(student)
    student_lines = {line.strip() for line in text.splitlines()}
    assert not lines & student_lines, f"solution lines leaked: {sorted(lines & student_lines)}"
    assert not [f for f in fragments if f in text], "solution prose leaked"
    assert not answer & numbers(text), f"answer numbers leaked: {sorted(answer & numbers(text))}"
    hidden = [source(c).strip() for c in nb["cells"] if set(c["metadata"].get("tags", [])) & HIDDEN_TAGS]
    assert not [h for h in hidden if h and h in text], "a cell the book hides is shown"
    assert not MYST.search(text), MYST.search(text)
    assert sum(map(is_stub, student["cells"])) >= 1
    assert all(c["outputs"] == [] for c in student["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_pass_their_checkers_in_the_stored_outputs(chapter):
    """A solution cell's checker calls (after # END SOLUTION) print ✓ and never ✗ (nbval re-verifies them)."""
    nb, checked = load(ROOT / "book" / f"{chapter}.ipynb"), 0
    for cell in nb["cells"]:
        after = source(cell).rpartition("# END SOLUTION")[2] if cell["cell_type"] == "code" else ""
        if re.search(r"\bcheck_\w+\(", after):
            checked += 1
            shown = outputs_text(cell)
            assert "✓" in shown and "✗" not in shown, source(cell)
    assert checked >= 1


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Every chapter's student notebook, executed headless with its stubs in place (two at a time)."""
    folder, jobs, errors = tmp_path_factory.mktemp("students"), {}, {}
    for chapter in CHAPTERS:
        try:
            student = student_notebook(load(ROOT / "book" / f"{chapter}.ipynb"), BOOK, chapter, INSTALL)
        except ValueError as error:
            errors[chapter] = str(error)
            continue
        path = folder / f"{chapter}.ipynb"
        path.write_text(json.dumps(student))
        jobs[chapter] = (nbconvert(path), folder, None)
    done = run_all(jobs)
    return {c: (load(folder / f"{c}.ipynb"), done[c]) if c in done else (None, errors[c]) for c in CHAPTERS}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_running_the_student_notebook_leaks_nothing_and_stubs_fail_with_their_hint(executed, chapter):
    student, done = executed[chapter]
    assert student is not None and done.returncode == 0, getattr(done, "stderr", done)
    _, fragments, answer = secrets(load(ROOT / "book" / f"{chapter}.ipynb"))
    shown = "\n".join(outputs_text(c) for c in student["cells"])
    assert not answer & numbers(shown), f"answer numbers in the outputs: {sorted(answer & numbers(shown))}"
    assert not [f for f in fragments if f in shown]
    seen_stub = False
    for cell in (c for c in student["cells"] if c["cell_type"] == "code"):
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        if is_stub(cell):
            seen_stub = True
            assert errors and errors[0]["ename"] == "NotImplementedError", source(cell)
            assert errors[0]["evalue"].startswith(STUB_PREFIX)
        elif not seen_stub:  # the chapter up to the exercises runs as it does in the book
            assert not errors, f"{source(cell)[:80]!r}: {errors[0]['ename'] if errors else ''}"
        else:  # after a stub, only its consequences may fail
            assert all(e["ename"] in ("NotImplementedError", "NameError") for e in errors), source(cell)
    assert seen_stub


def test_every_exercise_statement_survives():
    for chapter in CHAPTERS:
        nb = load(ROOT / "book" / f"{chapter}.ipynb")
        labels = [b.options.get("label") for c in nb["cells"] if c["cell_type"] == "markdown"
                  for b in blocks(source(c)) if b.kind == "directive" and b.name == "exercise"]  # fmt: skip
        text = text_of(student_notebook(nb, BOOK, chapter))
        for label in labels:
            assert f"**Exercise {BOOK.labels[label].number}" in text, (chapter, label)


def test_cells_the_book_hides_are_dropped_but_keep_their_numbers():
    nb = tiny_chapter()
    shown_only_as_output = copy.deepcopy(nb["cells"][3])  # a figure whose code the book hides: it is numbered
    figure = {"figure": {"name": "fig-a", "caption": "B"}}
    shown_only_as_output["metadata"] = {"tags": ["remove-input"], "mystnb": figure}
    nb["cells"].insert(3, shown_only_as_output)
    text = text_of(student_notebook(nb))
    assert "drawn in Figure 1.2." in text and "**Figure 1.2.** A line." in text and "**Figure 1.1.**" not in text
    assert text.count("plt.plot") == 1


def _tiny(start: str, end: str) -> dict:
    md = lambda s: {"cell_type": "markdown", "metadata": {}, "source": s}
    code = {"cell_type": "code", "metadata": {}, "source": "# BEGIN SOLUTION\nx = 42.17\n# END SOLUTION\ncheck(x)\n",
            "outputs": [], "execution_count": None}  # fmt: skip
    cells = [md("```{exercise} T\n:label: ex-a\nDo it.\n```\n"), md(start), md("SECRET prose"), code, md(end)]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_tilde_fences_are_solution_fences_too():
    # MyST reads ~~~ fences as directives: a solution inside them must not reach the student
    out = student_notebook(_tiny("~~~{solution-start} ex-a\n:class: dropdown\n~~~\n", "~~~{solution-end}\n~~~\n"))
    assert "SECRET" not in json.dumps(out) and "42.17" not in json.dumps(out)


def test_an_unlabelled_solution_start_is_an_error_naming_the_cell():
    with pytest.raises(NotebookError, match=r"cell 1 .*without the exercise's label"):
        student_notebook(_tiny("```{solution-start}\n```\n", "```{solution-end}\n```\n"))
