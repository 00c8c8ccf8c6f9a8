"""Griffe extension for the API reference: numpy_nn's docstrings write math the reStructuredText
way (``.. math::`` blocks and ``:math:`...``` roles, readable in ``help()``); the site renders
math with pymdownx.arithmatex, so they are rewritten to ``$$...$$`` and ``$...$`` here, and
``:class:`x``` / ``:func:`x``` / ``:mod:`x``` / ``:meth:`x``` roles become code spans."""
from __future__ import annotations

import re

import griffe

ROLE_MATH = re.compile(r":math:`([^`]+)`")
DOUBLE_BACKTICKS = re.compile(r"(?<!`)``(?!`)(.+?)(?<!`)``(?!`)")
ROLE_REF = re.compile(r":(?:class|func|mod|meth|attr|data|obj|exc):`~?([^`]+)`")


def rst_math_to_markdown(text):
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith(".. math::"):
            indent = len(line) - len(stripped)
            body = [stripped[len(".. math::"):].strip()]
            i += 1
            while i < len(lines) and (not lines[i].strip()
                                      or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i].strip())
                i += 1
            math = " ".join(part for part in body if part)
            out += ["", " " * indent + "$$", " " * indent + math, " " * indent + "$$", ""]
            continue
        out.append(line)
        i += 1
    text = "\n".join(out)
    text = ROLE_MATH.sub(lambda m: "$" + m.group(1) + "$", text)
    text = ROLE_REF.sub(lambda m: "`" + m.group(1) + "`", text)
    return DOUBLE_BACKTICKS.sub(lambda m: "`" + m.group(1) + "`", text)


class RstMath(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = rst_math_to_markdown(obj.docstring.value)
