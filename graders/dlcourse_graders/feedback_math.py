"""LaTeX in feedback, rendered to MathML when the feedback is written.

Feedback pages open in JupyterLab's HTML viewer, a sandboxed iframe where
scripts do not run, and nothing may be fetched from a CDN; MathJax is out on
both counts. Browsers render MathML natively, so the markdown cells' ``$...$``
and ``$$...$$`` (and ``\\(...\\)``, ``\\[...\\]``) become ``<math>`` elements
before nbconvert turns the markdown into HTML. Code spans and fenced code
are left alone, and a formula latex2mathml cannot parse stays as written.
"""

from __future__ import annotations

import re
from typing import Any

from latex2mathml.converter import convert
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool

# One alternation, scanned left to right, so that code is consumed before any
# dollar inside it could be taken for math.
_TOKENS = re.compile(
    r"(?P<fence>^[ \t]*(?P<ticks>```+|~~~+)[^\n]*\n.*?^[ \t]*(?P=ticks)[ \t]*$)"
    r"|(?P<code>(?P<bt>`+).+?(?P=bt))"
    r"|(?P<escaped>\\\$)"
    r"|\$\$(?P<display>.+?)\$\$"
    r"|\\\[(?P<display2>.+?)\\\]"
    r"|\\\((?P<inline2>.+?)\\\)"
    r"|(?<![\w$])\$(?P<inline>[^\s$](?:[^$\n]|\n(?!\s*\n))*?)(?<!\s)\$(?![\w$])",
    re.DOTALL | re.MULTILINE,
)
_TEXT = re.compile(r">([^<]+)<")
# Characters markdown would still act on inside the element's text.
_MARKDOWN = {ch: f"&#{ord(ch)};" for ch in "\\`*_[]~|$"}


def _shield(text: str) -> str:
    return "".join(_MARKDOWN.get(ch, ch) for ch in text)


def latex_to_mathml(latex: str, display: bool) -> str | None:
    """``latex`` as one line of MathML (no namespace URL, which HTML does not need),
    or None when latex2mathml cannot parse it."""
    try:
        mathml = convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds; the formula then stays as text
        return None
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "").replace("\n", "")
    return _TEXT.sub(lambda m: ">" + _shield(m.group(1)) + "<", mathml)


def render_math(markdown: str) -> str:
    """``markdown`` with every formula replaced by its MathML."""

    def replace(match: re.Match[str]) -> str:
        groups = match.groupdict()
        for name, display in (("display", True), ("display2", True), ("inline", False), ("inline2", False)):
            if groups[name] is not None:
                mathml = latex_to_mathml(groups[name], display)
                if mathml is None:
                    return match.group(0)
                return mathml
        return match.group(0)

    return _TOKENS.sub(replace, markdown)


class MathToMathML(Preprocessor):
    """Render the LaTeX of markdown cells as MathML (see the module docstring)."""

    enabled = Bool(True, help="on whenever it is listed").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int):
        if cell.cell_type == "markdown":
            cell.source = render_math(cell.source)
        return cell, resources
