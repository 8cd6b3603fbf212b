"""Student notebooks: a chapter with its exercise solutions taken out, ready to assign.

In a chapter, each exercise's solution sits between the MyST fences ``{solution-start}`` and
``{solution-end}``. Inside it, code is marked with the nbgrader/otter convention::

    # BEGIN SOLUTION
    # HINT: what the student should compute (optional; becomes the stub's message)
    slope = convergence_order(h, global_errors(ivp, "midpoint", h))
    # END SOLUTION
    check_order("midpoint", slope)          # kept: the student's feedback

:func:`student_notebook` turns a chapter into the student's version: solution prose is replaced by a
prompt, every marked region by a stub that raises ``NotImplementedError`` with the hint, and a code
cell inside a solution without markers is replaced by a stub as a whole; checker calls outside the
markers stay, hidden cells that check solutions are dropped, and all outputs and widget state are
cleared. Instructors can feed the result (or the chapter itself) to nbgrader or otter-grader, which
read the same markers.
"""

from __future__ import annotations

import copy
import re

__all__ = ["student_notebook", "solution_regions", "STUB_PREFIX"]

STUB_PREFIX = "Exercise:"
_START = re.compile(r"^```\{solution-start\}[^\n]*\n(?::[^\n]*\n)*```[ \t]*\n?", re.M)
_END = re.compile(r"^```\{solution-end\}[^\n]*\n```[ \t]*\n?", re.M)
_REGION = re.compile(r"^([ \t]*)# BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*# END SOLUTION[^\n]*(\n|$)", re.M | re.S)
_HINT = re.compile(r"^[ \t]*# HINT:[ \t]*(.*)$", re.M)
PROMPT = "**Your solution.** Work it out in the cell(s) below; run the checker where there is one.\n\n"


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _partition(text: str, inside: bool) -> tuple[str, list[str], bool]:
    """Split a markdown cell into (text a student keeps, solution parts, still inside a solution).

    ``inside`` says whether the cell starts inside a solution (a solution may span several cells).
    """
    kept, removed, pos = [], [], 0
    while True:
        if inside:
            end = _END.search(text, pos)
            removed.append(text[pos : end.start() if end else len(text)])
            if end is None:
                return "".join(kept), removed, True
            pos, inside = end.end(), False
        else:
            start = _START.search(text, pos)
            if start is None:
                kept.append(text[pos:])
                return "".join(kept), removed, False
            kept.append(text[pos : start.start()] + PROMPT)
            pos, inside = start.end(), True


def _stub(hint: str, indent: str = "") -> str:
    return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError({f'{STUB_PREFIX} {hint}'!r})\n"


def _stub_code(source: str, exercise: str) -> str:
    """Replace each marked region by a stub; an unmarked solution cell becomes one stub."""
    if "# BEGIN SOLUTION" not in source:
        hint = _HINT.search(source)
        return _stub(hint.group(1) if hint else f"write your solution to '{exercise}' here")

    def replace(match: re.Match) -> str:
        hint = _HINT.search(match.group(2))
        return _stub(hint.group(1) if hint else f"complete this part of '{exercise}'", match.group(1))

    return _REGION.sub(replace, source)


def solution_regions(nb: dict) -> list[str]:
    """The text a student must not see: solution prose and solution code, in order."""
    regions, inside = [], False
    for cell in nb["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            _, removed, inside = _partition(text, inside)
            regions.extend(part for part in removed if part.strip())
        elif inside and "# BEGIN SOLUTION" in text:
            regions.extend(m.group(2) for m in _REGION.finditer(text))
        elif inside:
            regions.append(text)
    return regions


def _exercise_title(text: str, current: str) -> str:
    titles = re.findall(r"^```\{exercise\}[ \t]*(.*)$", text, re.M)
    return titles[-1].strip() if titles else current


def student_notebook(nb: dict) -> dict:
    """Return the student version of a chapter notebook (the input is not modified)."""
    out = copy.deepcopy(nb)
    cells, inside, exercise = [], False, "the exercise"
    for cell in out["cells"]:
        cell["source"] = text = _source(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "markdown":
            exercise = _exercise_title(text, exercise)
            cell["source"], _, inside = _partition(text, inside)
            if not cell["source"].strip():
                continue
        elif cell["cell_type"] == "code":
            if inside and "remove-cell" in tags:
                continue  # a hidden check of the solution itself
            if inside:
                cell["source"] = _stub_code(text, exercise)
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    out["cells"] = cells
    out.get("metadata", {}).pop("widgets", None)
    return out
