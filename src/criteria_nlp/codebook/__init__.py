"""The codebook (families, components, labels in many languages) and its formats:
YAML, CSV and REFI-QDA."""

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.codebook.model import Code, Codebook
from criteria_nlp.codebook.refiqda import read_qdc, write_qdc, write_qdpx

__all__ = ['Code', 'Codebook', 'load_codebook', 'read_qdc', 'write_qdc', 'write_qdpx']
