"""The MyST → Markdown converter shared by the student and Colab notebooks (gfteach.course.myst)."""

import json
import re
from pathlib import Path

import pytest

from gfteach.course.bibtex import read_bibtex
from gfteach.course.myst import Book, MystError, blocks

ROOT = Path(__file__).resolve().parents[1]
BIB = r"""
@inproceedings{elkabetz2021continuous,
  title = {Continuous vs. Discrete Optimization of Deep Neural Networks},
  author = {Elkabetz, Omer and Cohen, Nadav}, year = {2021}, eprint = {2107.06608}, archiveprefix = {arXiv}
}
@book{hairer1993solving,
  title = {Solving Ordinary Differential Equations {I}},
  author = {Hairer, Ernst and N{\o}rsett, Syvert P. and Wanner, Gerhard},
  publisher = {Springer}, year = 1993, doi = {10.1007/978-3-540-78862-1}
}
@article{lecun1998gradient, title = "Gradient-Based Learning", author = {LeCun, Yann and Bottou, L{\'e}on},
  journal = {Proc. IEEE}, year = {1998}, url = {https://example.org/lecun}}
"""
# MyST left over in converted text: directive fences, roles, option lines, targets, labelled equations
LEFTOVER = re.compile(r"(`{3,}|:{3,})\{|\{[\w:-]+\}`|^:[\w-]+:|^\([\w-]+\)=|\$\$[ \t]*\([\w:.-]+\)", re.M)


def md(source):
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code(source, **metadata):
    return {"cell_type": "code", "metadata": metadata, "source": source, "outputs": [], "execution_count": None}


CH1 = [
    md("# One\n\n(sec-start)=\n## Where it starts\n\n$$\ny' = F(y)\n$$ (eq-ivp)\n\nText $$a$$ and $$b$$ (eq-b)\n"),
    md(
        "````{prf:theorem} Picard\n:label: thm-picard\n\nThere is one solution of {eq}`eq-ivp`.\n\n"
        "```{note}\nNested, inside the theorem.\n```\n````\n\n```{prf:proof}\nBy contraction.\n```\n"
    ),
    code("plt.show()", mystnb={"figure": {"name": "fig-one", "caption": "Paths of {cite:t}`ch01-hairer1993solving`"}}),
    md(
        ":::{exercise} Count\n:label: ex-count\nHow many? See {numref}`fig-one` and {ref}`sec-start`.\n:::\n\n"
        ":::{admonition} Hint\n:class: dropdown hint\nCount the $n$.\n:::\n\n"
        "::::{prf:definition} Order\n:label: def-order\n:::{math}\n:label: eq-order\np = 2\n:::\n::::\n"
    ),
    md("```{bibliography}\n:filter: docname in docnames\n:keyprefix: ch01-\n```\n"),
]
CH2 = [
    md(
        "As {prf:ref}`thm-picard` says {cite:p}`ch02-elkabetz2021continuous,ch02-lecun1998gradient`, "
        "{eq}`eq-b` and {eq}`eq-order` hold; {ref}`ex-count` asks it, {ref}`the first <sec-start>` too.\n\n"
        "```{prf:theorem} Two\n:label: thm-two\nMore.\n```\n"
    ),
    md("```{bibliography}\n:keyprefix: ch02-\n```\n"),
]


def book(numbered=True):
    return Book([("ch01_one", {"cells": CH1}), ("ch02_two", {"cells": CH2})], BIB, numbered=numbered)


def convert(b, name, cells):
    chapter = b.chapter(name)
    out = []
    for cell in cells:
        text = "".join(cell["source"])
        out.append(chapter.markdown(text) if cell["cell_type"] == "markdown" else chapter.figure(cell))
    return out


def test_every_fence_syntax_is_a_block_and_nesting_needs_a_longer_outer_fence():
    text = "a\n````{exercise} T\n:label: x\n```{note}\nin\n```\n````\n:::{hint}\nh\n:::\n```python\n{eq}`no`\n```\nz\n"
    kinds = [(b.kind, b.name) for b in blocks(text)]
    assert kinds == [("text", ""), ("directive", "exercise"), ("directive", "hint"), ("code", "python"), ("text", "")]
    exercise = blocks(text)[1]
    assert exercise.options == {"label": "x"} and exercise.body == "```{note}\nin\n```"
    assert blocks("```{note}\nunclosed\n")[0].body == "unclosed"  # CommonMark: runs to the end
    assert blocks("---\n:::\nplain colons\n:::\n")[0].kind == "text"  # colon fences need a {directive}
    yaml = blocks("```{figure} a.png\n---\nname: fig-a\nalt: an a\n---\nCaption\n```")[0]
    assert yaml.options == {"name": "fig-a", "alt": "an a"} and yaml.body == "Caption"


def test_numbers_follow_the_book_per_chapter_and_per_kind():
    b = book()
    assert {k: (t.kind, t.number) for k, t in b.labels.items() if k.startswith(("eq", "thm", "def", "ex", "fig"))} == {
        "eq-ivp": ("Equation", "1.1"),
        "eq-b": ("Equation", "1.2"),
        "thm-picard": ("Theorem", "1.1"),
        "fig-one": ("Figure", "1.1"),
        "ex-count": ("Exercise", "1.1"),
        "def-order": ("Definition", "1.1"),
        "eq-order": ("Equation", "1.3"),
        "thm-two": ("Theorem", "2.1"),
    }
    assert book(numbered=False).labels["thm-two"].number == "1"


def test_conversion_leaves_no_myst_and_renders_what_jupyter_and_colab_show():
    b = book()
    one, two = "\n".join(convert(b, "ch01_one", CH1)), "\n".join(convert(b, "ch02_two", CH2))
    for text in (one, two):
        assert not LEFTOVER.search(text), LEFTOVER.search(text)
    assert "y' = F(y)\n\\tag{1.1}\n$$" in one and "$$b\n\\tag{1.2}\n$$" in one and "$$a$$" in one
    assert "**Theorem 1.1 (Picard).**" in one and "solution of (1.1)." in one and "*Proof.* By contraction. ∎" in one
    assert "> **Note.**\n>\n> Nested, inside the theorem." in one
    assert "**Figure 1.1.** Paths of Hairer et al. ([1993](https://doi.org/10.1007/978-3-540-78862-1))" in one
    assert "**Exercise 1.1 (Count).**" in one and "See Figure 1.1 and Where it starts." in one
    assert "<details>\n<summary>Hint</summary>\n\nCount the $n$.\n\n</details>" in one
    assert "**Definition 1.1 (Order).**" in one and "p = 2\n\\tag{1.3}" in one
    assert "Nørsett" in one and "Hairer" in one.split("**Definition")[1]  # the chapter's reference list
    assert "As Theorem 1.1 says ([Elkabetz and Cohen, 2021](https://arxiv.org/abs/2107.06608); " in two
    assert "[LeCun and Bottou, 1998](https://example.org/lecun))" in two
    assert "(1.2) and (1.3) hold; Exercise 1.1 asks it, the first too." in two
    assert "**Theorem 2.1 (Two).**" in two
    assert "Léon Bottou" in two and "Gradient-Based Learning" in two and "Nørsett" not in two


def test_unknown_labels_citations_and_directives_are_errors_not_silent_drops():
    b = Book([("c", {"cells": [md("See {eq}`eq-nowhere`.")]})], BIB)
    with pytest.raises(MystError, match="eq-nowhere"):
        b.chapter("c").markdown("See {eq}`eq-nowhere`.")
    with pytest.raises(MystError, match="nobody2020"):
        b.chapter("c").markdown("{cite:p}`nobody2020`")
    with pytest.raises(MystError, match="mystery"):
        b.chapter("c").markdown("```{mystery}\nx\n```")
    with pytest.raises(MystError, match="twice"):
        Book([("c", {"cells": [md("$$x$$ (eq-a)\n\n$$y$$ (eq-a)")]})])
    with pytest.raises(MystError, match="the field title of k is never closed"):
        Book([], "@misc{k, title = {A {B} D, note = {x}")
    with pytest.raises(MystError, match=r"^c, cell 1: directive options opened with '---' are never closed"):
        Book([("c", {"cells": [md("# C"), md("```{note}\n---\nclass: x\n```")]})])


def test_bibtex_reader_handles_braces_quotes_numbers_and_accents():
    entries = read_bibtex(BIB + "@misc{k, title = {A {B {C}} D}, note = {x, y}}")
    assert entries["hairer1993solving"]["year"] == "1993"
    assert entries["lecun1998gradient"]["title"] == "Gradient-Based Learning"
    assert entries["k"] == {"type": "misc", "title": "A {B {C}} D", "note": "x, y"}


@pytest.mark.parametrize("chapter", Book.load(ROOT).order if (ROOT / "_toc.yml").exists() else [])
def test_every_chapter_converts_without_myst_left(chapter):
    b = Book.load(ROOT)
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    text = "\n".join(filter(None, convert(b, chapter, [c for c in nb["cells"] if c["cell_type"] != "raw"])))
    match = LEFTOVER.search(text)
    assert not match, text[max(0, match.start() - 200) : match.end() + 200]
