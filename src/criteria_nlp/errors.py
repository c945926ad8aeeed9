"""Named errors. Every user-facing failure is a CriteriaNLPError whose message is one line
that says what is wrong and how to fix it; the CLI prints it and exits with code 2."""

from __future__ import annotations


class CriteriaNLPError(Exception):
    """Base class for errors caused by the user's input or setup (never a bug)."""


class InputError(CriteriaNLPError):
    """The answers table cannot be read or does not have what the command needs."""


class CodebookError(CriteriaNLPError):
    """The codebook file is missing, malformed or inconsistent."""


class ModelError(CriteriaNLPError):
    """The embedding model cannot be prepared or loaded (offline conversion failed...)."""


class OutputError(CriteriaNLPError):
    """An output directory cannot be written (locked by another run, not writable...)."""
