"""criteria-nlp: multilingual citizen answers to coded well-being criteria."""

__version__ = "0.1.0"
