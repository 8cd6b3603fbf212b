"""Sphinx extension: a bibliography style with readable author–year labels and links.

sphinxcontrib-bibtex's default style labels entries alpha.bst-style (``[HNorsettW93]``). This registers a
pybtex style ``gfteach``: pybtex's ``unsrt`` formatting (which already turns the ``doi``, ``eprint``
(arXiv) and ``url`` fields into links), entries sorted by author, year and title, and labels such as
``Elkabetz & Cohen 2021`` or ``Hairer et al. 1993`` (a letter is appended when two entries would get the
same label). ``_config.yml`` selects it with ``bibtex_default_style: gfteach``.
"""

from __future__ import annotations

import codecs
from collections import Counter

import latexcodec  # noqa: F401  (registers the "ulatex" codec)
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _last_name(person) -> str:
    name = " ".join(person.prelast_names + person.last_names)
    return codecs.decode(name, "ulatex").replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    """``Author 2001``, ``Author & Other 2001`` or ``Author et al. 2001`` (from the authors, else the editors)."""

    def format_label(self, entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [_last_name(p) for p in persons]
        if not names:
            who = entry.key
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} & {names[1]}"
        else:
            who = f"{names[0]} et al."
        year = entry.fields.get("year", "")
        return f"{who} {year}".strip()

    def format_labels(self, sorted_entries):
        labels = [self.format_label(entry) for entry in sorted_entries]
        count, seen = Counter(labels), Counter()
        for label in labels:
            if count[label] == 1:
                yield label
            else:
                yield label + chr(ord("a") + seen[label])
                seen[label] += 1


class Style(UnsrtStyle):
    default_label_style = "gfteach-author-year"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "gfteach-author-year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "gfteach", Style)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
