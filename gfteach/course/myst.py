"""The book's MyST as plain Markdown, for notebooks read outside the book (Jupyter, JupyterLab, Colab).

Jupyter and Colab render none of the chapters' MyST: directives (``{exercise}``, ``{admonition}``,
``{prf:theorem}`` in fences), roles (``{cite:p}``, ``{eq}``, ``{prf:ref}``, ``{numref}``),
labelled equations (``$$ … $$ (eq-label)``), targets (``(label)=``). A :class:`Book` indexes every chapter
once (labels, per-chapter numbers, the bibliography); a :class:`Chapter` turns one chapter's Markdown
into what they render: exercise, theorem, proof headings in bold, numbered as in the book; citations as
author–year with a DOI, arXiv or URL link from ``book/references.bib``; references as numbers (labelled
equations get a ``\\tag``) or section titles; admonitions as quotes, dropdowns (hints, solutions) as
collapsed ``<details>``; math kept as ``$…$`` / ``$$…$$``; no ``:label:`` lines.

Fences are read as the book's MyST settings accept them: backticks of any length ≥ 3 and, with
``colon_fence``, colons (``:::{name}``); a fence closes with at least as many of its characters (nested
directives use longer outer fences). An unknown label or citation key is an error, as in the book's
``-n`` build, never a silent drop.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .bibtex import BibtexError, Entry, read_bibtex

__all__ = ["Block", "blocks", "Book", "Chapter", "MystError", "HIDDEN_TAGS"]

#: cells the book does not show (MyST-NB tags); they are dropped from every generated notebook.
HIDDEN_TAGS = frozenset({"remove-cell", "remove_cell", "remove-input", "remove_input"})
_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,}|:{3,})(.*?)\s*$")  # backtick, tilde and colon fences
_ROLE = re.compile(r"\{([A-Za-z][\w:.-]*)\}`([^`]+)`")
_TARGET = re.compile(r"^\(([^()\s]+)\)=[ \t]*\n?", re.M)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_EXPLICIT = re.compile(r"^(.*?)\s*<([^<>]+)>$", re.S)
_ADMONITIONS = set(
    "note tip hint warning important caution attention danger error seealso admonition dropdown "
    "margin sidebar topic epigraph".split()
)
_CODE_ROLES = {"code", "command", "file", "samp", "func", "class", "meth", "mod", "attr", "obj", "data", "exc", "any"}


class MystError(ValueError):
    """MyST the converter cannot render faithfully: an unknown label or citation, a malformed directive."""


@dataclass
class Block:
    """A top-level piece of a Markdown cell: ``text``, a ``directive`` (``name``, ``argument``,
    ``options``, ``body``) or a plain ``code`` fence (``name`` is its language); ``raw`` as written."""

    kind: str
    raw: str
    name: str = ""
    argument: str = ""
    options: dict = field(default_factory=dict)
    body: str = ""


def blocks(text: str) -> list[Block]:
    """Split Markdown into text, directive and code blocks (CommonMark fence rules, MyST colon fences)."""
    lines, out, buffer, i = text.splitlines(keepends=True), [], [], 0
    while i < len(lines):
        m = _OPEN.match(lines[i].rstrip("\n"))
        char = m.group(2)[0] if m else ""
        if not m or (char == "`" and "`" in m.group(3)) or (char == ":" and not m.group(3).startswith("{")):
            buffer.append(lines[i])
            i += 1
            continue
        fence, info = m.group(2), m.group(3)
        close = re.compile(rf"^ {{0,3}}{re.escape(char)}{{{len(fence)},}}\s*$")
        j = next((k for k in range(i + 1, len(lines)) if close.match(lines[k].rstrip("\n"))), len(lines))
        if buffer:
            out.append(Block("text", "".join(buffer)))
            buffer = []
        content, raw = "".join(lines[i + 1 : j]), "".join(lines[i : j + 1])
        directive = re.match(r"\{([^}]+)\}\s*(.*)$", info)
        if directive:
            options, body = _options(content)
            out.append(Block("directive", raw, directive.group(1), directive.group(2).strip(), options, body))
        else:
            out.append(Block("code", raw, info.strip(), body=content))
        i = j + 1
    if buffer:
        out.append(Block("text", "".join(buffer)))
    return out


def _options(content: str) -> tuple[dict, str]:
    lines, options = content.splitlines(keepends=True), {}
    if lines and lines[0].strip() == "---":  # a YAML block of options
        end = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), None)
        if end is None:
            raise MystError(f"directive options opened with '---' are never closed: {content[:80]!r}")
        for line in lines[1:end]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        lines = lines[end + 1 :]
    else:
        while lines and (m := re.match(r"^\s*:([\w-]+):(.*)$", lines[0])):
            options[m.group(1)] = m.group(2).strip()
            lines.pop(0)
    return options, "".join(lines).strip("\n")


# -- the book's index ---------------------------------------------------------------------------------


@dataclass
class Target:
    kind: str  # "Exercise", "Theorem", ..., "Figure", "Equation", "Section"
    number: str  # "2.4"
    title: str


class Book:
    """Every chapter's labels and numbers, and the bibliography, so references resolve across chapters:
    ``chapters`` are ``(name, notebook)`` pairs in the order of the table of contents; with ``numbered``
    (a numbered table of contents) items are numbered "2.4" in chapter 2, otherwise "4", as Sphinx does."""

    def __init__(self, chapters, bibtex: str = "", numbered: bool = True):
        try:
            self.entries = {key: Entry.from_fields(f) for key, f in read_bibtex(bibtex).items()}
        except BibtexError as error:
            raise MystError(str(error)) from None
        self.numbered, self.labels, self.keyprefix = numbered, {}, {}
        self.order = [name for name, _ in chapters]
        for name, nb in chapters:  # a first pass over every chapter indexes its labels
            chapter = self.chapter(name, indexing=True)
            for index, cell in enumerate(nb.get("cells", [])):
                hidden = set(cell.get("metadata", {}).get("tags", [])) & HIDDEN_TAGS
                try:
                    if cell["cell_type"] == "code":
                        chapter.figure(cell)
                    elif cell["cell_type"] == "markdown" and not hidden:
                        chapter.markdown("".join(cell.get("source", "")))  # a str or a list of lines
                except MystError as error:
                    raise MystError(f"{name}, cell {index}: {str(error).removeprefix(f'{name}: ')}") from None

    @classmethod
    def load(cls, root: Path) -> Book:
        """The book at ``root``: chapters from ``_toc.yml``, citations from ``book/references.bib``."""
        toc = (root / "_toc.yml").read_text()
        files = re.findall(r"^\s*-?\s*file:\s*(\S+)", toc, re.M)
        chapters = [(Path(f).stem, root / f"{f}.ipynb") for f in files if (root / f"{f}.ipynb").exists()]
        bib = root / "book" / "references.bib"
        return cls(
            [(name, json.loads(path.read_text())) for name, path in chapters],
            bib.read_text() if bib.exists() else "",
            numbered=bool(re.search(r"^\s*numbered:\s*true", toc, re.M)),
        )

    def chapter(self, name: str, indexing: bool = False) -> Chapter:
        """A converter for chapter ``name`` (fresh counters: convert its cells in order)."""
        number = self.order.index(name) + 1 if name in self.order else 1
        return Chapter(self, name, f"{number}." if self.numbered else "", indexing)

    def resolve(self, label: str, where: str) -> Target:
        if label not in self.labels:
            raise MystError(f"{where}: unknown label {label!r}")
        return self.labels[label]


class Chapter:
    """Converts one chapter's Markdown, cell after cell, in order (numbers are counted as it goes)."""

    def __init__(self, book: Book, name: str, prefix: str, indexing: bool):
        self.book, self.name, self.prefix, self.indexing = book, name, prefix, indexing
        self.counts: dict[str, int] = defaultdict(int)
        self.cited: list[str] = []

    def _number(self, kind: str, label: str | None, title: str = "") -> str:
        self.counts[kind] += 1
        number = f"{self.prefix}{self.counts[kind]}"
        if self.indexing and label:
            if label in self.book.labels:
                raise MystError(f"{self.name}: label {label!r} is defined twice")
            self.book.labels[label] = Target(kind, number, title)
        return number

    # -- blocks ----------------------------------------------------------------------------------------

    def markdown(self, text: str) -> str:
        """``text`` (MyST) as plain Markdown."""
        out = "".join(self.block(b) for b in blocks(text))
        return re.sub(r"\n{3,}", "\n\n", out)

    def block(self, b: Block) -> str:
        if b.kind != "directive":
            return self.inline(b.raw) if b.kind == "text" else b.raw
        return self.directive(b).strip("\n") + "\n\n"

    def directive(self, b: Block) -> str:
        name, arg, opts = b.name, self.inline(b.argument).strip(), b.options
        label = opts.get("label") or opts.get("name")
        if name in ("exercise", "exercise-start"):
            number = "" if "nonumber" in opts else self._number("Exercise", label, arg)
            head = f"**Exercise {number}" + (f" ({arg})" if arg else "") + ".**"
            return head + "\n\n" + self.markdown(b.body)
        if name == "solution":
            return _details(f"Solution to {self.exercise(b.argument)}", self.markdown(b.body))
        if name in ("exercise-end", "solution-start", "solution-end", "tableofcontents"):
            return ""
        if name.startswith("prf:"):
            kind = name[4:].capitalize()
            if kind == "Proof":
                body = self.markdown(b.body).strip()
                block = re.match(r"([-*+]|\d+\.)\s|\$\$|#|>|<|`{3}", body)  # a list, display math, ...
                return f"*Proof.*{chr(10) * 2 if block else ' '}{body} ∎"
            number = "" if "nonumber" in opts else " " + self._number(kind, label, arg)
            return f"**{kind}{number}" + (f" ({arg})" if arg else "") + ".**\n\n" + self.markdown(b.body)
        if name == "math":
            tag = f"\n\\tag{{{self._number('Equation', label)}}}" if label else ""
            return f"$$\n{b.body}{tag}\n$$"
        if name in ("figure", "image"):
            caption = self.markdown(b.body).strip() if name == "figure" else ""
            number = f"\n\n**Figure {self._number('Figure', label, caption)}.** {caption}" if name == "figure" else ""
            return f"![{opts.get('alt', 'figure')}]({b.argument}){number}"
        if name in ("code", "code-block", "code-cell", "sourcecode"):
            return f"```{b.argument}\n{b.body}\n```"
        if name == "bibliography":
            self.book.keyprefix.setdefault(self.name, opts.get("keyprefix", ""))
            keys = sorted(dict.fromkeys(self.cited), key=lambda k: (self.book.entries[k].names, k))
            return "\n".join(f"* {self.book.entries[k].reference()}" for k in keys)
        if name == "raw":
            return b.body if b.argument.strip() == "html" else ""
        if name in _ADMONITIONS:
            titled = name in ("admonition", "dropdown", "topic", "sidebar")
            title = arg if titled else "See also" if name == "seealso" else name.capitalize()
            body = self.markdown(b.body if titled or not b.argument else f"{b.argument}\n{b.body}").strip()
            if name == "dropdown" or "dropdown" in opts.get("class", "").split():
                return _details(title or "Details", body)
            if "```" in body or "$$" in body or "<details>" in body:
                return f"**{title}.**\n\n{body}"
            return "\n".join("> " + line if line else ">" for line in f"**{title}.**\n\n{body}".splitlines())
        raise MystError(f"{self.name}: the directive {{{name}}} has no plain-Markdown form here")

    def figure(self, cell) -> str | None:
        """The caption of a code cell's figure (``metadata.mystnb.figure``) as Markdown, numbered."""
        meta = cell.get("metadata", {})  # a remove-cell cell shows no figure; a remove-input one does
        removed = {"remove-cell", "remove_cell"} & set(meta.get("tags", []))
        spec = {} if removed else meta.get("mystnb", {}).get("figure")
        if not spec or not (spec.get("caption") or spec.get("name")):
            return None
        caption = self.inline(spec.get("caption", "")).strip()
        return f"**Figure {self._number('Figure', spec.get('name'), caption)}.** {caption}".strip()

    def exercise(self, label: str) -> str:
        """``Exercise 2.4``: how the book names the exercise with this label."""
        target = self.book.resolve(label.strip(), self.name) if not self.indexing else None
        return f"Exercise {target.number}" if target else "the exercise"

    # -- inline ----------------------------------------------------------------------------------------

    def inline(self, text: str) -> str:
        for m in _TARGET.finditer(text):  # (label)= before a heading: the section's title
            heading = _HEADING.search(text, m.end())
            if self.indexing and heading and m.group(1) not in self.book.labels:
                self.book.labels[m.group(1)] = Target("Section", "", _ROLE.sub(r"\2", heading.group(1)))
        text = _TARGET.sub("", text)
        parts = text.split("$$")  # odd parts are display math; a label may follow the closing $$
        for k in range(2, len(parts), 2):
            m = re.match(r"[ \t]*\(([^()\s]+)\)", parts[k])
            if m:
                parts[k - 1] = f"{parts[k - 1].rstrip()}\n\\tag{{{self._number('Equation', m.group(1))}}}\n"
                parts[k] = parts[k][m.end() :]
        return _ROLE.sub(self._role, "$$".join(parts))

    def _role(self, m: re.Match) -> str:
        role, content = m.group(1), m.group(2).strip()
        explicit = _EXPLICIT.match(content)
        title, target = (explicit.group(1), explicit.group(2)) if explicit else ("", content)
        if role.startswith("cite"):
            return self._cite(role, target)
        if role == "math":
            return f"${content}$"
        if role in ("sub", "sup"):
            return f"<{role}>{content}</{role}>"
        if role.split(":")[-1] in _CODE_ROLES or role.startswith("py:"):
            name = target.lstrip("!")
            return f"`{name.rsplit('.', 1)[-1] if name.startswith('~') else name.lstrip('~')}`"
        if role in ("eq", "ref", "numref", "prf:ref"):
            if self.indexing:
                return title or target
            t = self.book.resolve(target, self.name)
            if role == "numref" and title:
                return title.replace("%s", t.number).replace("{number}", t.number).replace("{name}", t.title)
            if title or role == "eq":
                return title or f"({t.number})"
            if role == "ref" and (t.kind == "Section" or not t.number):
                return t.title
            return f"{t.kind} {t.number}"
        return title or target  # doc, term, abbr, download, ...: their text

    def _cite(self, role: str, keys: str) -> str:
        found = []
        for key in (k.strip() for k in keys.split(",")):
            prefix = self.book.keyprefix.get(self.name, "")
            bare = key[len(prefix) :] if prefix and key.startswith(prefix) else re.sub(r"^ch\d+-", "", key)
            entry = self.book.entries.get(key) or self.book.entries.get(bare)
            if entry is None:
                if self.indexing:
                    continue
                raise MystError(f"{self.name}: unknown citation key {key!r} (not in references.bib)")
            self.cited.append(key if key in self.book.entries else bare)
            found.append(entry)
        if self.indexing and not found:
            return keys

        link = lambda text, e: f"[{text}]({e.link})" if e.link else text
        textual = lambda e: f"{e.who()} ({link(e.year, e)})"
        forms = {
            "cite:t": textual,
            "cite:ts": textual,
            "cite:author": Entry.who,
            "cite:year": lambda e: link(e.year, e),
        }
        if role in forms:
            return "; ".join(map(forms[role], found))
        return "(" + "; ".join(link(f"{e.who()}, {e.year}", e) for e in found) + ")"


def _details(summary: str, body: str) -> str:
    """A collapsed block that Jupyter, JupyterLab and Colab render with Markdown (and math) inside."""
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"
