"""The documentation site, built with MkDocs and checked in a real headless Chromium.

The site is built once (``mkdocs build --strict``, as ``make docs`` does, into
``build/docs-test/site``), served by Python's ``http.server`` on 127.0.0.1 (a free port, in a
thread), and every technique page, every guide and the rendered notebook are opened in Debian's
Chromium through Playwright.
On each page: MathJax has typeset every formula and no raw TeX is left visible; the reference
code blocks are there; every internal link, image, script and stylesheet answers 200; nothing is
requested from any other host (no CDN); the browser logs no console error. A screenshot of
each page is saved in ``build/docs-test/screenshots/``: the whole page when a check on it
failed, to look at, and the first screen otherwise (a full-page capture takes about 2 s, which
over the site's pages came to a third of this test's time). On each technique page
also: a "Derivation" and a "Worked example" section (with its table, built at build time); the
links between equations and code lines resolve, both ways; and at 1280 px no equation or code
block runs past its box.
"""
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse

import pytest

pytest.importorskip("mkdocs", reason="the docs test needs the [docs] extra (mkdocs-material, "
                                     "mkdocstrings[python])")
playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="the browser test needs the [docs] extra (playwright)")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build", "docs-test")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: guides whose point is code shown from the sources
CODE_GUIDES = {"guides/write_your_own_layer/", "guides/gradient_health/"}
#: a directive of docs/hooks.py left in a page (nested arrays such as [[1, 2]] are numbers)
DIRECTIVE = re.compile(r"\[\[(source|twin|parity|figure|include|notebook|output|worked) ")
RAW_TEX = re.compile(r"\\(frac|sqrt|sum|begin|mathcal|lVert|hat|odot)\b|\$\$|\\\(|\\\[")


@pytest.fixture(scope="module")
def site():
    """Build the site (strict: an unexpandable directive or a broken link fails the build)."""
    site_dir = os.path.join(BUILD, "site")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
        NO_MKDOCS_2_WARNING="1")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                             site_dir], cwd=REPO, env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, f"mkdocs build failed:\n{result.stderr[-5000:]}"
    return site_dir


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=site)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pages_under(site, folder):
    root = os.path.join(site, folder)
    return sorted(f"{folder}/{name}/" for name in os.listdir(root)
                  if os.path.exists(os.path.join(root, name, "index.html")))


def test_site_has_a_page_per_technique(site):
    pages = pages_under(site, "techniques")
    expected = {"initializers", "sigmoid", "relu", "leaky_relu", "elu", "selu",
                "batch_normalization", "gradient_clipping", "transfer_learning", "sgd_momentum",
                "adagrad", "rmsprop", "adam", "adamax", "nadam", "schedules", "one_cycle",
                "lr_finder", "l1_l2", "dropout", "alpha_dropout", "mc_dropout", "max_norm",
                "gelu", "silu", "mish"}
    assert expected <= {page.split("/")[1] for page in pages}
    for page in ("notebook", "reports/parity", "reports/benchmarks", "reports/reproduction",
                 "reference/layers", "guides/write_your_own_layer", "guides/gradient_health"):
        assert os.path.exists(os.path.join(site, page, "index.html")), page
    # the MathJax files are part of the site
    assert os.path.exists(os.path.join(site, "assets", "mathjax", "tex-chtml.js"))


def test_pages_in_a_real_browser(site, server):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
                    f"(.ci/run does)")
    pages = pages_under(site, "techniques") + pages_under(site, "guides") + ["notebook/"]
    shots = os.path.join(BUILD, "screenshots")
    os.makedirs(shots, exist_ok=True)
    checked_links = {}
    problems = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        outside, failed, console_errors = [], [], []

        def route(route_request):
            if route_request.request.url.startswith(server):
                return route_request.continue_()
            outside.append(route_request.request.url)
            return route_request.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: console_errors.append(str(error)))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        for path in pages:
            outside.clear(), failed.clear(), console_errors.clear()
            page.goto(server + path, wait_until="load")
            math_count = page.evaluate("""async () => {
                if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
                return document.querySelectorAll('.arithmatex').length; }""")
            typeset = page.evaluate(
                "() => document.querySelectorAll('.arithmatex mjx-container').length")
            text = page.inner_text("article")
            prose = page.evaluate("""() => { const copy = document.querySelector('article')
                                       .cloneNode(true);
                copy.querySelectorAll('pre, code, mjx-container').forEach(e => e.remove());
                return copy.textContent; }""")
            code = page.evaluate("""() => Array.from(document.querySelectorAll('article pre code'))
                                        .map(c => c.innerText)""")
            images = page.evaluate("""() => Array.from(document.querySelectorAll('article img'))
                                          .map(i => [i.getAttribute('src'), i.naturalWidth])""")
            links = page.evaluate("""() => Array.from(document.querySelectorAll('a[href]'))
                                         .map(a => a.href)""")
            where = f"{path}:"
            problems_before = len(problems)
            technique = path.startswith("techniques/") and path != "techniques/index/"
            if typeset < math_count or (technique and math_count == 0):
                problems.append(f"{where} {typeset} of {math_count} formulas typeset by MathJax")
            raw = RAW_TEX.search(prose)     # TeX inside code blocks (docstrings) is code
            if raw:
                problems.append(f"{where} raw TeX left visible: "
                                f"{prose[max(raw.start() - 40, 0):raw.end() + 40]!r}")
            if DIRECTIVE.search(prose) or "not found)" in prose or "missing)" in prose:
                problems.append(f"{where} an unexpanded or failed directive")
            if (technique or path in CODE_GUIDES) and not code:
                problems.append(f"{where} no code block")
            if technique:
                if not any("def " in block or "class " in block for block in code):
                    problems.append(f"{where} no reference code block")
                if "Parity with Keras 3" not in text:
                    problems.append(f"{where} no parity section")
                if not images:
                    problems.append(f"{where} no figure")
                problems += [f"{where} {problem}" for problem in technique_page_problems(page)]
            problems += [f"{where} image {src} did not load" for src, width in images if width == 0]
            problems += [f"{where} console error: {message}" for message in console_errors]
            problems += [f"{where} request outside the site: {url}" for url in outside]
            problems += [f"{where} {status}" for status in failed]
            page.screenshot(path=os.path.join(shots, path.strip("/").replace("/", "_") + ".png"),
                            full_page=len(problems) > problems_before
                            and path != "notebook/")    # the notebook is very long
            for link in links:
                url = link.split("#")[0]
                if not url.startswith(server) or url in checked_links:
                    continue
                response = context.request.get(url)
                checked_links[url] = response.status
                if response.status != 200:
                    problems.append(f"{where} link {url} answered {response.status}")
        browser.close()
    assert not problems, "\n".join(problems)
    assert len(os.listdir(shots)) >= len(pages)
    # the links checked cover the whole navigation, not just the visited pages
    assert any(urllib.parse.urlparse(url).path.startswith("/reference/") for url in checked_links)


def technique_page_problems(page):
    """What a technique page's derivation, worked example and equation <-> code links lack."""
    found = page.evaluate("""() => {
        const headings = Array.from(document.querySelectorAll('article h2'))
                              .map(h => h.textContent.replace('¶', '').trim());
        const worked = document.querySelector('article .worked table');
        const links = Array.from(document.querySelectorAll(
            'article a[href^="#eq-"], article a[href^="#code-eq-"]'));
        const broken = links.filter(a => !document.getElementById(
            a.getAttribute('href').slice(1))).map(a => a.getAttribute('href'));
        const codeLinks = document.querySelectorAll('article pre code a.eq-link').length;
        const wide = [];
        document.querySelectorAll('article div.arithmatex, article pre > code').forEach(e => {
            if (e.scrollWidth > e.clientWidth + 1) wide.push(e.textContent.slice(0, 50)); });
        return {headings, workedRows: worked ? worked.querySelectorAll('tr').length : 0,
                broken, codeLinks, links: links.length, wide}; }""")
    problems = []
    for section in ("Derivation", "Worked example"):
        if section not in found["headings"]:
            problems.append(f"no {section!r} section")
    if found["workedRows"] < 3:
        problems.append("the worked example has no table")
    problems += [f"link {href} points at nothing" for href in found["broken"]]
    if found["codeLinks"] and found["links"] <= found["codeLinks"]:
        problems.append("code links to equations that list no code")
    problems += [f"runs past its box at 1280 px: {text!r}" for text in found["wide"]]
    return problems
