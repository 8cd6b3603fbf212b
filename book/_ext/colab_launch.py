"""Sphinx extension: the Colab and Binder launch buttons open the chapter's Colab notebook at the pinned release.

Jupyter Book 1 (sphinx-book-theme) builds the Colab link from the page's own path on the configured
branch, ``…/github/ORG/REPO/blob/main/book/ch01_numerical_odes.ipynb``: the book's chapter, with its MyST
markup and every solution, on whatever ``main`` is that day. Readers should get the generated
``colab/ch01_numerical_odes.ipynb`` (plain Markdown, solutions collapsed, a first cell installing the
package) at the release that cell installs, ``v`` + the version in ``pyproject.toml``
(:func:`gfteach.course.notebooks.release`): ``…/blob/v0.1.0/colab/ch01_numerical_odes.ipynb``.

Binder's link has the same problem (``…/v2/gh/ORG/REPO/main?urlpath=tree/book/<chapter>.ipynb``): JupyterLab
shows the chapter's MyST as raw code blocks. It opens the same plain-Markdown notebook, in the environment
``binder/`` builds at the same release (``…/v2/gh/ORG/REPO/v0.1.0?urlpath=tree/colab/<chapter>.ipynb``; the
notebook's install cell does nothing outside Colab).

This rewrites those links after the theme has made them (the repository, from ``_config.yml``, stays the
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


def binder_link(url: str, tag: str, chapter: str) -> str:
    """The theme's Binder ``url`` for a page, pointed at ``colab/<chapter>.ipynb`` at ``tag``."""
    url = re.sub(r"^(https://[^?]+/v2/gh/[^/]+/[^/?]+)/[^?]+", rf"\1/{tag}", url)
    return re.sub(r"([?&]urlpath=(?:tree|lab/tree|notebooks)/).*$", rf"\g<1>colab/{chapter}.ipynb", url)


REWRITE = {"Colab": ("/blob/", colab_link), "Binder": ("urlpath=", binder_link)}


def _rewrite(app, pagename, templatename, context, doctree) -> None:
    root = Path(app.srcdir)
    for group in context.get("header_buttons") or []:
        for button in group.get("buttons", []) if group.get("label") == "launch-buttons" else []:
            marker, link = REWRITE.get(button.get("text"), ("", None))
            if link is None or marker not in button.get("url", ""):
                continue
            chapter = Path(pagename).name
            if not (root / "colab" / f"{chapter}.ipynb").exists():
                message = f"[colab_launch] no colab/{chapter}.ipynb: run `python3 tasks.py colab`"
                logger.warning(message, location=pagename)
                continue
            button["url"] = link(button["url"], release(root)[1], chapter)


def setup(app):
    # after sphinx-book-theme's add_launch_buttons (priority 501) has put the buttons in the context
    app.connect("html-page-context", _rewrite, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
