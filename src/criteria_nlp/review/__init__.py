"""The human validation round-trip: a review workbook for analysts, its import, an
append-only decision store, and the step that re-applies every decision on later runs.

Decisions about answers are anchored to answer ids. Decisions about criteria groups are
anchored to the group's members: cluster ids are renumbered whenever answers are added, so
a group is known by a key derived from its member ids when it was first decided, and from
then on it *is* its recorded members. A validated group keeps its cluster id on later runs,
its members stay in it, new answers are proposed into it when they are as close to it as
its own members are, and no other group can take its id. Anything that no longer applies
(an answer removed from the input, a merge into a group that was undone) is reported."""

from criteria_nlp.review.apply import (
    apply_answer_decisions,
    apply_group_decisions,
    group_names,
    review_tables,
    write_decisions_report,
)
from criteria_nlp.review.importer import ImportResult, ReviewError, import_review
from criteria_nlp.review.state import AnswerState, DecisionState, GroupState, group_key
from criteria_nlp.review.store import STORE_NAME, DecisionStore, DecisionStoreError
from criteria_nlp.review.workbook import build_review_workbook, save_snapshot

__all__ = ['DecisionStore', 'DecisionStoreError', 'STORE_NAME', 'DecisionState', 'GroupState', 'AnswerState', 'group_key', 'apply_answer_decisions', 'apply_group_decisions', 'group_names', 'review_tables', 'write_decisions_report', 'build_review_workbook', 'save_snapshot', 'ReviewError', 'ImportResult', 'import_review']
