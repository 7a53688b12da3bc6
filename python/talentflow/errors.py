"""Exceptions raised by talentflow.

Every error the library reports becomes one of these, with the message the command line
prints after ``error:`` (the same text, so a message seen in a notebook can be looked up in
the README and vice versa). ``Interrupted`` is a ``KeyboardInterrupt``: Ctrl-C during a long
call stops it between ticks and raises it, with what was done in the message.
"""

from __future__ import annotations


class TalentflowError(Exception):
    """Base class of every talentflow error (not of ``Interrupted``)."""


class ScenarioError(TalentflowError, ValueError):
    """An invalid scenario: every problem, each with its location, key and message.

    ``problems`` holds ``(location, key, message)`` tuples in document order; ``str(e)`` is
    the message of ``talentflow validate``.
    """

    problems: list[tuple[str, str, str]]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.problems = []


class OutcomeError(TalentflowError, ValueError):
    """An outcome expression that does not parse or does not fit the scenario."""


class EvaluateError(TalentflowError, ValueError):
    """A batch that cannot be evaluated (shapes, keys, or points giving invalid scenarios)."""


class ExperimentError(TalentflowError, ValueError):
    """An invalid experiment file or dict (every problem listed), or a failed experiment."""


class SweepError(TalentflowError, ValueError):
    """An invalid sweep, a sweep directory holding another sweep, or incomplete results."""


class DiscoverError(TalentflowError, ValueError):
    """Scenario discovery that cannot run: a condition that does not parse, an outcome the
    sweep lacks, settings out of range, or an incomplete sweep."""


class CalibrateError(TalentflowError, ValueError):
    """An invalid calibration file (every problem named by its field), a θ that cannot be
    evaluated, or a directory holding another calibration."""


class RunDirError(TalentflowError):
    """A directory that is not a finished run or experiment, or whose files were modified."""


class OutputError(TalentflowError):
    """Outputs that cannot be written: an existing directory, I/O, or non-finite values."""


class Interrupted(KeyboardInterrupt):
    """A long call stopped by Ctrl-C (or another ``KeyboardInterrupt`` from a signal handler).

    The message says how far it got; ``__cause__`` is the original ``KeyboardInterrupt``.
    """


__all__ = [
    "TalentflowError",
    "ScenarioError",
    "OutcomeError",
    "EvaluateError",
    "ExperimentError",
    "SweepError",
    "DiscoverError",
    "CalibrateError",
    "RunDirError",
    "OutputError",
    "Interrupted",
]
