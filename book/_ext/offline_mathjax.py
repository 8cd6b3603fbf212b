"""Sphinx extension: serve MathJax from the book itself, so every page reads fine offline.

The online book would otherwise load MathJax 3 from a CDN; a reader on a train (or this project's
offline test machine) then sees raw TeX. MathJax 3.2.2 is installed from PyPI as the static files of
``django-static-mathjax`` (no Django needed: the wheel only carries the files). At build time the parts
a page can load — the combined TeX/MathML→CHTML component, its fonts, the TeX extensions it autoloads,
and the accessibility and menu components — are copied to ``_static/mathjax`` and ``mathjax_path``
points there. If that package is missing, the CDN default is kept and the build says so.
"""

import shutil
from importlib.util import find_spec
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)
PARTS = ["tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "ui", "sre"]


def _mathjax_dir() -> Path | None:
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    return es5 if (es5 / "tex-mml-chtml.js").exists() else None


def _use_local_mathjax(app, config):
    if _mathjax_dir() is None:
        logger.info("[offline_mathjax] django-static-mathjax not installed: MathJax comes from the CDN")
        return
    config.mathjax_path = "mathjax/tex-mml-chtml.js"


def _copy_mathjax(app):
    source = _mathjax_dir()
    if source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def setup(app):
    app.connect("config-inited", _use_local_mathjax)
    app.connect("builder-inited", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
