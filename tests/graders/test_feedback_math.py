"""LaTeX in markdown becomes MathML that survives nbconvert's markdown rendering;
code, prices and formulas latex2mathml cannot read are left as written."""

from __future__ import annotations

from nbconvert.filters.markdown_mistune import markdown2html_mistune

from dlcourse_graders.feedback_math import render_math


def test_formulas_become_mathml_and_everything_else_stays():
    markdown = (
        "The loss $\\sigma(z)_i * y_i$ and\n\n"
        "$$L = \\frac{1}{N} \\sum_i \\ell_i$$\n\n"
        "* a list item with \\(x^2\\)\n\n"
        "Code `np.where(x > 0, x, 0) # costs $5$` and a price of 5$ or \\$3, "
        "and a broken $\\frac{1}{$ formula.\n\n"
        "```python\nprint('$a$')\n```\n"
    )
    rendered = render_math(markdown)
    html = markdown2html_mistune(rendered)
    assert html.count("<math") == 3
    assert '<math display="block"><mrow><mi>L</mi>' in html
    assert "<li>a list item with <math display=\"inline\">" in html
    # markdown acts on nothing inside a formula: the * and _ stay symbols, not emphasis
    assert "<em>" not in html and "<mo>*</mo>" in html
    assert "<code>np.where(x &gt; 0, x, 0) # costs $5$</code>" in html
    assert "```python\nprint('$a$')\n```" in rendered and "5$ or" in html
    assert "$\\frac{1}{$" in rendered, "an unreadable formula is left for the reader"
    assert "http" not in rendered, "no namespace URL: HTML does not need one"
