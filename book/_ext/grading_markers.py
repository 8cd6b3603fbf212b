"""Sphinx extension: show solution code cells without their grading markers.

A solution cell of a chapter carries the markers that make the student and nbgrader versions
(``# BEGIN SOLUTION``, ``# HINT: ...``, ``# END SOLUTION``, and nbgrader's ``### BEGIN SOLUTION`` /
``### END SOLUTION``). They stay in the notebooks; the book's reader sees the code without them (the hint
has its own drop-down above the solution). Only the source of code *cells* is changed, never a code
block written in the prose (which may show the convention on purpose), and a cell made only of markers
keeps its text, so that nothing silently disappears.
"""

from __future__ import annotations

import re

from docutils import nodes

MARKER = re.compile(r"^\s*#+\s*(?:(?:BEGIN|END)\s+SOLUTION\b|HINT\s*:).*$")


def strip_markers(source: str) -> str:
    """``source`` without its grading-marker lines (the other lines, in order, unchanged)."""
    lines = source.split("\n")
    kept = [line for line in lines if not MARKER.match(line)]
    if len(kept) == len(lines) or not any(line.strip() for line in kept):
        return source
    return "\n".join(kept)


def _is_cell_source(node: nodes.Node) -> bool:
    parent = node.parent
    return isinstance(parent, nodes.container) and (
        parent.get("nb_element") == "cell_code_source" or "cell_input" in parent.get("classes", [])
    )


def _strip(app, doctree) -> None:
    for block in list(doctree.findall(nodes.literal_block)):
        if not _is_cell_source(block):
            continue
        text = block.astext()
        cleaned = strip_markers(text)
        if cleaned != text:
            block.children = []
            block += nodes.Text(cleaned)
            block.rawsource = cleaned


def setup(app):
    app.connect("doctree-read", _strip)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
