"""The book as a reader gets it: built with warnings as errors, then every page used in Chromium.

The build runs once per test session (``built_book``; set ``GFTEACH_BOOK_HTML=<dir>`` to test an existing
build instead). Every page is then opened once, at 1280×900 in headless Chromium (Debian's ``chromium``
through Playwright), with **every request outside the book's own local server blocked**: the book must
need nothing but itself (MathJax, the explorers' script and the reader aids are all served by it), so a
page that works here works offline and online alike. ``survey`` measures a page once and the tests below
each check one thing in its measurements, so a failure names the page and the check:

* zero console errors, page errors or failed requests, and no request outside the book;
* every figure readable at column width: effective resolution ≥ 80 dpi (the PNG's dpi, from its pHYs
  chunk, × rendered width / natural width), so 8-pt text is ≥ 9 CSS px;
* no display equation wider than its column unless it scrolls (never clipped);
* tables rendered as tables and not clipped; no grading markers, no stray ``True``/``False`` outputs;
* on every chapter page: launch links, every control of every explorer changed (its figure must
  change), a hint drop-down before every solution, solutions collapsed on screen and expanded in
  print, a solution's title that toggles it (and does not jump away), the page under 12 MB;
* every numbered cross-reference lands on an element carrying the number its text says.

Screenshots of every page (and of the first explorer of each chapter, before and after moving its
controls) go to ``test-artifacts/``, with ``book-report.json`` (the measurements: column width, dpi of
every figure, page sizes, build time).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
ENTRIES = TOC.get("chapters", []) + [c for part in TOC.get("parts", []) for c in part["chapters"]]
PAGES = [TOC["root"]] + [entry["file"] for entry in ENTRIES]
CHAPTERS = [p for p in PAGES if (ROOT / f"{p}.ipynb").exists()]
REPOSITORY = CONFIG["repository"]["url"]

MIN_DPI = 80  # effective resolution of every figure at 1280 px (8-pt text ≥ 9 CSS px)
MAX_PAGE_BYTES = 12 * 2**20  # a chapter page, its HTML and its images
VIEWPORT = {"width": 1280, "height": 900}
MAX_SHOT = 16_000  # px: the tallest full-page screenshot
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
MARKERS = re.compile(r"^\s*#+\s*(?:(?:BEGIN|END)\s+SOLUTION\b|HINT\s*:)", re.MULTILINE)
REPORT: dict = {"pages": {}}


# -- the build and the server ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def build() -> dict:
    """Build the book once (or take ``GFTEACH_BOOK_HTML``); the log is checked by the first test only, so a
    warning fails that test while the pages it did build are still checked one by one."""
    given = os.environ.get("GFTEACH_BOOK_HTML")
    if given:
        return {"html": Path(given), "returncode": 0, "log": ""}
    start = time.perf_counter()
    out = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    REPORT["build_seconds"] = round(time.perf_counter() - start, 1)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "build.log").write_text(out.stdout + out.stderr)
    return {"html": ROOT / "_build" / "html", "returncode": out.returncode, "log": out.stdout + out.stderr}


@pytest.fixture(scope="session")
def built_book(build) -> Path:
    if not (build["html"] / "index.html").exists():
        pytest.fail("the book was not built:\n" + build["log"][-5000:])
    return build["html"]


def test_book_builds_without_warnings_and_has_every_page(build, built_book):
    warnings = [line for line in build["log"].splitlines() if "WARNING" in line]
    assert warnings == []
    assert build["returncode"] == 0, build["log"][-5000:]
    for page in PAGES:
        assert (built_book / f"{page}.html").exists(), page
    assert (built_book / "index.html").exists()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(built_book):
    handler = functools.partial(QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("GFTEACH_SKIP_BROWSER") == "1":
            pytest.skip("GFTEACH_SKIP_BROWSER=1")
        pytest.fail("the browser test needs Debian's chromium (apt-get install chromium), or GFTEACH_SKIP_BROWSER=1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield b
        b.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "book-report.json").write_text(json.dumps(REPORT, indent=1, sort_keys=True))


# -- PNG resolution ------------------------------------------------------------------------------------


def png_info(data: bytes) -> tuple[int, float | None]:
    """Natural width (px) and resolution (dpi, from the pHYs chunk; None if absent) of a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    width = struct.unpack(">I", data[16:20])[0]
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"pHYs" and pos + 17 <= len(data):
            per_unit, _, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return width, per_unit * 0.0254 if unit == 1 else None
        if kind == b"IDAT":
            break
        pos += 12 + length
    return width, None


def image_head(src: str, html_dir: Path, page_path: Path) -> bytes | None:
    """The first bytes of an image: decoded from a data URI, or read from the built book."""
    if src.startswith("data:"):
        head, _, payload = src.partition(",")
        if ";base64" not in head:
            return None
        chunk = payload[:8000]
        return base64.b64decode(chunk[: len(chunk) // 4 * 4])
    path = unquote(urlparse(src).path)
    file = (html_dir / path.lstrip("/")) if path.startswith("/") else (page_path.parent / path)
    return file.read_bytes()[:8000] if file.exists() else None


# -- one visit per page ------------------------------------------------------------------------------

PAGE_JS = {
    "layout": """() => {
        const article = document.querySelector('article.bd-article') || document.querySelector('article');
        const p = article && article.querySelector('section > p');
        const cell = document.querySelector('.cell_output');
        const w = el => el ? Math.round(el.getBoundingClientRect().width) : null;
        return {article: w(article), paragraph: w(p), cell_output: w(cell)};
    }""",
    "images": """() => [...document.querySelectorAll('article img')].map(img => ({
        src: img.currentSrc || img.src, alt: img.alt || '', natural: img.naturalWidth,
        rendered: img.getBoundingClientRect().width, explorer: img.classList.contains('gft-explorer-frame'),
        in_output: !!img.closest('.cell_output')}))""",
    "math": """() => {
        const out = [];
        const items = el => {
            try { return MathJax.startup.document.getMathItemsWithin(el).map(m => m.math).join(' '); }
            catch (e) { return el.textContent.slice(0, 80); }
        };
        const article = document.querySelector('article');
        document.querySelectorAll('mjx-container[display="true"]').forEach(c => {
            const math = c.querySelector('mjx-math') || c;
            const inner = math.getBoundingClientRect();
            const box = c.getBoundingClientRect();
            const style = getComputedStyle(c);
            const scrolls = ['auto', 'scroll'].includes(style.overflowX);
            let problem = null;
            if (c.scrollWidth > c.clientWidth + 1 && !scrolls) problem = 'wider than its box, which does not scroll';
            if (!problem && !(c.scrollWidth > c.clientWidth + 1 && scrolls)) {
                for (let a = c.parentElement; a && a !== article.parentElement; a = a.parentElement) {
                    const ox = getComputedStyle(a).overflowX;
                    const r = a.getBoundingClientRect();
                    if (inner.right > r.right + 1 || inner.left < r.left - 1) {
                        problem = (['hidden', 'clip'].includes(ox) ? 'clipped by ' : 'spills out of ') +
                                  a.tagName.toLowerCase() + '.' + [...a.classList].join('.');
                        break;
                    }
                }
            }
            if (problem) out.push({problem, tex: items(c).slice(0, 160), width: Math.round(inner.width),
                                   column: Math.round(box.width)});
        });
        return {overflowing: out, typeset: document.querySelectorAll('mjx-container').length,
                math: document.querySelectorAll('.math').length};
    }""",
    "tables": """() => [...document.querySelectorAll(`article .cell_output table, article section > table,
            article .pst-scrollable-table-container > table`)].map(t => {
        let scrolls = false;
        for (let a = t; a && a.tagName !== 'ARTICLE'; a = a.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX) && a.scrollWidth >= t.scrollWidth - 1) {
                scrolls = true; break; }
        }
        const col = document.querySelector('article').getBoundingClientRect();
        const r = t.getBoundingClientRect();
        return {columns: t.rows.length ? t.rows[0].cells.length : 0, rows: t.rows.length,
                fits: r.right <= col.right + 1 && t.scrollWidth <= t.clientWidth + 1, scrolls};
    })""",
    "outputs": """() => [...document.querySelectorAll('.cell_output .output')].map(o => o.innerText.trim())""",
    "code": """() => [...document.querySelectorAll('.cell_input pre')].map(p => p.innerText)""",
    "links": """() => [...document.querySelectorAll('a[href]')].map(a => ({href: a.href, text: a.innerText.trim(),
            internal: a.classList.contains('internal'), inArticle: !!a.closest('article')}))""",
    "targets": """() => {
        const out = {};
        document.querySelectorAll('article [id]').forEach(el => {
            const label = el.querySelector(':scope > figcaption .caption-number, '
                + ':scope > .admonition-title .caption-number, :scope > caption .caption-number, '
                + ':scope > .eqno, :scope > p.caption .caption-number');
            if (label) out[el.id] = label.textContent.trim();
        });
        return out;
    }""",
    "handwritten": r"""() => {
        const out = [];
        const kinds = 'Exercises?|Theorems?|Fig\\.|Figures?|Definitions?|Propositions?|Lemmas?|Equations?|Eq\\.';
        const re = new RegExp('\\b(' + kinds + ')\\s+\\(?\\d+(\\.\\d+)?\\)?', 'g');
        const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            if (el.closest('a, pre, code, .caption-number, .cell_output, mjx-container, script, .gft-solution-of,'
                           + '.solution > .admonition-title')) continue;
            const context = n.textContent.trim().slice(0, 80);
            for (const m of n.textContent.matchAll(re)) out.push(m[0] + ' in "' + context + '"');
        }
        return out;
    }""",
    "exercises": """() => [...document.querySelectorAll('.exercise')].map(ex => {
        let hint = null, solution = null;
        for (let el = ex.nextElementSibling; el; el = el.nextElementSibling) {
            if (el.matches('.exercise')) break;
            if (!hint && (el.matches('.admonition.hint') || el.querySelector('.admonition.hint'))) {
                const h = el.matches('.admonition.hint') ? el : el.querySelector('.admonition.hint');
                hint = {collapsed: h.classList.contains('toggle-hidden')};
            }
            if (el.matches('.solution')) { solution = el.id; break; }
        }
        return {id: ex.id, title: ex.querySelector('.admonition-title').innerText.trim(), hint, solution};
    })""",
    "solution_bodies_hidden": """() => [...document.querySelectorAll('.solution')].map(s => {
        const body = s.querySelector(':scope > .admonition-title ~ *');
        return !body || getComputedStyle(body).visibility === 'hidden' || body.getBoundingClientRect().height === 0;
    })""",
    "expand_all": """() => {
        document.querySelectorAll('.admonition.toggle.toggle-hidden > .admonition-title > .toggle-button')
            .forEach(b => b.click());
        document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
    }""",
    "minutes": r"""() => {
        const out = {};
        document.querySelectorAll('article li').forEach(li => {
            const a = li.querySelector('a.internal[href]');
            const m = li.innerText.match(/about\s+(\d+)\s+minutes/);
            if (a && m) out[new URL(a.href).pathname.replace(/^.*\//, '').replace(/\.html$/, '')] = Number(m[1]);
        });
        return out;
    }""",
    "explorers": """() => [...document.querySelectorAll('.gft-explorer')].map(box => ({
        controls: box.querySelectorAll('[data-control]').length,
        visible: !!box.querySelector('.gft-explorer-controls:not([hidden])')}))""",
    "dead_widgets": """() => [...document.querySelectorAll('.cell_output')].map(o => o.innerText.trim())
        .filter(t => /^(interactive|VBox|HBox|Output|Dropdown|IntSlider|FloatSlider)\\(/.test(t))""",
}


@pytest.fixture(scope="session")
def survey(browser, server, built_book):
    """``survey(page)``: that page's measurements, taken on the first request (one visit per page)."""
    cache: dict[str, dict] = {}

    def visit(page_name: str) -> dict:
        if page_name not in cache:
            try:
                cache[page_name] = _visit(browser, server, built_book, page_name)
            except Exception as error:  # visited once: every test of this page reports the same failure
                cache[page_name] = error
            else:
                REPORT["pages"][page_name] = {k: v for k, v in cache[page_name].items() if k in REPORTED}
        if isinstance(cache[page_name], Exception):
            raise cache[page_name]
        return cache[page_name]

    return visit


REPORTED = {"layout", "figures", "errors", "blocked", "bytes", "math_overflow", "explorers_changed", "tables"}
REPORTED |= {"seconds", "handwritten", "exercises", "explorers", "first_paragraph", "title_click", "print_hidden"}
REPORTED |= {"dead_widgets", "minutes"}


def _visit(browser, server, html_dir: Path, page_name: str) -> dict:
    start = time.perf_counter()
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(server) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: errors.append(f"console: {msg.text} @ {msg.location}") if msg.type == "error" else 0)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "requestfailed",
        lambda req: errors.append(f"failed request {req.url}") if req.url.startswith(server) else None,
    )
    page_path = html_dir / f"{page_name}.html"
    url = f"{server}/{page_name}.html"
    page.goto(url, wait_until="load", timeout=60_000)
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    # the whole page, up to Chromium's texture limit (the API reference is longer; its top is enough)
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), MAX_SHOT)
    page.screenshot(path=str(ARTIFACTS / f"{Path(page_name).name}.jpg"), full_page=True, type="jpeg", quality=80,
                    clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})  # fmt: skip

    data: dict = {"title": page.title(), "url": url}
    for key in ("layout", "links", "targets", "handwritten", "exercises", "solution_bodies_hidden", "code", "outputs"):
        data[key] = page.evaluate(PAGE_JS[key])
    data["dead_widgets"] = page.evaluate(PAGE_JS["dead_widgets"])
    data["explorers"] = page.evaluate(PAGE_JS["explorers"])
    data["intro_text"] = page.inner_text("article") if page_name == TOC["root"] else ""
    data["minutes"] = page.evaluate(PAGE_JS["minutes"]) if page_name == TOC["root"] else {}
    data["first_paragraph"] = page.evaluate(  # the chapter's opening: its paragraphs before the first section
        "() => [...document.querySelectorAll('article > section:first-of-type > p, article > section:first-of-type > "
        "blockquote')].map(p => p.innerText).join(' ')"
    )

    # a solution's title toggles it, and does not navigate
    data["title_click"] = None
    solutions = page.locator(".solution.toggle")
    if solutions.count():
        title = solutions.first.locator(":scope > .admonition-title")
        title.scroll_into_view_if_needed()
        title.click(position={"x": 40, "y": 10})
        page.wait_for_timeout(400)
        opened = not solutions.first.evaluate("s => s.classList.contains('toggle-hidden')")
        data["title_click"] = {"url_kept": page.url == url, "opened": opened}
        if opened:
            title.click(position={"x": 40, "y": 10})

    # printed: every solution expanded
    page.emulate_media(media="print")
    data["print_hidden"] = page.evaluate(PAGE_JS["solution_bodies_hidden"])
    page.emulate_media(media="screen")

    # explorers: change every control, the figure must change
    data["explorers_changed"] = _move_explorers(page, page_name)

    # everything expanded, then figures, math and tables measured
    page.evaluate(PAGE_JS["expand_all"])
    page.wait_for_timeout(500)
    data["figures"] = _figures(page.evaluate(PAGE_JS["images"]), html_dir, page_path)
    data["figures"] += _figures(data["explorers_changed"].pop("frames", []), html_dir, page_path)
    math = page.evaluate(PAGE_JS["math"])
    data["math_overflow"], data["typeset"], data["math_count"] = math["overflowing"], math["typeset"], math["math"]
    data["tables"] = page.evaluate(PAGE_JS["tables"])

    local_images = {f["src"] for f in data["figures"] if not f["src"].startswith("data:")}
    sizes = [page_path.stat().st_size]
    for src in local_images:
        file = html_dir / unquote(urlparse(src).path).lstrip("/")
        sizes.append(file.stat().st_size if file.exists() else 0)
    data["bytes"] = sum(sizes)
    data["errors"], data["blocked"] = errors, blocked
    data["seconds"] = round(time.perf_counter() - start, 1)
    context.close()
    return data


def _figures(images: list[dict], html_dir: Path, page_path: Path) -> list[dict]:
    out = []
    for img in images:
        record = {"src": img["src"] if not img["src"].startswith("data:") else img["src"][:40] + "…", "alt": img["alt"]}
        record.update(natural=img["natural"], rendered=round(img["rendered"], 1), explorer=img["explorer"])
        record["in_output"] = img["in_output"]
        head = image_head(img["src"], html_dir, page_path)
        try:
            width, dpi = png_info(head) if head else (img["natural"], None)
        except ValueError:
            width, dpi = img["natural"], None  # not a PNG (an SVG scales; nothing to measure)
            record["format"] = "not png"
        record["dpi"] = round(dpi, 1) if dpi else None
        record["effective_dpi"] = round(dpi * img["rendered"] / width, 1) if dpi and width and img["rendered"] else None
        out.append(record)
    return out


def _fingerprint(img) -> str:
    return img.evaluate("e => e.src.length + ':' + e.src.slice(-64) + ':' + e.src.slice(2000, 2064)")


def _move_explorers(page, page_name: str) -> dict:
    """Change every control of every explorer once; record whether the figure changed."""
    result: dict = {"explorers": [], "frames": []}
    boxes = page.locator(".gft-explorer")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        img = box.locator("img.gft-explorer-frame").first
        controls = box.locator("[data-control]")
        entry = {"controls": controls.count(), "changed": [], "static": controls.count() == 0}
        box.scroll_into_view_if_needed()
        if i == 0:
            box.screenshot(path=str(ARTIFACTS / f"{Path(page_name).name}-explorer-before.png"))
        for j in range(controls.count()):
            control = controls.nth(j)
            label = control.evaluate("e => (e.labels && e.labels[0] ? e.labels[0].innerText : e.id)")
            before = _fingerprint(img)
            if control.evaluate("e => e.tagName") == "SELECT":
                n = control.locator("option").count()
                current = int(control.input_value())
                if n < 2:
                    entry["changed"].append({"control": label, "changed": False, "why": "a single option"})
                    continue
                control.select_option(str((current + 1) % n))
            else:
                top, current = int(control.get_attribute("max")), int(control.input_value())
                if top < 1:
                    entry["changed"].append({"control": label, "changed": False, "why": "a single value"})
                    continue
                new = current + 1 if current < top else current - 1
                control.evaluate(
                    "(e, v) => { e.value = v; e.dispatchEvent(new Event('input', {bubbles: true}));"
                    " e.dispatchEvent(new Event('change', {bubbles: true})); }",
                    str(new),
                )
            page.wait_for_timeout(50)
            entry["changed"].append({"control": label, "changed": _fingerprint(img) != before})
            result["frames"].append(
                img.evaluate(
                    "e => ({src: e.src, alt: e.alt, natural: e.naturalWidth, rendered: e.getBoundingClientRect().width,"
                    " explorer: true, in_output: true})"
                )
            )
        if i == 0 and controls.count():
            box.screenshot(path=str(ARTIFACTS / f"{Path(page_name).name}-explorer-after.png"))
        result["explorers"].append(entry)
    return result


# -- every page --------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_name", PAGES)
def test_no_console_errors_and_no_request_outside_the_book(survey, page_name):
    data = survey(page_name)
    assert "Gradient" in data["title"]
    assert data["errors"] == []
    assert data["blocked"] == [], "the page asks for something the book does not serve"


@pytest.mark.parametrize("page_name", PAGES)
def test_math_is_typeset_and_no_display_equation_is_clipped(survey, page_name):
    data = survey(page_name)
    assert data["typeset"] >= data["math_count"], "MathJax (served by the book) did not typeset every formula"
    assert data["math_overflow"] == []


@pytest.mark.parametrize("page_name", PAGES)
def test_every_figure_is_readable_at_column_width(survey, page_name):
    figures = survey(page_name)["figures"]
    assert all(f["natural"] > 0 for f in figures), [f["src"] for f in figures if not f["natural"]]
    unmeasured = [f["src"] for f in figures if f.get("format") != "not png" and f["dpi"] is None]
    assert unmeasured == [], "PNG figures without a resolution (pHYs) chunk"
    small = [
        f"{f['src']}: {f['effective_dpi']} dpi ({f['natural']} px at {f['dpi']} dpi shown {f['rendered']} px wide)"
        for f in figures
        if f["effective_dpi"] is not None and f["effective_dpi"] < MIN_DPI
    ]
    assert small == []


@pytest.mark.parametrize("page_name", PAGES)
def test_tables_are_tables_and_not_clipped(survey, page_name):
    data = survey(page_name)
    clipped = [t for t in data["tables"] if not (t["fits"] or t["scrolls"])]
    assert clipped == []
    pipes = [o[:120] for o in data["outputs"] if re.search(r"\|\s*:?-{3,}:?\s*\|", o)]
    assert pipes == [], "Markdown tables printed as text (leave style.table(...) as the cell's last value)"


@pytest.mark.parametrize("page_name", PAGES)
def test_links_resolve_and_numbered_references_land_where_they_say(survey, page_name, built_book):
    data = survey(page_name)
    server_root = data["url"].rsplit("/", 2)[0] if "/book/" in data["url"] else data["url"].rsplit("/", 1)[0]
    broken, wrong = [], []
    for link in data["links"]:
        href = link["href"]
        if not href.startswith(server_root):
            continue
        parsed = urlparse(href)
        path = parsed.path.lstrip("/") or "index.html"
        if not (built_book / path).exists():
            broken.append(href)
            continue
        claim = re.fullmatch(r"(?:(Fig\.|Figure|Table|Theorem|Definition|Lemma|Proposition|Corollary|Exercise|"
                             r"Algorithm|Remark|Example|Assumption)\s*)?\(?(\d+(?:\.\d+)*)\)?\.?(?:\s.*)?",
                             link["text"], re.DOTALL)  # fmt: skip
        if not (link["internal"] and link["inArticle"] and parsed.fragment and claim):
            continue
        if claim.group(1) is None and not link["text"].startswith("("):
            continue  # plain numbers (footnotes, back-references)
        target_page = path.removesuffix(".html")
        if target_page not in PAGES:
            continue
        targets = data["targets"] if target_page == page_name else survey(target_page)["targets"]
        label = targets.get(parsed.fragment)
        number = claim.group(2)
        if label is None or not re.search(rf"(^|[\s(]){re.escape(number)}([\s).]|$)", label):
            wrong.append(f"{link['text']!r} -> {target_page}#{parsed.fragment} labelled {label!r}")
    assert broken == []
    assert wrong == []


@pytest.mark.parametrize("page_name", PAGES)
def test_no_hand_written_numbered_references(survey, page_name):
    """Numbers are per chapter now ("Exercise 2.1"): prose must use roles ({ref}, {numref}, {prf:ref}, {eq})."""
    assert survey(page_name)["handwritten"] == []


# -- chapter pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_is_under_12_mb(survey, chapter):
    assert survey(chapter)["bytes"] < MAX_PAGE_BYTES


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_opens_with_its_question_and_figures_have_alt_text(survey, chapter):
    data = survey(chapter)
    assert "?" in data["first_paragraph"], f"the chapter should open with its question: {data['first_paragraph']!r}"
    alts = [f["alt"] for f in data["figures"] if f["in_output"]]
    assert alts, "a chapter without figures?"
    assert all(len(alt) > 20 for alt in alts), [a for a in alts if len(a) <= 20]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_launch_links_point_at_the_chapter_notebook(survey, chapter):
    hrefs = [link["href"] for link in survey(chapter)["links"]]
    repo = REPOSITORY.removeprefix("https://github.com/")
    colab = [h for h in hrefs if "colab.research.google.com" in h]
    binder = [h for h in hrefs if "mybinder.org" in h]
    assert "colab_launch" in (CONFIG["sphinx"].get("local_extensions") or {})
    # book/_ext/colab_launch.py: both open the generated colab/ notebook (plain Markdown) at the release
    # its install cell pins (and whose binder/ Binder builds), never the chapter's MyST on main
    from gfteach.course.notebooks import release

    tag, name = release(ROOT)[1], Path(chapter).name
    assert colab == [f"https://colab.research.google.com/github/{repo}/blob/{tag}/colab/{name}.ipynb"]
    assert binder == [f"https://mybinder.org/v2/gh/{repo}/{tag}?urlpath=tree/colab/{name}.ipynb"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_links_its_student_notebook_which_the_book_serves(survey, chapter, built_book):
    """book/_ext/student_notebooks.py: a link under the title and one in the download menu, both to
    student/<chapter>.ipynb in the built book, which is exactly the student notebook of the chapter
    (tests/test_student.py checks that one gives nothing away), with the Colab install cell first."""
    from gfteach.course.myst import Book
    from gfteach.course.notebooks import install_cell, release, student_notebook

    name = Path(chapter).name
    links = [link for link in survey(chapter)["links"] if link["href"].endswith(f"/student/{name}.ipynb")]
    assert sorted(link["text"] for link in links) == ["Student notebook", "student .ipynb"]
    assert any(link["inArticle"] for link in links), "the link under the title"
    served = json.loads((built_book / "student" / f"{name}.ipynb").read_text())
    chapter_nb = json.loads((ROOT / f"{chapter}.ipynb").read_text())
    assert served == student_notebook(chapter_nb, Book.load(ROOT), name, install_cell(*release(ROOT)))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_control_of_every_explorer_changes_its_figure(survey, chapter):
    data = survey(chapter)
    assert data["dead_widgets"] == [], "widget outputs that cannot respond in the book"
    explorers = data["explorers_changed"]["explorers"]
    assert explorers, "no explorer on this chapter page"
    static = [i for i, e in enumerate(explorers) if e["static"]]
    assert static == [], "explorers shown without controls: frames not precomputed (GFTEACH_EXPLORER_FRAMES=all)"
    assert all(e["visible"] for e in data["explorers"]), "controls left hidden (is gfteach-explorer.js served?)"
    dead = [(i, c) for i, e in enumerate(explorers) for c in e["changed"] if not c["changed"]]
    assert dead == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_explorers_show_their_figure_with_javascript_off(browser, server, chapter):
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    page.goto(f"{server}/{chapter}.html", wait_until="load", timeout=60_000)
    boxes = page.eval_on_selector_all(
        ".gft-explorer",
        "els => els.map(b => ({figure: (b.querySelector('img.gft-explorer-frame') || {}).naturalWidth || 0,"
        " controls: !!b.querySelector('.gft-explorer-controls') && b.querySelector('.gft-explorer-controls')"
        ".getBoundingClientRect().height > 0}))",
    )
    context.close()
    assert all(b["figure"] > 0 for b in boxes), "an explorer without its initial figure"
    assert not any(b["controls"] for b in boxes), "controls shown that cannot work without JavaScript"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercises_hint_then_solution_collapsed_on_screen_expanded_in_print(survey, chapter):
    data = survey(chapter)
    exercises = data["exercises"]
    assert len(exercises) >= 3
    assert all(e["solution"] for e in exercises), [e["title"] for e in exercises if not e["solution"]]
    no_hint = [e["title"] for e in exercises if not e["hint"]]
    assert no_hint == [], "exercises without a hint drop-down before the solution"
    assert all(e["hint"]["collapsed"] for e in exercises), "hints must be one click away (collapsed)"
    assert all(data["solution_bodies_hidden"]), "a solution is expanded by default"
    assert not any(data["print_hidden"]), "printed, every solution is expanded"
    assert data["title_click"] == {"url_kept": True, "opened": True}, "clicking a solution's title toggles it"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_grading_markers_and_no_stray_outputs(survey, chapter):
    data = survey(chapter)
    marked = [code.splitlines()[0] for code in data["code"] if MARKERS.search(code)]
    assert marked == [], "grading markers shown (book/_ext/grading_markers.py should remove them)"
    stray = [o for o in data["outputs"] if o in ("True", "False", "None")]
    assert stray == [], "a cell shows a bare True/False/None (end the cell with the checker call, or use `_ = ...`)"


# -- the front door and the reference pages -----------------------------------------------------------


def _chapter_minutes(chapter: str) -> int | None:
    cells = json.loads((ROOT / f"{chapter}.ipynb").read_text())["cells"]
    first = next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), "")
    found = re.search(r"about\s+(\d+)\s+minutes", first, re.IGNORECASE)
    return int(found.group(1)) if found else None


def test_intro_is_a_front_door(survey):
    data = survey(TOC["root"])
    teaser = [f for f in data["figures"] if "teaser" in f["src"]]
    assert teaser and len(teaser[0]["alt"]) > 100 and teaser[0]["natural"] > 0
    assert any(link["href"].rstrip("/") == REPOSITORY for link in data["links"] if link["inArticle"])
    text = data["intro_text"]
    assert "?" in text and "MIT" in text and "@misc" in text and REPOSITORY in text
    assert "measured, not proved" in text  # the bounded-curvature claim keeps the status Chapter 5 gives it
    mismatched = []
    for chapter in CHAPTERS:
        intro, own = data["minutes"].get(Path(chapter).name), _chapter_minutes(chapter)
        if intro is None or (own is not None and own != intro):
            mismatched.append(f"{chapter}: the intro says about {intro} minutes, the chapter says {own}")
    assert mismatched == []


def test_bibliography_links_every_entry_with_readable_labels(built_book):
    problems = []
    for page_name in ["book/bibliography", *CHAPTERS]:
        citations = _citations(built_book / f"{page_name}.html")
        if page_name == "book/bibliography":
            assert len(citations) >= 10, "the bibliography page lists every work"
        for label, links in citations:
            if not re.fullmatch(r"[^\d\[\]]+ \d{4}[a-z]?", label):
                problems.append(f"{page_name}: label {label!r} is not author-year")
            if not any(h.startswith("https://") for h in links):
                problems.append(f"{page_name}: {label} has no DOI/arXiv/URL link")
    assert problems == []


class _Citations(HTMLParser):
    """The entries of a page's reference lists: (label, external links) for each ``div.citation``."""

    def __init__(self):
        super().__init__()
        self.entries, self.depth, self.label_depth, self.current = [], 0, 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "div" and "citation" in classes:
            self.current, self.depth = ["", []], 1
            self.entries.append(self.current)
        elif self.current is not None:
            self.depth += tag == "div"
            if tag == "span" and (self.label_depth or "label" in classes):
                self.label_depth += 1
            if tag == "a" and "external" in classes and attrs.get("href"):
                self.current[1].append(attrs["href"])

    def handle_endtag(self, tag):
        if self.current is None:
            return
        if tag == "span" and self.label_depth:
            self.label_depth -= 1
        if tag == "div":
            self.depth -= 1
            if self.depth == 0:
                self.current = None

    def handle_data(self, text):
        if self.current is not None and self.label_depth and text.strip() not in ("[", "]", ""):
            self.current[0] += text


def _citations(path: Path) -> list[tuple[str, list[str]]]:
    parser = _Citations()
    parser.feed(path.read_text())
    return [(label.strip(), links) for label, links in parser.entries]


# -- the book's own Sphinx extensions (no build needed) -------------------------------------------------


def _extension(name: str):
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def test_grading_markers_are_removed_from_solution_cells_and_nothing_else():
    strip = _extension("grading_markers").strip_markers
    cell = (
        "# BEGIN SOLUTION\n# HINT: the gap at t = 3\ngap = 0.05 * math.exp(3.0) - 0.05 * 1.1**30\n"
        "    ### END SOLUTION\nch02.check_scalar_gap(1.0, 0.05, 0.1, 3.0, gap)"
    )
    assert strip(cell) == "gap = 0.05 * math.exp(3.0) - 0.05 * 1.1**30\nch02.check_scalar_gap(1.0, 0.05, 0.1, 3.0, gap)"
    untouched = "x = 1  # a comment\n# BEGINNING of the solution space\nprint('# HINT: in a string')"
    assert strip(untouched) == untouched
    assert strip("### BEGIN SOLUTION\n### END SOLUTION") == "### BEGIN SOLUTION\n### END SOLUTION"  # never empty


def test_bibliography_labels_are_author_year():
    from pybtex.database import parse_string

    bibstyle = _extension("bibstyle")
    entries = parse_string(
        """@book{h, author = {Hairer, Ernst and N{\\o}rsett, Syvert P. and Wanner, Gerhard}, title = {S}, year = {1993}}
        @article{d, author = {Dormand, John R. and Prince, Peter J.}, title = {F}, year = {1980}}
        @article{s1, author = {Shampine, Lawrence F.}, title = {A}, year = {1986}}
        @article{s2, author = {Shampine, Lawrence F.}, title = {B}, year = {1986}}""",
        "bibtex",
    ).entries
    labels = list(bibstyle.AuthorYearLabels().format_labels(entries.values()))
    assert labels == ["Hairer et al. 1993", "Dormand & Prince 1980", "Shampine 1986a", "Shampine 1986b"]


def test_api_aliases_resolve_re_exports_to_where_they_are_defined():
    aliases = _extension("api_aliases")
    assert aliases.defined_name("gfteach.gradient_flow") == "gfteach.flow.gradient_flow"
    assert aliases.defined_name("gfteach.flow.gradient_flow") is None  # already the documented name
    assert aliases.defined_name("gfteach.no_such_function") is None  # a typo stays a missing reference
