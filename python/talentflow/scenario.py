"""Scenarios: an embedded world, a file or TOML text, plus overrides and policies set in code."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Union

from . import _native

#: What ``Scenario.load`` takes: an embedded name (``"world2025"``, ``"toy3"``), a path, or
#: TOML text.
Source = Union[str, "os.PathLike[str]"]

_EMBEDDED = ("world2025", "toy3")


def _kind(source: Source) -> tuple[str, str]:
    """(kind, text) of a source, decided as the command line decides (a file shadows an
    embedded name), with TOML text recognised by its newlines or ``=``."""
    if isinstance(source, os.PathLike):
        return "named", os.fspath(source)
    if not isinstance(source, str):
        raise TypeError(f"a scenario source is a name, a path or TOML text, not {type(source).__name__}")
    if "\n" in source:
        return "text", source
    if _is_file(source) or source in _EMBEDDED:
        return "named", source
    if "=" in source:
        return "text", source
    # A path that does not exist: the loader says so, as `talentflow run` does.
    return "named", source


def _is_file(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # too long for a path, or a NUL byte
        return False


class Scenario:
    """A scenario to run: a source (embedded name, file or TOML text), ``--set``-style
    overrides, and policies added in code.

    ``set`` and ``add_policy`` change the scenario in place and return it, so calls chain;
    :meth:`validate` (and every run) resolves it with the library's loader, which checks
    everything and lists every problem with the CLI's messages. ``copy()`` gives an independent
    scenario. Scenarios pickle (Dask, multiprocessing).

    >>> s = Scenario.load("toy3").set("innovation.lambda", 0.9).set({"world.years": 2})
    >>> s.overrides
    ['innovation.lambda=0.9', 'world.years=2']
    """

    __slots__ = ("_kind", "_source", "_overrides", "_policies", "_resolved")

    def __init__(
        self,
        kind: str,
        source: str,
        overrides: Iterable[str] = (),
        policies: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        if kind not in ("named", "text"):
            raise ValueError(f"kind must be 'named' or 'text', not {kind!r}")
        self._kind = kind
        self._source = source
        self._overrides: list[str] = list(overrides)
        self._policies: list[dict[str, Any]] = [dict(p) for p in policies]
        self._resolved: _native.NativeScenario | None = None

    # -- making one ------------------------------------------------------------------------

    @classmethod
    def load(cls, source: Source) -> Scenario:
        """Loads and checks a scenario: ``"world2025"`` / ``"toy3"`` (embedded), a path to a
        TOML file, or TOML text. Raises :class:`~talentflow.errors.ScenarioError` listing
        every problem."""
        kind, text = _kind(source)
        scenario = cls(kind, text)
        scenario.validate()
        return scenario

    @classmethod
    def from_toml(cls, text: str) -> Scenario:
        """A scenario from TOML text (checked at once)."""
        scenario = cls("text", text)
        scenario.validate()
        return scenario

    def copy(self) -> Scenario:
        """An independent copy (same source, overrides and policies)."""
        return Scenario(self._kind, self._source, self._overrides, self._policies)

    # -- changing it -----------------------------------------------------------------------

    def set(self, key: str | Mapping[str, Any], value: Any = None, /) -> Scenario:
        """Sets ``key`` to ``value`` as ``--set key=value`` does (``country.SAU.openness``,
        ``startups.round_m``…), or every pair of a mapping, in order. Values are Python
        numbers, booleans, strings, lists or dicts. Checked when the scenario is next
        resolved (:meth:`validate`, a run). Returns the scenario."""
        pairs: Iterable[tuple[str, Any]]
        if isinstance(key, Mapping):
            if value is not None:
                raise TypeError("set(mapping) takes no value")
            pairs = key.items()
        else:
            pairs = [(key, value)]
        for k, v in pairs:
            if not isinstance(k, str):
                raise TypeError(f"keys are strings such as 'innovation.lambda', not {k!r}")
            self._overrides.append(f"{k}={_native.toml_value(v)}")
        self._resolved = None
        return self

    def add_policy(self, **fields: Any) -> Scenario:
        """Adds a policy, with the keys of a ``[[policy]]`` table: ``country``, ``kind``,
        ``from_year``, ``to_year`` and ``budget_bn`` / ``partner`` + ``strength`` / ``value``.
        Returns the scenario.

        >>> s = Scenario.load("toy3").add_policy(
        ...     country="NEW", kind="infrastructure", from_year=2025, to_year=2030, budget_bn=5.0)
        """
        self._policies.append(dict(fields))
        self._resolved = None
        return self

    # -- reading it ------------------------------------------------------------------------

    def _native(self) -> _native.NativeScenario:
        if self._resolved is None:
            self._resolved = _native.resolve(self._kind, self._source, self._overrides, self._policies)
        return self._resolved

    def validate(self) -> Scenario:
        """Checks the scenario; raises :class:`~talentflow.errors.ScenarioError` with every
        problem (the message of ``talentflow validate``). Returns the scenario."""
        self._native()
        return self

    def to_toml(self) -> str:
        """The resolved scenario as TOML: every parameter, defaults filled in, loadable again."""
        return self._native().to_toml()

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as a dict (its canonical JSON)."""
        result: dict[str, Any] = json.loads(self._native().to_json())
        return result

    def get(self, key: str) -> Any:
        """The resolved value of a key path: ``innovation.lambda``, ``world.agents``,
        ``country.SAU.openness`` (a country by code or index)."""
        node: Any = self.to_dict()
        parts = key.split(".")
        i = 0
        while i < len(parts):
            part = parts[i]
            if part in ("country", "partnership", "policy") and isinstance(node, dict) and part in node:
                items = node[part]
                i += 1
                if i >= len(parts):
                    return items
                ref = parts[i]
                if ref.isdigit() and int(ref) < len(items):
                    node = items[int(ref)]
                else:
                    match = [c for c in items if isinstance(c, dict) and c.get("code") == ref]
                    if not match:
                        raise KeyError(f"{key}: no {part} {ref!r}")
                    node = match[0]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise KeyError(f"{key}: no key {part!r}")
            i += 1
        return node

    @property
    def overrides(self) -> list[str]:
        """The overrides, as ``key=value`` texts (what ``--set`` would be given)."""
        return list(self._overrides)

    @property
    def policies(self) -> list[dict[str, Any]]:
        """Policies added in code (the scenario's own are in :meth:`to_dict`)."""
        return [dict(p) for p in self._policies]

    @property
    def source(self) -> str:
        """Where the scenario came from, as manifests name it (``<embedded world2025>``, a path)."""
        return self._native().source

    @property
    def countries(self) -> list[str]:
        """Country codes, in output order."""
        return self._native().codes

    @property
    def ticks(self) -> int:
        """Ticks simulated."""
        return self._native().ticks

    @property
    def years(self) -> list[float]:
        """Calendar year of every recorded row (``ticks + 1`` values)."""
        return self._native().years()

    @property
    def seed(self) -> int:
        """The scenario's own seed (``world.seed``): what a run uses unless given one."""
        return self._native().world_seed

    @property
    def hash(self) -> str:
        """blake3 of the resolved scenario (as in manifests)."""
        return self._native().hash()

    # -- Python protocol -------------------------------------------------------------------

    def __repr__(self) -> str:
        shown = self._source if self._kind == "named" else "<TOML text>"
        parts = [repr(shown)]
        parts += [f"set {o}" for o in self._overrides]
        parts += [f"policy {p.get('kind', '?')} {p.get('country', '?')}" for p in self._policies]
        return f"Scenario({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __getstate__(self) -> tuple[str, str, list[str], list[dict[str, Any]]]:
        return (self._kind, self._source, self._overrides, self._policies)

    def __setstate__(self, state: tuple[str, str, list[str], list[dict[str, Any]]]) -> None:
        self._kind, self._source, self._overrides, self._policies = state
        self._resolved = None


def as_scenario(scenario: Scenario | Source) -> Scenario:
    """A :class:`Scenario` from a scenario or anything :meth:`Scenario.load` takes."""
    if isinstance(scenario, Scenario):
        return scenario
    return Scenario.load(scenario)
