"""The review outputs: the REFI-QDA project built in a second process is the one built here."""

import os
import signal

import pandas as pd

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.codebook.refiqda import qdpx_bytes
from criteria_nlp.review.outputs import PROJECT_IN_BACKGROUND_FROM, ProjectInBackground

ANSWERS = pd.DataFrame({
    "id": ["a1", "a2", "a3"], "text": ["un logement\r\ndécent", "=1+1", "la solitude\x07"], "city": "Mulhouse", "group": "",
    "question": "wellbeing", "language": "fr", "code_proposed": ["A03", "A03", ""], "code": ["A03", "D00", ""],
    "code_source": ["model", "analyst", ""], "analyst": ["", "Ana", ""], "cluster": [0, 0, -1], "cluster_source": "discovered",
})
GROUPS = pd.DataFrame([{"cluster": 0, "key": "g-a", "name": "fr: Logement", "levels": "1. pas\x0b de logement", "validated_by": ""}])


def test_the_project_built_in_a_second_process_is_byte_for_byte_the_same():
    codebook = load_codebook("spiral")
    assert ProjectInBackground.start(ANSWERS, codebook, GROUPS) is None  # too small to gain from a process
    background = ProjectInBackground(ANSWERS, codebook, GROUPS)
    assert background.result() == qdpx_bytes(ANSWERS, codebook, GROUPS)
    assert len(ANSWERS) < PROJECT_IN_BACKGROUND_FROM


def test_a_killed_child_costs_the_overlap_not_the_project():
    codebook = load_codebook("spiral")
    background = ProjectInBackground(ANSWERS, codebook, GROUPS)
    for pid in list(background._pool._processes):
        os.kill(pid, signal.SIGKILL)
    assert background.result() == qdpx_bytes(ANSWERS, codebook, GROUPS)
