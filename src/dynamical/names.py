"""Names people read (robot, key, zone, skill names): printable text that shows what it says.

A bidirectional control (U+202E turns ``gpj.exe`` around) or a zero-width character makes two
different names look the same, or one look like another, in the dashboard, the CLI and the audit
log. So a display name refuses every character of Unicode's control (Cc), format (Cf: the bidi
controls, zero-width space/joiners, BOM, soft hyphen), surrogate (Cs), private-use (Co) and
unassigned (Cn) categories, and the line and paragraph separators (Zl, Zp).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
MAX_NAME_CHARS = 128


def invisible_characters(text: str) -> list[str]:
    """``U+XXXX NAME`` of each character of ``text`` a display name may not hold, in order."""
    found = []
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            name = unicodedata.name(char, "unnamed")
            found.append(f"U+{ord(char):04X} {name}")
    return found


def check_display_name(text: str, what: str = "name") -> str:
    """``text`` if it is 1 to 128 visible characters; ValueError naming the first problem otherwise."""
    if not text.strip():
        raise ValueError(f"{what} must not be empty or only spaces")
    if len(text) > MAX_NAME_CHARS:
        raise ValueError(f"{what} is {len(text)} characters; at most {MAX_NAME_CHARS}")
    refused = invisible_characters(text)
    if refused:
        raise ValueError(
            f"{what} holds control, bidirectional or invisible characters ({', '.join(refused[:3])}): "
            "use printable characters only"
        )
    return text


DisplayName = Annotated[str, AfterValidator(check_display_name)]
"""A pydantic type for a display name."""
