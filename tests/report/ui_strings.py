"""The report's English interface phrases that a catalogue words differently: none of them
may be left in a translated report (read by the HTML test and the browser test)."""

import re

from babel.messages.pofile import read_po

from criteria_nlp.i18n import LOCALE_DIR


def english_ui_strings(language: str) -> set[str]:
    """The report's English messages that `language` words differently, long enough to be
    recognised in running text."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "criteria_nlp.po").open("rb") as f:
        catalogue = read_po(f)
    found = set()
    for message in catalogue:
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for msgid in ids:
            for part in re.split(r"%\(\w+\)s|<[^>]+>|%%", msgid):
                part = part.strip(" :;,.()")
                if len(part.split()) >= 2 and not any(part in s for s in strings):
                    found.add(part)
    return found
