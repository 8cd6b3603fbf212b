"""The book as a reader gets it: built with warnings as errors, then every page loaded in Chromium.

The build runs once per test session (``built_book``). The browser checks use Debian's Chromium through
Playwright; screenshots of every page are saved under ``test-artifacts/`` for a human to look at.
MathJax is served by the book itself (book/_ext/offline_mathjax.py), so math must be typeset even
offline. Widget JavaScript still comes from a CDN, so requests to other hosts may fail on an offline
machine: those failures are tolerated, errors from the book's own assets are not.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "test-artifacts"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
ENTRIES = TOC.get("chapters", []) + [c for part in TOC.get("parts", []) for c in part["chapters"]]
PAGES = [TOC["root"]] + [entry["file"] for entry in ENTRIES]
CHAPTERS = [p for p in PAGES if (ROOT / f"{p}.ipynb").exists()]


@pytest.fixture(scope="session")
def built_book():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    assert "WARNING" not in log, log[-5000:]
    return HTML


def test_book_builds_without_warnings_and_has_every_page(built_book):
    for page in PAGES:
        assert (built_book / f"{page}.html").exists(), page
    assert (built_book / "index.html").exists()


@pytest.fixture(scope="session")
def server(built_book):
    handler = functools.partial(QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("GFTEACH_SKIP_BROWSER") == "1":
            pytest.skip("GFTEACH_SKIP_BROWSER=1")
        pytest.fail("the browser test needs Debian's chromium (apt-get install chromium), or GFTEACH_SKIP_BROWSER=1")
    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=flags)
        yield b
        b.close()


def is_local(url: str, base: str) -> bool:
    return not url or url.startswith(base) or urlparse(url).scheme in ("", "data", "blob")


def load(browser, server, page_name):
    """Open one page; return (page, JavaScript errors from the book's own assets)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []

    def on_console(msg):
        if msg.type == "error" and is_local(msg.location.get("url", ""), server):
            # a failed request to a CDN (this machine may be offline) reports its own URL: tolerated
            if "net::ERR_" not in msg.text:
                errors.append(f"console: {msg.text} @ {msg.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "requestfailed",
        lambda req: errors.append(f"failed request {req.url}") if is_local(req.url, server) else None,
    )
    page.goto(f"{server}/{page_name}.html", wait_until="load", timeout=60_000)
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{Path(page_name).name}.png"), full_page=True)
    return page, errors


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders_without_javascript_errors(browser, server, page_name):
    page, errors = load(browser, server, page_name)
    assert page.title() and "Gradient" in page.title()
    if page.locator(".math").count():
        # MathJax is local: every page with math gets typeset, online or not
        page.wait_for_selector("mjx-container", state="attached", timeout=30_000)
        assert page.locator("mjx-container").count() >= page.locator(".math").count()
    assert errors == []
    images = page.eval_on_selector_all("main img", "els => els.map(e => [e.src, e.naturalWidth])")
    for src, width in images:
        if is_local(src, server):
            assert width > 0, f"image did not load: {src}"
    page.close()


@pytest.mark.parametrize("page_name", PAGES)
def test_internal_links_resolve(browser, server, page_name, built_book):
    page, _ = load(browser, server, page_name)
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    page.close()
    for href in hrefs:
        if href.startswith(server):
            path = urlparse(href).path.lstrip("/") or "index.html"
            assert (built_book / path).exists(), f"{page_name}: broken link {href}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_figures_have_alt_text_and_launch_links_point_at_its_notebook(browser, server, chapter):
    page, _ = load(browser, server, chapter)
    images = page.eval_on_selector_all(".cell_output img", "els => els.map(e => e.alt)")
    assert images, "a chapter without figures?"
    assert all(len(alt) > 20 for alt in images), images
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].removeprefix("https://github.com/")
    colab = [h for h in hrefs if "colab.research.google.com" in h]
    binder = [h for h in hrefs if "mybinder.org" in h]
    assert colab == [f"https://colab.research.google.com/github/{repo}/blob/main/{chapter}.ipynb"]
    assert len(binder) == 1 and binder[0].endswith(f"{chapter}.ipynb") and repo in binder[0]
    assert page.locator(".math").count() > 0
    page.close()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_solutions_are_collapsed_by_default(browser, server, chapter):
    page, _ = load(browser, server, chapter)
    solutions = page.locator(".solution")
    assert solutions.count() >= 3
    for i in range(solutions.count()):
        body = solutions.nth(i).locator(".solution-content, section, .section").first
        assert not body.is_visible(), f"solution {i} is expanded by default"
    page.close()
