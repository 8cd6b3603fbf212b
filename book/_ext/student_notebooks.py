"""Sphinx extension: every chapter page links to its student notebook, which the book serves itself.

A reader who wants to do the exercises needs the chapter without its solutions, with the checkers that
give feedback: :func:`gfteach.course.notebooks.student_notebook`, with the Colab install cell first (a
no-op elsewhere), so that the file also runs when uploaded to Colab. The book writes one per chapter of
the table of contents to ``student/<chapter>.ipynb`` in the HTML output; each chapter page gets a link
under its title and an entry in the theme's download menu. A chapter that cannot be turned into a
student notebook is a build warning (an error under ``-W``), naming the chapter and the cell.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from sphinx.util import logging

from gfteach.course.myst import Book, MystError
from gfteach.course.notebooks import NotebookError, install_cell, release, student_notebook

logger = logging.getLogger(__name__)
FOLDER = "student"


def _make(app) -> None:
    """Convert every chapter once, when the build starts (a failure shows before the pages are written)."""
    root = Path(app.srcdir)
    book, install = Book.load(root), install_cell(*release(root))
    app.gft_students = {}
    for name in book.order:
        try:
            nb = json.loads((root / "book" / f"{name}.ipynb").read_text())
            app.gft_students[name] = student_notebook(nb, book, name, install)
        except (NotebookError, MystError) as error:
            logger.warning(f"[student_notebooks] {name}: no student notebook: {error}", location=f"book/{name}")


def _link(app, pagename, templatename, context, doctree) -> None:
    name = Path(pagename).name
    if name not in getattr(app, "gft_students", {}) or "body" not in context:
        return
    url = html.escape(context["pathto"](f"{FOLDER}/{name}.ipynb", 1))
    banner = (
        f'<div class="gft-student-link" role="note"><a href="{url}" download>'
        '<i class="fas fa-pencil-alt" aria-hidden="true"></i> Student notebook</a>: this chapter with the '
        "solutions taken out and the checks that give feedback kept. Open it in Jupyter, or upload it to Colab "
        "(its first cell installs the course package there).</div>"
    )
    body = context["body"]
    end = body.find("</h1>")
    context["body"] = body[: end + 5] + banner + body[end + 5 :] if end >= 0 else banner + body
    for group in context.get("header_buttons") or []:
        if group.get("label") == "download-buttons":
            group["buttons"].insert(1, {
                "type": "link", "url": url, "text": "student .ipynb", "icon": "fas fa-pencil-alt",
                "tooltip": "Download the student notebook (solutions taken out)", "label": "download-student-button",
            })  # fmt: skip


def _write(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.outdir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in getattr(app, "gft_students", {}).items():
        (folder / f"{name}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def setup(app):
    app.connect("builder-inited", _make)
    # after sphinx-book-theme's add_header_buttons (priority 501) has made the download menu
    app.connect("html-page-context", _link, priority=900)
    app.connect("build-finished", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
