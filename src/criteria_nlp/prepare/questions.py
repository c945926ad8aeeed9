"""Which SPIRAL question an answer replies to (well-being, ill-being, action), from the
question column's label in any of the shipped languages."""

from __future__ import annotations

import re

_QUESTION_PATTERNS = [
    ("action", r"\baction|\bdo\b|\bdoes\b|\bfai(s|t|tes|re)\b|\bdoe[nt]?\b|\bfa(re|te|i|ccio)\b|\bfaz|\bdar[aāī]|дела|κάν|\bgör|^q\s*3$|^3$"),
    ("illbeing", r"\bill\b|ill-?being|\bmal\b|mal-?(être|etre)|malessere|mal-?estar|onwelzijn|nelabkl|неблагополуч|κακοδαιμον|δυσφορ|illamående|ohälsa|^q\s*2$|^2$"),
    ("wellbeing", r"well-?being|\bwell\b|bien-?(être|etre)|welzijn|benessere|bem-?estar|labklāj|благополуч|ευημερ|ευεξ|välbefinnande|välmående|^q\s*1$|^1$"),
]


def question_kind(value: str) -> str:
    """'wellbeing', 'illbeing' or 'action' for a SPIRAL question label in any of the
    shipped languages (or Q1/Q2/Q3, 1/2/3); '' when it cannot be told."""
    text = str(value or "").strip().lower()
    if not text:
        return ""
    for kind, pattern in _QUESTION_PATTERNS:
        if re.search(pattern, text):
            return kind
    return ""
