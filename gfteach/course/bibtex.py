"""The book's bibliography (``book/references.bib``) for notebooks read outside the book: BibTeX read
without a LaTeX engine, author–year labels (``Elkabetz and Cohen``, ``Hairer et al.``) and a reference
line with a DOI, arXiv or URL link, as the book's own bibliography style shows them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["BibtexError", "Entry", "read_bibtex"]


class BibtexError(ValueError):
    """BibTeX the reader cannot read: a field that is never closed."""


# -- the bibliography --------------------------------------------------------------------------------

_ACCENTS = dict(zip("'`^\"~=.cvuHkr", "\u0301\u0300\u0302\u0308\u0303\u0304\u0307\u0327\u030c\u0306\u030b\u0328\u030a"))
_FIELD, _BARE, _COMMA = re.compile(r"\s*(\w+)\s*=\s*"), re.compile(r"[^,}\s]*"), re.compile(r"\s*,?")
_LETTERS = dict(zip("o O l L ss ae AE oe OE aa AA i".split(), "ø Ø ł Ł ß æ Æ œ Œ å Å ı".split()))


def _latex(text: str) -> str:
    """BibTeX field text as plain Unicode (accents, special letters, braces, dashes)."""
    accent = r"\\([`'^\"~=.]|[cvuHkr](?=[{\s]))\s*\{?\s*([A-Za-z])\}?"
    text = re.sub(accent, lambda m: unicodedata.normalize("NFC", m.group(2) + _ACCENTS[m.group(1)]), text)
    text = re.sub(r"\\(ss|ae|AE|oe|OE|aa|AA|[oOlLi])\b\s*", lambda m: _LETTERS[m.group(1)], text)
    text = text.replace("\\&", "&").replace("---", "—").replace("--", "–").replace("~", " ")
    return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()


def read_bibtex(text: str) -> dict[str, dict[str, str]]:
    """``{key: {field: value}}`` from BibTeX source (values in braces or quotes, or bare numbers)."""
    entries = {}
    for m in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
        fields, pos = {"type": m.group(1).lower()}, m.end()
        while f := _FIELD.match(text, pos):
            pos, depth, start = f.end(), 0, f.end()
            if text[pos : pos + 1] in ("{", '"'):
                close, pos = "}" if text[pos] == "{" else '"', pos + 1
                while pos < len(text) and (depth or text[pos] != close):
                    depth += {"{": 1, "}": -1}.get(text[pos], 0)
                    pos += 1
                if pos >= len(text):
                    raise BibtexError(f"references.bib: the field {f.group(1)} of {m.group(2)} is never closed")
                value, pos = text[start + 1 : pos], pos + 1
            else:
                value = _BARE.match(text, pos).group(0)
                pos += len(value)
            fields[f.group(1).lower()] = value
            pos = _COMMA.match(text, pos).end()
        entries[m.group(2)] = fields
    return entries


@dataclass
class Entry:
    """One reference: who, when, what, where, and a link (DOI, arXiv or URL)."""

    names: list[str]  # surnames
    authors: list[str]  # "First Last"
    year: str
    title: str
    venue: str
    link: str

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Entry:
        people = [p.strip() for p in re.split(r"\s+and\s+", fields.get("author", "")) if p.strip()]
        names, authors = [], []
        for person in people:
            if "," in person:
                last, first = (part.strip() for part in person.split(",", 1))
            else:
                first, _, last = person.rpartition(" ")
            names.append(_latex(last))
            authors.append(_latex(f"{first} {last}"))
        arxiv = re.search(r"arXiv:\s*([\w./-]+?)\.?(?:\s|$)", fields.get("note", "") + " " + fields.get("journal", ""))
        if fields.get("doi"):
            link = "https://doi.org/" + fields["doi"].strip()
        elif fields.get("eprint") or arxiv:
            link = "https://arxiv.org/abs/" + (fields.get("eprint") or arxiv.group(1)).strip()
        else:
            link = fields.get("url", "").strip()
        venue = fields.get("journal") or fields.get("booktitle") or fields.get("publisher") or ""
        return cls(names, authors, fields.get("year", "n.d."), _latex(fields.get("title", "")), _latex(venue), link)

    def who(self) -> str:
        return f"{self.names[0]} et al." if len(self.names) > 2 else " and ".join(self.names) or "Anonymous"

    def reference(self) -> str:
        people = ", ".join(self.authors[:-1]) + (" and " if len(self.authors) > 1 else "") + self.authors[-1]
        venue = f" *{self.venue}*." if self.venue else ""
        return f"{people} ({self.year}). {self.title}.{venue}" + (f" <{self.link}>" if self.link else "")
