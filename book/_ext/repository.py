"""Sphinx extension: the repository link and the citation of the course, from the configuration.

The repository URL lives once, in ``_config.yml`` (``repository.url``; Jupyter Book passes it on as
``html_theme_options["repository_url"]``). This makes it available to the pages as MyST substitutions,
so no page repeats it by hand:

* ``{{ repository_url }}``: the URL; ``{{ repository_link }}``: a Markdown link to it;
* ``{{ course_bibtex }}``: a BibTeX entry for the course (title, author and year from the configuration,
  version from the installed package), as a fenced code block (use it on a line of its own).
"""

from __future__ import annotations

import re
from importlib import metadata

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("gfteach")
    except metadata.PackageNotFoundError:
        return ""


def _substitutions(app, config) -> None:
    url = (config.html_theme_options or {}).get("repository_url", "")
    if not url:
        logger.warning("[repository] no repository URL in the configuration (repository.url in _config.yml)")
        return
    year = (re.findall(r"\d{4}", str(config.copyright)) or [""])[-1]
    version = _version()
    fields = [
        ("author", "{" + str(config.author) + "}"),
        ("title", str(config.html_title or config.project) + ": an executable course"),  # JB: title -> html_title
        ("year", year),
        ("url", url),
    ] + ([("note", f"Version {version}")] if version else [])
    entry = ",\n".join(f"  {name:<6} = {{{value}}}" for name, value in fields)
    bibtex = "```bibtex\n@misc{gfteach,\n" + entry + "\n}\n```"
    subs = dict(config.myst_substitutions or {})
    subs.setdefault("repository_url", url)
    subs.setdefault("repository_link", f"[{url.removeprefix('https://')}]({url})")
    subs.setdefault("course_bibtex", bibtex)
    config.myst_substitutions = subs


def setup(app):
    app.connect("config-inited", _substitutions, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
