"""The gate policy: a TOML file read with tomllib, validated against the check registry.

Sections are ``[thresholds]`` and ``[baseline]`` (their keys come from ``checks.CHECKS``) and
``[options]``. Missing keys are not checked; an unknown section or key, or a value of the
wrong type or range, is an InputError naming the file and the key, so typos never pass
silently. The format is documented in ``examples/policy.toml``.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen.errors import InputError
from reportgen.gating.checks import CHECKS
from reportgen.gating.limits import LimitKind, RecallLimits
from reportgen.loading.limits import MB, require_regular_file
from reportgen.severity import Severity

SECTIONS = ("thresholds", "baseline", "options")
MAX_POLICY_KB = 1024  # a policy is a few hundred bytes; anything this big is not one
OPTIONS: dict[str, type] = {"use_ci": bool}


@dataclass(frozen=True)
class Policy:
    """A validated policy. ``limits`` maps a ``CHECKS`` key to its parsed limit.

    Limits are fractions 0–1 (``fraction``), percentage points 0–100 (``points``), a
    severity name (``severity``) or ``RecallLimits`` (``recall``).
    """

    limits: Mapping[str, Any] = field(default_factory=dict)
    use_ci: bool = False
    source: str = "policy"
    # reportgen's own default, applied because no policy was given (``gating.defaults``): in a
    # run without attributions its audit-only checks are skipped, not failed, as nobody asked.
    default: bool = False

    @property
    def name(self) -> str:
        """The policy as the terminal and the report name it: its file, or the default."""
        return f"the default policy ({self.source})" if self.default else self.source

    @property
    def baseline_keys(self) -> list[str]:
        """The ``[baseline]`` keys set: a non-empty list means a baseline summary is needed."""
        return [key for key in self.limits if CHECKS[key].section == "baseline"]

    def skipped_without_baseline(self, baseline: Mapping[str, Any] | None) -> list[str]:
        """The ``[baseline]`` keys that cannot run because no baseline summary was given.

        They are reported as skipped checks (not an error), so the same policy serves a
        first run, before any model has passed, and every later run with ``--baseline``.
        """
        return self.baseline_keys if baseline is None else []

    def skipped_in_gate(self) -> list[str]:
        """The keys that need attributions, which ``gate`` does not compute: skipped there."""
        return [key for key in self.limits if CHECKS[key].audit_only]

    def to_summary(self) -> dict[str, Any]:
        """A JSON-ready record of the policy, for ``summary.json``."""
        limits = {
            key: vars(limit) | {"per_class": dict(limit.per_class)}
            if isinstance(limit, RecallLimits)
            else limit
            for key, limit in self.limits.items()
        }
        return {"source": self.source, "default": self.default, "use_ci": self.use_ci,
                "limits": limits}


def load_policy(path: Path) -> Policy:
    """Read and validate a TOML policy file; every problem is an InputError naming it.

    Only a regular file of at most ``MAX_POLICY_KB`` is read (``/dev/zero`` or a FIFO would
    never end)."""
    info = require_regular_file(Path(path), "policy file")
    if info.st_size > MAX_POLICY_KB * 1024:
        raise InputError(f"{path}: {info.st_size / MB:,.1f} MiB is too big for a policy file "
                         f"(limit {MAX_POLICY_KB} kB)")
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.loads(handle.read(MAX_POLICY_KB * 1024 + 1).decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: policy file not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read policy ({err.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid TOML ({str(err)[:200]})") from None
    except RecursionError:
        raise InputError(f"{path}: TOML nested too deeply to be a policy") from None
    return parse_policy(data, str(path))


def parse_policy(data: Mapping[str, Any], source: str) -> Policy:
    """Validate an already-parsed TOML document (a dict) into a Policy."""
    for section in data:
        if section not in SECTIONS:
            raise InputError(
                f"{source}: unknown section [{section}]{_suggest(section, SECTIONS)} "
                f"(sections: {', '.join(SECTIONS)})"
            )
        if not isinstance(data[section], dict):
            raise InputError(f"{source}: {section} must be a table ([{section}])")
    limits: dict[str, Any] = {}
    for section in ("thresholds", "baseline"):
        for key, value in data.get(section, {}).items():
            spec = CHECKS.get(key)
            if spec is None or spec.section != section:
                raise InputError(f"{source}: {_unknown_key(section, key)}")
            limits[key] = PARSERS[spec.kind](value, f"{source}: {section}.{key}")
    options = data.get("options", {})
    for key, value in options.items():
        if key not in OPTIONS:
            raise InputError(f"{source}: unknown key options.{key}{_suggest(key, OPTIONS)}")
        if type(value) is not OPTIONS[key]:
            raise InputError(f"{source}: options.{key} must be true or false, got {value!r}")
    return Policy(limits=limits, use_ci=bool(options.get("use_ci", False)), source=source)


def _number(value: Any, where: str, high: float, unit: str) -> float:
    # bool is an int subclass in Python, but `true` is never a meaningful threshold.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number {unit}, got {value!r}")
    if not (math.isfinite(value) and 0.0 <= value <= high):
        raise InputError(f"{where} must be a number {unit}, got {value!r}")
    return float(value)


def _fraction(value: Any, where: str) -> float:
    return _number(value, where, 1.0, "between 0 and 1")


def _points(value: Any, where: str) -> float:
    return _number(value, where, 100.0, "of percentage points between 0 and 100")


def _severity(value: Any, where: str) -> str:
    if value not in list(Severity):
        raise InputError(f"{where} must be one of {', '.join(Severity)}, got {value!r}")
    return str(value)


def _recall(value: Any, where: str) -> RecallLimits:
    """A number (a default for every class) or a table {default = x, <class name> = y}.

    Class names are checked against the summary's classes when the checks run.
    """
    if not isinstance(value, dict):
        return RecallLimits(default=_fraction(value, where))
    per_class = {
        name: _fraction(limit, f"{where}.{name}")
        for name, limit in value.items()
        if name != "default"
    }
    default = _fraction(value["default"], f"{where}.default") if "default" in value else None
    return RecallLimits(default=default, per_class=per_class)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where} must be true or false, got {value!r}")
    return value


PARSERS: dict[LimitKind, Callable[[Any, str], Any]] = {
    "fraction": _fraction,
    "points": _points,
    "severity": _severity,
    "recall": _recall,
    "flag": _flag,
}


def _unknown_key(section: str, key: str) -> str:
    spec = CHECKS.get(key)
    if spec is not None:
        return f"{key} belongs in [{spec.section}], not [{section}]"
    known = [k for k, s in CHECKS.items() if s.section == section]
    return f"unknown key {section}.{key}{_suggest(key, known)}"


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
