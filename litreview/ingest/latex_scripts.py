"""LaTeX sub- and superscripts as Unicode: ``CO$_2$`` is CO₂, ``10$^{-3}$`` is 10⁻³.

In math (``$x^{2}$``, ``$x_i$``) and in text (``\\textsuperscript{th}``,
``H\\textsubscript{2}O``). A script becomes Unicode when every character of it has a
superscript or subscript form: digits, ``+ - = ( )``, most Latin letters (no
subscript capitals; no superscript q, C, F, Q, S, X, Y, Z) and a few Greek ones;
``^{\\circ}`` is a degree sign. Otherwise it stays readable as it was written,
without braces: ``T_c`` keeps its ``_``, and a script of several characters is put
in parentheses (``Cu_(0.5)``, ``e^(iπ)``), so that where it ends is not lost.
"""

from __future__ import annotations

import re

SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφχ\u2212\u2218",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾"
        "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ"
        "ᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ"
        "ᵅᵝᵞᵟᵋᶿᶥᵠᵡ"
        "⁻°",  # a raised ring (^\\circ) is a degree sign
        strict=True,
    )
)
SUBSCRIPTS = dict(
    zip(
        "0123456789+-=()aehijklmnoprstuvxβγρφχ\u2212",
        "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ₋",
        strict=True,
    )
)

# ^ or _ and what it applies to: a group (one level of inner braces allowed), a
# command word, or one character.
_MATH_SCRIPT = re.compile(r"([_^])\s*(?:\{((?:[^{}]|\{[^{}]*\})*)\}|(\\[A-Za-z]+)|([^\s{}\\$]))")
_TEXT_SCRIPT = re.compile(r"\\text(super|sub)script\s*\{((?:[^{}]|\{[^{}]*\})*)\}")


def _scripted(mark: str, content: str) -> str:
    """``content`` raised (``^``) or lowered (``_``): Unicode if it can be, else readable."""
    content = content.replace("{", "").replace("}", "").strip()
    if not content:
        return ""
    table = SUPERSCRIPTS if mark == "^" else SUBSCRIPTS
    if " " not in content and all(char in table for char in content):
        return "".join(table[char] for char in content)
    return f"{mark}{content}" if len(content) == 1 else f"{mark}({content})"


def math_scripts(math: str) -> str:
    """The ``^`` and ``_`` scripts of a math text as Unicode where Unicode has them."""
    if "^" not in math and "_" not in math:
        return math
    return _MATH_SCRIPT.sub(
        lambda m: _scripted(m.group(1), m.group(2) or m.group(3) or m.group(4) or ""), math
    )


def text_scripts(text: str) -> str:
    """``\\textsuperscript{..}`` and ``\\textsubscript{..}`` as Unicode where it has them."""
    if "\\text" not in text:
        return text
    return _TEXT_SCRIPT.sub(
        lambda m: _scripted("^" if m.group(1) == "super" else "_", m.group(2)), text
    )
