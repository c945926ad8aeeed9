"""The whole pipeline as one fitted object (`Synthesis`) for notebooks and scripts, saved to
and loaded from a folder in open formats. Sits above the stages and the pipeline's
functions, below the CLI."""

from criteria_nlp.synthesis.folder import (
    IncompatibleModelError,
    ModelFolderError,
    TamperedModelError,
)
from criteria_nlp.synthesis.model import NotFittedError, Synthesis

__all__ = ["IncompatibleModelError", "ModelFolderError", "NotFittedError", "Synthesis", "TamperedModelError"]
