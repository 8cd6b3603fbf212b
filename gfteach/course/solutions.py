"""Solution regions in a chapter's code cells: the markers, the stub's hint, what may follow a solution.

A solution code cell is::

    # BEGIN SOLUTION
    # HINT: one line the student's stub shows
    answer = ...
    # END SOLUTION
    ch01.check_something(answer)      # only lines that read a name the solution defines

:func:`segments` splits a cell at its markers (exactly ``# BEGIN SOLUTION`` and ``# END SOLUTION``);
:func:`after_solution` checks the lines after the last ``# END SOLUTION``: each must *read* a name the
solution binds (the student's answer) and none may rebind one, else the student's notebook would show a
line that ignores the student's work (or overwrites it with the answer). Anything else is a
:class:`NotebookError` naming the cell.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = ["NotebookError", "Segment", "segments", "after_solution", "is_check", "is_marked"]

_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END)\s+SOLUTION\b", re.I)
_HINT = re.compile(r"^\s*#\s*HINT:\s*(.*?)\s*$", re.I)
# IPython line magics (``%time expr``) read as their Python; shell escapes (``!cmd``) as ``pass``
_MAGIC = re.compile(r"^([ \t]*)(?:%%?\w+(?:[ \t]+-\w+)*[ \t]*(.*)|!.*)$", re.M)


class NotebookError(ValueError):
    """A chapter the generators cannot turn into notebooks without leaking or losing something."""


@dataclass
class Segment:
    """Consecutive lines of a code cell: plain code, or a solution region (its code, hint, indent)."""

    code: str
    solution: bool = False
    hint: str = ""
    indent: str = ""
    first: int = 0  # the line number (1-based) of the segment's first line in the cell
    last: int = 0


def is_marked(source: str) -> bool:
    """Whether ``source`` holds a solution marker (of any spelling: wrong ones are errors later)."""
    return any(map(_MARKER.match, source.splitlines()))


def segments(source: str, where: str = "the cell", whole: bool = False) -> list[Segment]:
    """Split a code cell at its ``# BEGIN SOLUTION`` / ``# END SOLUTION`` markers (exactly those);
    with ``whole``, a cell without markers is one solution region (a code cell inside a solution)."""
    out, region, code, start = [], None, [], 1
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        m = _MARKER.match(line)
        if not m:
            code.append(line)
            continue
        kind = m.group(1).upper()
        if line.strip() != f"# {kind} SOLUTION":
            raise NotebookError(f"{where}: {line.strip()!r} is not the book's marker (write '# {kind} SOLUTION')")
        if kind == "BEGIN":
            if region is not None:
                raise NotebookError(f"{where}: '# BEGIN SOLUTION' inside another solution region (line {number})")
            out.append(Segment("".join(code), first=start, last=number - 1))
            region, code, start = line[: len(line) - len(line.lstrip())], [], number + 1
        else:
            if region is None:
                raise NotebookError(f"{where}: '# END SOLUTION' without '# BEGIN SOLUTION' (line {number})")
            out.append(_region(code, region, start, number - 1))
            region, code, start = None, [], number + 1
    if region is not None:
        raise NotebookError(f"{where}: '# BEGIN SOLUTION' without '# END SOLUTION'")
    out.append(Segment("".join(code), first=start, last=start + len(code) - 1))
    if whole and len(out) == 1:
        return [_region(code, "", 1, len(code))]
    return [s for s in out if s.code or s.solution]


def _region(lines: list[str], indent: str, first: int, last: int) -> Segment:
    hints = [h.group(1) for h in map(_HINT.match, lines) if h]
    return Segment(
        "".join(x for x in lines if not _HINT.match(x)), True, hints[0] if hints else "", indent, first, last
    )


def _bound(node: ast.AST) -> set[str]:
    """The names a statement binds: assignment targets, loop variables, ``def``/``class``, imports."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    names |= {n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    for n in ast.walk(node):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in n.names}
    return names


def after_solution(source: str, segs: list[Segment], where: str) -> list[tuple[ast.stmt, str]]:
    """The statements after the last ``# END SOLUTION``, with their source. Each must read a name that
    a statement holding a solution region binds, and none may bind one of those names again."""
    try:
        tree = ast.parse(_MAGIC.sub(lambda m: m.group(1) + (m.group(2) or "pass"), source))
    except SyntaxError as error:
        raise NotebookError(f"{where}: not valid Python ({error.msg}, line {error.lineno})") from error
    regions = [(s.first - 1, s.last + 1) for s in segs if s.solution]
    if not regions:
        return []
    end, lines, names, out = regions[-1][1], source.splitlines(keepends=True), set(), []
    for stmt in tree.body:
        if any(stmt.lineno <= b and stmt.end_lineno >= a for a, b in regions):
            names |= _bound(stmt)
        elif stmt.lineno > end:
            text = "".join(lines[stmt.lineno - 1 : stmt.end_lineno])
            read = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            rebound, line = ", ".join(sorted(_bound(stmt) & names)), f"{where}: {text.strip()!r} after '# END SOLUTION'"
            if rebound:
                raise NotebookError(f"{line} overwrites the student's {rebound}")
            if not read & names:
                raise NotebookError(f"{line} ignores the student's answer")
            out.append((stmt, text))
    return out


def is_check(stmt: ast.stmt) -> bool:
    """Whether ``stmt`` is a checker call, ``check_…(…)`` or ``ok = ….check_…(…)``."""
    value = getattr(stmt, "value", None) if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    func = value.func if isinstance(value, ast.Call) else None
    return getattr(func, "id", getattr(func, "attr", "")).startswith("check")
