"""criteria-nlp: multilingual citizen answers to coded well-being criteria."""

__version__ = "0.1.0"

# Public API (re-exported; heavy libraries load only when used).
from .assign import ZeroShotAssigner, zero_shot_assign  # noqa: E402
from .discover import Discoverer, discover_within_codes  # noqa: E402
from .evaluate import cluster_metrics, code_metrics, coverage_curve, cross_lingual_consistency  # noqa: E402
from .learn import LearnedAssigner, learned_assign  # noqa: E402
