"""Assigning answers to the codebook: zero-shot from the codes' own texts, or learned from
the analysts' manual codes; both give a calibrated confidence and may abstain."""

from criteria_nlp.assign.base import assignment_table, softmax
from criteria_nlp.assign.learned import LearnedAssigner, learned_assign
from criteria_nlp.assign.training import pick_shots, read_training
from criteria_nlp.assign.zero_shot import (
    PrototypeAssigner,
    ZeroShotAssigner,
    zero_shot_assign,
)

__all__ = ['softmax', 'assignment_table', 'PrototypeAssigner', 'ZeroShotAssigner', 'zero_shot_assign', 'LearnedAssigner', 'learned_assign', 'read_training', 'pick_shots']
