"""Notebooks made from the book's chapters: for students, for an nbgrader course, for Colab.

A chapter marks each exercise's solution with the MyST fences ``{solution-start}`` … ``{solution-end}``
(or a ``{solution}`` block) around solution prose and solution code cells; a solution code cell marks
its solution ``# BEGIN SOLUTION`` … ``# END SOLUTION`` and is followed by lines that read the student's
answer, such as the checker call (:mod:`gfteach.course.solutions`). From it, with the book's MyST turned into Markdown
(:mod:`gfteach.course.myst`) and the cells the book hides (``remove-cell``, ``remove-input``) dropped:

* :func:`student_notebook`: solution prose gives way to an answer cell, each marked region to a stub
  raising ``NotImplementedError`` with the hint (an unmarked code cell inside a solution: the whole
  cell), the lines after ``# END SOLUTION`` stay, so running the cell gives the checker's feedback;
* :func:`nbgrader_notebook`: an nbgrader source notebook: solution code and prose cells marked as
  nbgrader solutions with grade ids, each checker call after ``# END SOLUTION`` a locked, graded test
  cell (``assert check(...)``; a checker's verdict is true only when the answer is right);
* :func:`colab_notebook`: for Colab: a first cell installing the package at the pinned release, solutions collapsed.

Anything ambiguous is a :class:`NotebookError` naming the cell, never a silent copy or deletion: unbalanced
or nested markers, ``### BEGIN SOLUTION``, an unlabelled, unclosed or nested ``{solution-start}``, a line
after ``# END SOLUTION`` that ignores or overwrites the student's answer."""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from .myst import HIDDEN_TAGS, Book, MystError, blocks
from .solutions import NotebookError, Segment, after_solution, is_check, is_marked, segments

__all__ = ["NotebookError", "student_notebook", "nbgrader_notebook", "colab_notebook", "segments", "release",
           "install_cell", "STUB_PREFIX", "COLAB_HAS", "main"]  # fmt: skip

STUB_PREFIX = "Exercise"
#: distributions Colab provides: the install cell never installs (or upgrades) them.
COLAB_HAS = {"torch", "numpy", "scipy", "matplotlib", "scikit-learn", "ipywidgets", "ipython", "tqdm"}
_PROSE_MARKER = re.compile(r"(BEGIN|END) (SOLUTION)")


def _text(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _where(index: int, cell) -> str:
    first = next((line for line in _text(cell).splitlines() if line.strip()), "")
    return f"cell {index} ({cell['cell_type']}, starting {first[:60]!r})"


@dataclass
class _Piece:
    kind: str  # "markdown" (MyST text) or "code"
    text: str
    cell: dict
    index: int
    exercise: str | None  # the label of the exercise whose solution holds this piece
    hidden: bool


def _cells(nb) -> list[dict]:
    """``nb``'s cells, or a :class:`NotebookError` saying what is not a notebook about it."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"not a notebook (a dict with a list of cells): got {type(nb).__name__}")
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("markdown", "code", "raw"):
            raise NotebookError(f"cell {index}: not a cell (a dict whose cell_type is markdown, code or raw)")
        src, meta = cell.get("source", ""), cell.get("metadata", {})
        if not (isinstance(src, str) or isinstance(src, list) and all(isinstance(line, str) for line in src)):
            raise NotebookError(f"cell {index}: its source must be text or a list of lines, not {src!r:.60}")
        if not isinstance(meta, dict) or not isinstance(meta.get("tags", []), list):
            raise NotebookError(f"cell {index}: its metadata must be a dict, its tags a list")
    return nb["cells"]


def _pieces(nb: dict) -> list[_Piece]:
    """The chapter as markdown and code pieces, each marked with the solution it belongs to."""
    out, inside = [], None  # inside: (exercise label, index of the cell that opened the solution)
    for index, cell in enumerate(_cells(nb)):
        hidden = bool(set(cell.get("metadata", {}).get("tags", [])) & HIDDEN_TAGS)
        if cell["cell_type"] != "markdown":
            out.append(_Piece(cell["cell_type"], _text(cell), cell, index, inside and inside[0], hidden))
            continue
        buffer, label = [], inside and inside[0]
        try:
            parsed = blocks(_text(cell))
        except MystError as error:
            raise MystError(f"{_where(index, cell)}: {error}") from None
        for b in parsed:
            if b.kind == "directive" and b.name in ("solution-start", "solution-end", "solution"):
                if "".join(buffer).strip():
                    out.append(_Piece("markdown", "".join(buffer), cell, index, label, hidden))
                buffer = []
            if b.kind != "directive" or b.name not in ("solution-start", "solution-end", "solution"):
                if b.kind == "directive" and re.search(r"^\s*(`{3,}|:{3,})\{solution", b.body, re.M):
                    raise NotebookError(f"{_where(index, cell)}: a solution fence inside {{{b.name}}} (not top level)")
                buffer.append(b.raw)
            elif b.name == "solution":
                out.append(_Piece("markdown", b.body, cell, index, b.argument.strip(), hidden))
            elif b.name == "solution-end" and not inside:
                raise NotebookError(f"{_where(index, cell)}: {{solution-end}} without {{solution-start}}")
            elif b.name == "solution-start" and inside:
                raise NotebookError(f"{_where(index, cell)}: a solution starts inside the solution opened in "
                                    f"cell {inside[1]} (a missing {{solution-end}}?)")  # fmt: skip
            elif b.name == "solution-start" and not b.argument.strip():
                raise NotebookError(f"{_where(index, cell)}: {{solution-start}} without the exercise's label")
            else:
                inside = (b.argument.strip(), index) if b.name == "solution-start" else None
            label = inside and inside[0]
        if "".join(buffer).strip():
            out.append(_Piece("markdown", "".join(buffer), cell, index, label, hidden))
    if inside:
        raise NotebookError(f"cell {inside[1]}: {{solution-start}} {inside[0]} is never closed by {{solution-end}}")
    return out


def _cell(kind: str, source: str, **metadata) -> dict:
    cell = {"cell_type": kind, "metadata": metadata, "source": source.strip("\n").splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _grade(grade_id: str, solution: bool, points: int = 0) -> dict:
    return {"grade": bool(points), "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False, **({"points": points} if points else {})}  # fmt: skip


def _convert(nb: dict, book: Book | None, name: str | None, mode: str) -> dict:
    _cells(nb)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be the chapter's name (a str such as 'ch01_numerical_odes'), not {name!r:.60}")
    if book is None:
        name = name or "chapter"
        book = Book([(name, nb)])
    elif not isinstance(book, Book):
        raise TypeError(f"book must be a gfteach.course.myst.Book (Book.load(root)) or None, not {book!r:.60}")
    elif name not in book.order:
        raise NotebookError(f"name must be one of the book's chapters {book.order}, not {name!r}")
    chapter = book.chapter(name)
    cells, ids = [], {}

    def grade_id(label: str | None, kind: str) -> str:
        key = re.sub(r"[^A-Za-z0-9_-]", "-", f"{label or 'exercise'}-{kind}")
        ids[key] = ids.get(key, 0) + 1
        return f"{key}{ids[key]}"

    for piece in _pieces(nb):
        caption = chapter.figure(piece.cell) if piece.kind == "code" else None  # numbered as in the book
        if piece.hidden:
            continue
        exercise = chapter.exercise(piece.exercise) if piece.exercise else STUB_PREFIX
        where = f"{name}: {_where(piece.index, piece.cell)}"
        if piece.kind == "markdown":
            try:
                text = chapter.markdown(piece.text).strip()
            except MystError as error:
                raise MystError(f"{where}: {str(error).removeprefix(f'{name}: ')}") from None
            if mode == "nbgrader":  # nbgrader reads "BEGIN SOLUTION" anywhere as a marker: add a word joiner
                text = _PROSE_MARKER.sub("\\1\u2060 \\2", text)
            if not piece.exercise:
                cells.append(_cell("markdown", text))
            elif mode == "student":
                cells.append(_cell("markdown", f"**Your answer ({exercise}).** Double-click to write it here."))
            elif mode == "nbgrader":
                meta = {"nbgrader": _grade(grade_id(piece.exercise, "answer"), True, 1)}
                cells.append(_cell("markdown", f"**Answer ({exercise}).**\n\n{text}", **meta))
            else:
                cells.append(_cell("markdown", f"<details>\n<summary>Solution to {exercise}</summary>\n\n{text}\n\n"
                                   "</details>"))  # fmt: skip
            continue
        if piece.kind == "raw":
            cells.extend([_cell("raw", piece.text)] if not piece.exercise or mode == "colab" else [])
            continue
        source, tags = piece.text, piece.cell.get("metadata", {}).get("tags", [])
        segs = segments(source, where, whole=bool(piece.exercise))
        after = after_solution(source, segs, where) if is_marked(source) and mode != "colab" else []
        meta = {"tags": tags} if tags else {}
        if not any(s.solution for s in segs):
            cells.append(_cell("code", source, **meta))
        elif mode == "colab":
            code = "".join(s.code for s in segs)
            cells.append(_cell("code", f"#@title Solution to {exercise}\n{code}", cellView="form", **meta))
        else:
            graded = [(stmt, text) for stmt, text in after if is_check(stmt) and text.lstrip()[:1] not in "%!"]
            checks = graded if mode == "nbgrader" else []
            if checks:  # the checker calls move into test cells
                rest = segs[-1].code
                for _, moved in checks:
                    rest = rest.replace(moved, "", 1)
                segs = [*segs[:-1], Segment(rest)]
            body = []
            for s in segs:
                if not s.solution:
                    body.append(s.code)
                elif mode == "student":
                    message = f"{exercise}: {s.hint or 'write your solution here'}"
                    body.append(f"{s.indent}# YOUR CODE HERE\n{s.indent}raise NotImplementedError({message!r})\n")
                else:
                    hint = f"{s.indent}# Hint: {s.hint}\n" if s.hint else ""
                    body.append(f"{hint}{s.indent}# BEGIN SOLUTION\n{s.code}{s.indent}# END SOLUTION\n")
            if mode == "nbgrader":
                meta["nbgrader"] = _grade(grade_id(piece.exercise or f"cell{piece.index}", "code"), True)
            cells.append(_cell("code", "".join(body), **meta))
            for stmt, text in checks:  # `assert check(...)`, or `ok = check(...)` then `assert ok`
                test = f"{text.strip()}\nassert {ast.unparse(stmt.targets[0])}" if isinstance(stmt, ast.Assign) else ""
                grade = _grade(grade_id(piece.exercise or f"cell{piece.index}", "test"), False, 1)
                cells.append(_cell("code", test or f"assert {text.strip()}", nbgrader=grade))
        if caption and not (piece.exercise and mode != "colab"):
            cells.append(_cell("markdown", caption))
    for k, cell in enumerate(cells):
        cell["id"] = f"{mode}-{k}"
    source_meta = nb.get("metadata", {})
    metadata = {key: source_meta[key] for key in ("kernelspec", "language_info") if key in source_meta}
    metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def student_notebook(nb: dict, book: Book | None = None, name: str | None = None, install: str = "") -> dict:
    """The chapter ``nb`` (named ``name`` in ``book``) for students: see the module; with ``install``
    (see :func:`install_cell`) as its first cell, it also runs when uploaded to Colab."""
    return _with_install(_convert(nb, book, name, "student"), install)


def nbgrader_notebook(nb: dict, book: Book | None = None, name: str | None = None) -> dict:
    """The chapter as an nbgrader source notebook: see the module."""
    return _convert(nb, book, name, "nbgrader")


def colab_notebook(nb: dict, book: Book | None = None, name: str | None = None, install: str = "") -> dict:
    """The chapter for Colab, with ``install`` (see :func:`install_cell`) as its first cell."""
    return _with_install(_convert(nb, book, name, "colab"), install)


def _with_install(out: dict, install: str) -> dict:
    if install:
        out["cells"].insert(0, {**_cell("code", install, cellView="form"), "id": "colab-install"})
        out["metadata"]["colab"] = {"provenance": [], "toc_visible": True}
    return out


# -- the pinned release, and the Colab install cell --------------------------------------------------------


def release(root: Path) -> tuple[str, str, list[str]]:
    """``(repository URL, tag, dependencies)``: the URL from ``_config.yml`` (its one home), the tag
    ``v<version>`` from ``pyproject.toml``'s one version number, and the declared dependencies."""
    config, project = (root / "_config.yml").read_text(), (root / "pyproject.toml").read_text()
    url = re.search(r"^repository:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*(\S+)", config, re.M)
    version = re.search(r'^version\s*=\s*"([^"]+)"', project, re.M)
    deps = re.search(r"^dependencies\s*=\s*\[(.*?)\]", project, re.M | re.S)
    if not (url and version and deps):
        raise NotebookError("need repository.url in _config.yml and version, dependencies in pyproject.toml")
    return url.group(1).rstrip("/"), f"v{version.group(1)}", re.findall(r'"([^"]+)"', deps.group(1))


def install_cell(url: str, tag: str, dependencies: list[str]) -> str:
    """Colab's first cell: install this package at ``tag`` with ``--no-deps`` (Colab's torch, NumPy, …
    stay as they are), then any declared dependency Colab lacks; raise, with the command, on failure."""
    extra = [d for d in dependencies if re.split(r"[<>=!~ \[;]", d)[0].lower() not in COLAB_HAS]
    package, pip = f"gfteach @ git+{url}@{tag}", '[sys.executable, "-m", "pip", "install", "-q"'
    commands = [f'{pip}, "--no-deps", PACKAGE]'] + ([f"{pip}, {', '.join(map(repr, extra))}]"] if extra else [])
    return textwrap.dedent(f"""\
        #@title Install the course package (Colab only; about 20 s)
        import shlex
        import subprocess
        import sys

        if "google.colab" in sys.modules:
            # pinned to the release of this notebook; Colab's own torch, NumPy, SciPy, matplotlib,
            # scikit-learn and ipywidgets are used as they are: nothing of theirs is installed or upgraded
            PACKAGE = {package!r}
            for command in [{", ".join(commands)}]:
                if subprocess.run(command).returncode != 0:
                    raise RuntimeError(
                        "Installing the course package failed (pip's message is above). Check the connection, "
                        f"then run this in a new cell:\\n    !pip install {{shlex.join(command[5:])}}"
                    )
    """)


# -- the command line (python3 tasks.py student | nbgrader | colab) --------------------------------------

NBGRADER_CONFIG = """\
# The gfteach nbgrader course, written by `python3 tasks.py nbgrader` (regenerated each time).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "gfteach"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError('write your code here')"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Execute.timeout = 900
"""


def _write(path: Path, nb: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gfteach.course.notebooks", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["student", "nbgrader", "colab"])
    parser.add_argument("chapters", nargs="*", help="chapter names (default: every chapter in _toc.yml)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")
    parser.add_argument("--out", type=Path, help="where to write (default: ROOT/student, nbgrader or colab)")
    args = parser.parse_args(argv)
    book, out = Book.load(args.root), args.out or args.root / args.kind
    names = args.chapters or book.order
    if args.kind == "nbgrader":
        out.mkdir(parents=True, exist_ok=True)
        (out / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    make = {"student": student_notebook, "nbgrader": nbgrader_notebook, "colab": colab_notebook}[args.kind]
    extra = [install_cell(*release(args.root))] if args.kind != "nbgrader" else []
    failed = 0
    for name in names:
        nb = json.loads((args.root / "book" / f"{name}.ipynb").read_text())
        path = out / "source" / name / f"{name}.ipynb" if args.kind == "nbgrader" else out / f"{name}.ipynb"
        try:
            _write(path, make(nb, book, name, *extra))
            print(f"[notebooks] wrote {path}")
        except (NotebookError, MystError) as error:
            print(f"[notebooks] {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
