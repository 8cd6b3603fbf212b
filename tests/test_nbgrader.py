"""A real nbgrader course from the chapters (``python3 tasks.py nbgrader``), checked by nbgrader itself:
``generate_assignment`` succeeds, ``validate`` passes on the source (the book's solutions pass every test),
``validate --invert`` on the release fails every test (stubs in place), and the release holds no solution."""

import json
import re

import pytest
from notebook_runs import BIN, ROOT, load, numbers, run_all, secrets, source, tiny_chapter

from gfteach.course import notebooks
from gfteach.course.myst import Book, blocks

BOOK = Book.load(ROOT)
CHAPTERS = BOOK.order
NBGRADER = BIN / "nbgrader"
PASSES = "Success! Your notebook passes all the tests."
FAILS_ALL = "Success! The notebook does not pass any tests."


def grading(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def round_trip(folder, names):
    """nbgrader's round trip over the course in ``folder``: generate every assignment, then validate each
    source and (inverted) each release, two at a time."""
    generated = run_all({"all": ([NBGRADER, "generate_assignment", "*", "--force"], folder, None)})["all"]
    jobs = {}
    for name in names:
        notebook = f"{name}/{name}.ipynb"
        jobs[name, "source"] = ([NBGRADER, "validate", f"source/{notebook}"], folder, None)
        jobs[name, "release"] = ([NBGRADER, "validate", "--invert", f"release/{notebook}"], folder, None)
    return generated, run_all(jobs)


def test_source_notebook_marks_solutions_answers_and_tests_for_nbgrader():
    nb = notebooks.nbgrader_notebook(tiny_chapter(), Book([("tiny", tiny_chapter())]), "tiny")
    marked = [(c["cell_type"], grading(c)) for c in nb["cells"] if grading(c)]
    kinds = [(kind, g["solution"], g["grade"], g["locked"], g.get("points")) for kind, g in marked]
    assert kinds == [
        ("markdown", True, True, False, 1),  # the prose answer before the code, graded by hand
        ("code", True, False, False, None),  # the student's code
        ("code", False, True, True, 1),  # the checker, a locked test worth a point
        ("markdown", True, True, False, 1),
        ("markdown", True, True, False, 1),
    ]
    ids = [g["grade_id"] for _, g in marked]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[\w-]+", i) for i in ids)
    code = [source(c) for c in nb["cells"] if c["cell_type"] == "code" and grading(c)]
    assert code[0] == (
        "# Hint: add the two numbers\n# BEGIN SOLUTION\ntotal = 1.5 + 2.25\n# END SOLUTION\n"
        'print(f"your total: {total}")'
    )
    assert code[1] == "assert check_total(total)"
    everything = json.dumps(nb)
    assert "assert 1.5 + 2.25 == 3.75" not in everything and "assert total == 3.75" not in everything  # hidden


def test_the_round_trip_on_a_small_chapter(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(notebooks.NBGRADER_CONFIG)
    path = tmp_path / "source" / "tiny" / "tiny.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(notebooks.nbgrader_notebook(tiny_chapter(), name="tiny")))
    generated, done = round_trip(tmp_path, ["tiny"])
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert PASSES in done["tiny", "source"].stdout, done["tiny", "source"].stdout[-3000:]
    assert FAILS_ALL in done["tiny", "release"].stdout, done["tiny", "release"].stdout[-3000:]
    release = (tmp_path / "release" / "tiny" / "tiny.ipynb").read_text()
    assert "3.75" not in release and "2.25\\n# END" not in release and "dyadic" not in release
    assert "YOUR ANSWER HERE" in release and "raise NotImplementedError" in release


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course as ``python3 tasks.py nbgrader`` writes it, and nbgrader's round trip over it."""
    folder = tmp_path_factory.mktemp("nbgrader")
    written = notebooks.main(["nbgrader", "--root", str(ROOT), "--out", str(folder)])
    names = [c for c in CHAPTERS if (folder / "source" / c / f"{c}.ipynb").exists()]
    generated, done = round_trip(folder, names)
    return folder, written, generated, done


def test_the_course_is_written_for_every_chapter_and_generated(course):
    folder, written, generated, _ = course
    assert written == 0, "python3 tasks.py nbgrader failed for a chapter (its message names the cell)"
    assert generated.returncode == 0, generated.stderr[-3000:]
    assert sorted(p.name for p in (folder / "release").iterdir()) == sorted(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_has_a_locked_graded_test(course, chapter):
    nb = load(course[0] / "source" / chapter / f"{chapter}.ipynb")
    book = load(ROOT / "book" / f"{chapter}.ipynb")
    labels = {b.options.get("label") for c in book["cells"] if c["cell_type"] == "markdown"
              for b in blocks(source(c)) if b.kind == "directive" and b.name == "exercise"}  # fmt: skip
    tests = [grading(c) for c in nb["cells"] if grading(c).get("grade") and not grading(c).get("solution")]
    assert all(t["locked"] and t["points"] > 0 for t in tests)
    tested = {t["grade_id"].rsplit("-test", 1)[0] for t in tests}
    assert labels and not labels - tested, f"exercises without a checker: {sorted(labels - tested)}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_validate_passes_on_the_source(course, chapter):
    done = course[3][chapter, "source"]
    assert PASSES in done.stdout, (done.stdout + done.stderr)[-4000:]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_validate_invert_fails_every_test_of_the_release(course, chapter):
    done = course[3][chapter, "release"]
    assert FAILS_ALL in done.stdout, (done.stdout + done.stderr)[-4000:]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_release_holds_no_solution(course, chapter):
    release = load(course[0] / "release" / chapter / f"{chapter}.ipynb")
    lines, fragments, answer = secrets(load(ROOT / "book" / f"{chapter}.ipynb"))
    text = "\n".join(source(c) for c in release["cells"])
    assert not lines & {line.strip() for line in text.splitlines()}
    assert not [f for f in fragments if f in text]

    assert not answer & numbers(text)
    assert all(not c.get("outputs") for c in release["cells"] if c["cell_type"] == "code")
