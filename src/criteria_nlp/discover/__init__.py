"""Discovery: criteria groups among answers, by spectral clustering of a neighbour graph."""

from criteria_nlp.config import UNASSIGNED
from criteria_nlp.discover.discoverer import (
    Discoverer,
    KMeansDiscoverer,
    cluster_summary,
    discover_within_codes,
)

__all__ = ['UNASSIGNED', 'Discoverer', 'KMeansDiscoverer', 'discover_within_codes', 'cluster_summary']
