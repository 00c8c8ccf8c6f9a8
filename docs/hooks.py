"""MkDocs hooks: put the project's own code, numbers and figures into the pages at build time.

Nothing a page shows about the code or the results is copied into ``docs/``; the pages hold
directives that this hook expands when the site is built, so the site cannot drift from the
source:

``[[source QUALNAME]]`` / ``[[source QUALNAME @ PATH-HINT]]``
    The class or function ``QUALNAME`` (``SGD.update_step``, ``clip_by_norm``) as it is in the
    ``numpy_nn`` sources, found with :mod:`ast` by qualified name (not by line numbers, so it
    survives code moving between files); ``PATH-HINT`` (a substring of the path) picks among
    several definitions of the same name.
``[[twin QUALNAME]]``
    The Numba twin registered with ``@twin_of(...QUALNAME)`` in ``numpy_nn/twins/``, with the
    module-level kernels it calls.
``[[parity REGEX]]``
    The rows of ``parity_tests/report.md`` ("Every component") whose component matches REGEX:
    tolerance, worst error seen, number of cases. ``[[parity ?REGEX]]``: the same, saying so
    when no row matches instead of failing the build.
``[[figure EXAMPLE/NAME caption]]``
    ``examples/results/EXAMPLE/NAME.png``; if missing, ``python -m examples.EXAMPLE --quick`` is
    run first to make it. The file is added to the site under ``figures/``.
``[[output EXAMPLE/FILE]]``
    A text file an example writes into ``examples/results/EXAMPLE/`` (made like a figure), as a
    code block.
``[[include PATH]]`` / ``[[include PATH between START END]]``
    A markdown file of the repository (or the part between the marker comments
    ``<!-- START -->`` and ``<!-- END -->``), headings shifted down one level.
``[[notebook PATH]]``
    A Jupyter notebook with its saved outputs, converted to HTML by nbconvert.
``[[worked NAME]]``
    A technique page's worked example, computed now by ``examples.worked_examples.render(NAME)``
    (mostly one training step written out by ``numpy_nn.utils.explain_step``).

Equations and code are linked both ways on every page: a display equation numbered
``\tag{N}`` gets the anchor ``#eq-N`` and, under it, links to the lines of the code shown on
the page whose comment names it ``(eq. N)``; those comments become links back to the equation.

A directive that cannot be expanded is logged as a warning, which ``mkdocs build --strict``
(what ``make docs`` runs) turns into a failed build.
"""
from __future__ import annotations

import ast
import functools
import html
import logging
import os
import re
import subprocess
import sys

log = logging.getLogger("mkdocs.hooks.numpy_nn")

DIRECTIVE = re.compile(r"^\[\[(source|twin|parity|figure|include|notebook|output|worked) "
                       r"(.+?)\]\]\s*$", re.MULTILINE)
FIGURE = re.compile(r"^\[\[figure (\S+?)(?: .*)?\]\]\s*$", re.MULTILINE)
INCLUDE = re.compile(r"^\[\[include ([^\s\]]+)", re.MULTILINE)
#: a markdown link or image whose target is a path (not a URL, not an anchor)
RELATIVE_LINK = re.compile(r"(!?)\[([^\]]*)\]\((?!https?:|#|mailto:)([^)\s]+)\)")
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif")

_state = {"repo": None}


def _repo():
    return _state["repo"]


def _rel(path):
    return os.path.relpath(path, _repo()).replace(os.sep, "/")


# ------------------------------------------------------------------------------ code by name
@functools.cache
def _parsed(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return text.splitlines(), ast.parse(text, filename=path)


def _python_files(under="numpy_nn"):
    root = os.path.join(_repo(), under)
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _find(tree, qualname):
    """The class/function node at dotted ``qualname`` in module ``tree``, or None."""
    nodes = [tree]
    found = None
    for part in qualname.split("."):
        found = None
        for parent in nodes:
            for child in getattr(parent, "body", []):
                if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and child.name == part:
                    found = child
        if found is None:
            return None
        nodes = [found]
    return found


def _definitions(qualname, hint=None, under="numpy_nn"):
    matches = []
    for path in _python_files(under):
        lines, tree = _parsed(path)
        node = _find(tree, qualname)
        if node is not None:
            matches.append((path, lines, node))
    if hint and len(matches) > 1:
        hinted = [m for m in matches if hint in _rel(m[0])]
        matches = hinted or matches
    return matches


def _snippet(path, lines, node):
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    body = lines[start - 1:node.end_lineno]
    indent = min(len(line) - len(line.lstrip()) for line in body if line.strip())
    code = "\n".join(line[indent:] for line in body)
    return (f'```python title="{_rel(path)}, lines {start}-{node.end_lineno}"\n{code}\n```\n')


def expand_source(argument, page):
    qualname, _, hint = (part.strip() for part in argument.partition("@"))
    under = "examples" if hint.startswith("examples") else "numpy_nn"
    matches = _definitions(qualname, hint or None, under)
    if len(matches) != 1:
        where = ", ".join(_rel(m[0]) for m in matches) or "nowhere"
        log.warning("%s: [[source %s]] matches %d definitions (%s)", page, argument,
                    len(matches), where)
        return f"*(source of `{qualname}` not found)*\n"
    return _snippet(*matches[0])


def expand_twin(argument, page):
    target = argument.strip()
    pieces = []
    kernels = {}        # the compiled kernels a twin may call: name -> (path, lines, node)
    for path in _python_files(os.path.join("numpy_nn", "kernels")):
        lines, tree = _parsed(path)
        kernels.update({n.name: (path, lines, n) for n in tree.body
                        if isinstance(n, ast.FunctionDef)})
    for path in _python_files(os.path.join("numpy_nn", "twins")):
        lines, tree = _parsed(path)
        module_functions = {**kernels, **{n.name: (path, lines, n) for n in tree.body
                                          if isinstance(n, ast.FunctionDef)}}
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            registered = [ast.unparse(d.args[0]) for d in node.decorator_list
                          if isinstance(d, ast.Call) and ast.unparse(d.func) == "twin_of"
                          and d.args]
            if not any(r == target or r.endswith("." + target) for r in registered):
                continue
            called = []
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and \
                        sub.func.id in module_functions and sub.func.id != node.name and \
                        sub.func.id not in called:
                    called.append(sub.func.id)
            pieces += [_snippet(*module_functions[name]) for name in called]
            pieces.append(_snippet(path, lines, node))
    if not pieces:
        log.warning("%s: [[twin %s]]: no @twin_of(...%s) in numpy_nn/twins/", page, target,
                    target)
        return f"*(no Numba twin of `{target}` found)*\n"
    return "\n".join(pieces)


# ------------------------------------------------------------------------------ parity
@functools.cache
def _parity_report():
    path = os.path.join(_repo(), "parity_tests", "report.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    header = next((line for line in text.splitlines()
                   if line.startswith("numpy_nn ") and " vs Keras" in line), "")
    rows, in_detail = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            in_detail = line.strip() == "## Every component"
        elif in_detail and line.startswith("| ") and not line.startswith("| component") \
                and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return header, rows


def expand_parity(argument, page):
    header, rows = _parity_report()
    argument = argument.strip()
    optional = argument.startswith("?")
    argument = argument.lstrip("?")
    pattern = re.compile(argument, re.IGNORECASE)
    chosen = [row for row in rows if pattern.search(row[0])]
    if not chosen and optional:
        return (f"No row of the current `parity_tests/report.md` matches `{argument}`: this "
                f"technique has no comparison of its own with Keras there.\n")
    if not chosen:
        log.warning("%s: [[parity %s]] matches no row of parity_tests/report.md", page, argument)
        return "*(no parity row found)*\n"
    table = ["| component | tolerance | worst error seen | cases | result |",
             "|---|---|---|---|---|"]
    table += ["| " + " | ".join(row[:5]) + " |" for row in chosen]
    first_sentence = header.split(". ")[0]
    return (f'<div class="parity" markdown>\n\nFrom `parity_tests/report.md` '
            f"({html.escape(first_sentence)}; errors are relative unless marked σ or "
            f"samples; the [parity report](../reports/parity.md) explains each column):\n\n"
            + "\n".join(table) + "\n\n</div>\n")


# ------------------------------------------------------------------------------ figures
def _figure_path(name, extension=".png"):
    return os.path.join(_repo(), "examples", "results", *name.split("/")) + extension


def _ensure_figure(name, extension=".png"):
    path = _figure_path(name, extension)
    if os.path.exists(path):
        return path
    example = name.split("/")[0]
    out = os.path.dirname(path)
    log.info("numpy_nn docs: running examples.%s --quick to draw %s", example, name)
    env = dict(os.environ, MPLBACKEND="Agg")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([_repo()] + [p for p in env.get("PYTHONPATH", "")
                                                      .split(os.pathsep) if p])
    result = subprocess.run([sys.executable, "-m", f"examples.{example}", "--quick", "--out",
                             out], cwd=_repo(), env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0 or not os.path.exists(path):
        log.warning("examples.%s --quick did not draw %s:\n%s", example, name,
                    result.stderr[-2000:])
        return None
    return path


def expand_output(argument, page):
    name = argument.strip()
    path = _ensure_figure(name, "")
    if path is None:
        log.warning("%s: [[output %s]]: not produced", page, name)
        return "*(output missing)*\n"
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return f'```text title="{_rel(path)}"\n{text.strip()}\n```\n'


def expand_figure(argument, page):
    name, _, caption = argument.strip().partition(" ")
    if not os.path.exists(_figure_path(name)):
        log.warning("%s: [[figure %s]]: no such figure", page, name)
        return f"*(figure {name} missing)*\n"
    depth = page.file.src_uri.count("/")
    link = "../" * depth + f"figures/{name}.png"
    caption = caption.strip() or name
    source = f"examples/{name.split('/')[0]}.py"
    return (f"<figure markdown>\n\n![{caption}]({link})\n\n<figcaption>{caption} — drawn by "
            f"<code>{source}</code> (<code>--quick</code> unless a full run's figure is in "
            f"<code>examples/results/</code>)</figcaption>\n\n</figure>\n")


# ------------------------------------------------------------------------------ includes
def _included_images(path):
    """Repository-relative paths of the images a markdown file of the repository shows."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    base = os.path.dirname(path)
    found = []
    for bang, _, target in RELATIVE_LINK.findall(text):
        full = os.path.normpath(os.path.join(base, target))
        if bang and target.lower().endswith(IMAGE_SUFFIXES) and os.path.exists(full):
            found.append(_rel(full))
    return found


def _relink(text, base, page_uri):
    """Links of an included file, seen from the page: images point to their copy in the site
    (``repo/...``), other repository files become their path in code."""
    depth = page_uri.count("/")

    def replace(match):
        bang, label, target = match.groups()
        full = os.path.normpath(os.path.join(base, target))
        if not os.path.exists(full):
            return match.group(0)
        if bang and target.lower().endswith(IMAGE_SUFFIXES):
            return f"![{label}]({'../' * depth}repo/{_rel(full)})"
        return f"{label} (`{_rel(full)}`)"
    return RELATIVE_LINK.sub(replace, text)


def expand_include(argument, page):
    parts = argument.split()
    path = os.path.join(_repo(), parts[0])
    if not os.path.exists(path):
        log.warning("%s: [[include %s]]: no such file", page, argument)
        return "*(missing)*\n"
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if len(parts) == 4 and parts[1] == "between":
        first, last = f"<!-- {parts[2]} -->", f"<!-- {parts[3]} -->"
        start, end = text.find(first), text.find(last)
        if start < 0 or end < start:
            log.warning("%s: [[include %s]]: markers not found", page, argument)
            return "*(missing)*\n"
        text = text[start + len(first):end]
    text = re.sub(r"^(#{1,5}) ", r"#\1 ", text, flags=re.MULTILINE)
    return _relink(text, os.path.dirname(path), page) + "\n"


def expand_notebook(argument, page):
    import nbformat
    from nbconvert import HTMLExporter

    path = os.path.join(_repo(), argument.strip())
    notebook = nbformat.read(path, as_version=4)
    exporter = HTMLExporter(template_name="basic")
    exporter.exclude_input_prompt = False
    body, _ = exporter.from_notebook_node(notebook)
    body = re.sub(r"<script.*?</script>", "", body, flags=re.DOTALL)
    body = re.sub(r'(<div class="(?:text_cell_render|output_markdown)[^"]*">)(.*?)(</div>)',
                  lambda cell: cell.group(1) + re.sub(
                      r">([^<]*)<", lambda m: ">" + _notebook_math(m.group(1)) + "<",
                      cell.group(2)) + cell.group(3), body, flags=re.DOTALL)
    return f'<div class="notebook-render">\n{body}\n</div>\n'


def _notebook_math(text):
    """Jupyter's inline ``$...$`` (left as is by nbconvert) marked the way arithmatex marks
    math, so MathJax typesets it like the rest of the site (markdown cells and Markdown outputs
    such as ``explain_step``'s table only, text between tags only: code cells keep their
    dollars)."""
    return re.sub(r"(?<![\\$])\$([^$\n]+?)\$",
                  lambda m: '<span class="arithmatex">\\(' + m.group(1) + '\\)</span>', text)


def expand_worked(argument, page):
    if _repo() not in sys.path:
        sys.path.insert(0, _repo())
    from examples import worked_examples
    name = argument.strip()
    if name not in worked_examples.CASES:
        log.warning("%s: [[worked %s]]: no such case (have %s)", page, name,
                    ", ".join(worked_examples.CASES))
        return f"*(worked example `{name}` missing)*\n"
    return '<div class="worked" markdown>\n\n' + worked_examples.render(name) + "\n</div>\n"


EXPANDERS = {"source": expand_source, "twin": expand_twin, "parity": expand_parity,
             "figure": expand_figure, "include": expand_include, "notebook": expand_notebook,
             "output": expand_output, "worked": expand_worked}


# ------------------------------------------------------------------ equations <-> code lines
#: a display equation (its number, if any, is a ``\tag{N}`` inside)
EQUATION = re.compile(r"^\$\$\n(.*?)\n\$\$[ \t]*$", re.S | re.M)
TAG = re.compile(r"\\tag\{(\d+)\}")
#: a fenced code block written by ``_snippet``: its file and first line
SNIPPET = re.compile(r'^```python title="([^"]+), lines (\d+)-\d+"\n(.*?)^```', re.S | re.M)
CODE_TAG = re.compile(r"\(eq\. (\d+)\)")


def code_tags(markdown):
    """``{N: [(path, line), ...]}``: the lines of the page's code blocks tagged ``(eq. N)``."""
    tags = {}
    for match in SNIPPET.finditer(markdown):
        path, first = match.group(1), int(match.group(2))
        for offset, line in enumerate(match.group(3).splitlines()):
            comment = line.partition("#")[2]
            for tag in CODE_TAG.findall(comment):
                tags.setdefault(int(tag), []).append((path, first + offset))
    return tags


def link_equations(markdown, page):
    """Anchor every numbered equation and list, under it, the code lines tagged with it."""
    tags = code_tags(markdown)
    numbers = set()

    def anchor(match):
        tag = TAG.search(match.group(1))
        if tag is None:
            return match.group(0)
        number = int(tag.group(1))
        numbers.add(number)
        lines = tags.get(number, [])
        links = ", ".join(f'<a href="#code-eq-{number}-{k}">{os.path.basename(path)} line '
                          f'{line}</a>' for k, (path, line) in enumerate(lines, 1))
        below = (f'\n<p class="eq-code">Equation ({number}) in the code: {links}</p>\n'
                 if links else "")
        return f'<a id="eq-{number}" class="eq-anchor"></a>\n\n{match.group(0)}\n{below}'

    markdown = EQUATION.sub(anchor, markdown)
    for number in sorted(set(tags) - numbers):
        log.warning("%s: code shown on the page is tagged (eq. %d), which the page does not "
                    "number", page, number)
    return markdown


def link_code(html):
    """Turn each ``(eq. N)`` inside a code comment into a link to the equation, with the anchor
    the equation's list points at (the k-th tagged line of equation N)."""
    counts = {}

    def comment(match):
        def tag(inner):
            number = int(inner.group(1))
            counts[number] = counts.get(number, 0) + 1
            return (f'<a class="eq-link" id="code-eq-{number}-{counts[number]}" '
                    f'href="#eq-{number}">(eq. {number})</a>')
        return CODE_TAG.sub(tag, match.group(0))

    return re.sub(r'<span class="c1">[^<]*</span>', comment, html)


# ------------------------------------------------------------------------------ MkDocs events
def on_config(config):
    _state["repo"] = os.path.dirname(os.path.abspath(config.config_file_path))
    _parsed.cache_clear()
    _parity_report.cache_clear()
    return config


def on_files(files, config):
    """Make the figures the pages ask for, and add them (and MathJax) to the site's files."""
    from mkdocs.structure.files import File

    names, images = [], []
    for file in files.documentation_pages():
        with open(file.abs_src_path, encoding="utf-8") as handle:
            text = handle.read()
        names += [m.group(1) for m in FIGURE.finditer(text)]
        for included in INCLUDE.findall(text):
            if os.path.exists(os.path.join(_repo(), included)):
                images += _included_images(os.path.join(_repo(), included))
    for image in dict.fromkeys(images):
        files.append(File.generated(config, f"repo/{image}",
                                    abs_src_path=os.path.join(_repo(), image)))
    for name in dict.fromkeys(names):
        path = _ensure_figure(name)
        if path:
            files.append(File.generated(config, f"figures/{name}.png", abs_src_path=path))
    for uri, path in _mathjax_files():
        files.append(File.generated(config, uri, abs_src_path=path))
    return files


def _mathjax_files():
    """MathJax 3 (CommonHTML output and its fonts) from the installed ``mathjax`` package,
    served from the site itself: nothing is fetched from a CDN when a page is viewed."""
    try:
        import mathjax
    except ImportError:
        log.warning("MathJax is not installed (pip install 'numpy_nn[docs]'); math will not render")
        return []
    root = os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5")
    wanted = [os.path.join(root, "tex-chtml.js")]
    fonts = os.path.join(root, "output", "chtml", "fonts", "woff-v2")
    wanted += [os.path.join(fonts, name) for name in sorted(os.listdir(fonts))]
    return [("assets/mathjax/" + os.path.relpath(p, root).replace(os.sep, "/"), p)
            for p in wanted]


def on_page_markdown(markdown, page, config, files):
    def expand(match):
        return EXPANDERS[match.group(1)](match.group(2), page.file.src_uri)

    def expand_in_page(match):
        if match.group(1) == "figure":
            return expand_figure(match.group(2), page)
        return expand(match)

    return link_equations(DIRECTIVE.sub(expand_in_page, markdown), page.file.src_uri)


def on_page_content(html, page, config, files):
    return link_code(html)
