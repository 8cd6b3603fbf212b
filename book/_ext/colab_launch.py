"""Sphinx extension: the Colab launch button opens the chapter's Colab notebook at the pinned release.

Jupyter Book 1 (sphinx-book-theme) builds the Colab link from the page's own path on the configured
branch, ``…/github/ORG/REPO/blob/main/book/ch01_numerical_odes.ipynb``: the book's chapter, with its MyST
markup and every solution, on whatever ``main`` is that day. Readers should get the generated
``colab/ch01_numerical_odes.ipynb`` (plain Markdown, solutions collapsed, a first cell installing the
package) at the release that cell installs, ``v`` + the version in ``pyproject.toml``
(:func:`gfteach.course.notebooks.release`): ``…/blob/v0.1.0/colab/ch01_numerical_odes.ipynb``.

This rewrites that one link after the theme has made it (the repository, from ``_config.yml``, stays the
theme's). A chapter with no Colab notebook is a build warning: run ``python3 tasks.py colab``.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.util import logging

from gfteach.course.notebooks import release

logger = logging.getLogger(__name__)


def colab_link(url: str, tag: str, chapter: str) -> str:
    """The theme's Colab ``url`` for a page, pointed at ``colab/<chapter>.ipynb`` at ``tag``."""
    return re.sub(r"/blob/[^/]+/.*$", f"/blob/{tag}/colab/{chapter}.ipynb", url)


def _rewrite(app, pagename, templatename, context, doctree) -> None:
    root = Path(app.srcdir)
    for group in context.get("header_buttons") or []:
        for button in group.get("buttons", []) if group.get("label") == "launch-buttons" else []:
            if button.get("text") != "Colab" or "/blob/" not in button.get("url", ""):
                continue
            chapter = Path(pagename).name
            if not (root / "colab" / f"{chapter}.ipynb").exists():
                message = f"[colab_launch] no colab/{chapter}.ipynb: run `python3 tasks.py colab`"
                logger.warning(message, location=pagename)
                continue
            button["url"] = colab_link(button["url"], release(root)[1], chapter)


def setup(app):
    # after sphinx-book-theme's add_launch_buttons (priority 501) has put the buttons in the context
    app.connect("html-page-context", _rewrite, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
