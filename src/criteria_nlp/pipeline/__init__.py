"""Orchestration: `run` calls the stages in order; the single-stage commands' plain functions."""

from criteria_nlp.pipeline.run import RunResult, run_pipeline

__all__ = ['RunResult', 'run_pipeline']
