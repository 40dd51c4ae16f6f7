"""The policy in force: the one given (a file, a dict, a ``Policy``), else reportgen's default.

Without a policy a gate could never fail, so ``gate`` and ``audit`` apply the default shipped in
the package (``reportgen/policies/default.toml``, read through ``importlib.resources`` so it is
in the wheel) unless told otherwise; ``none`` turns gating off, and the run then says that
nothing was checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from reportgen.errors import InputError
from reportgen.gating.policy import Policy, load_policy, parse_policy

DEFAULT = "default"  # --policy default: the shipped policy, named explicitly
OFF = "none"  # --policy none: no policy, nothing checked
DEFAULT_SOURCE = "reportgen/policies/default.toml"  # as summaries name it, the same everywhere

PolicySpec = str | Path | Mapping[str, Any] | Policy | None


def default_policy_path() -> Path:
    """The shipped default policy file (in the installed package or the checkout)."""
    return Path(str(resources.files("reportgen").joinpath("policies", "default.toml")))


def default_policy() -> Policy:
    """reportgen's default policy, marked as the default (``Policy.default``)."""
    policy = load_policy(default_policy_path())
    return dataclasses.replace(policy, source=DEFAULT_SOURCE, default=True)


def choose_policy(spec: PolicySpec) -> Path | Policy | None:
    """What a run checks against: a ``Policy``, a file to read (after the other checks of a
    preflight), or None for no policy.

    None and ``"default"`` give the default policy; ``"none"`` gives None; a dict is validated as
    a parsed TOML document would be; a ``Policy`` is used as it is; any other str or Path is a
    policy file (a file named ``none`` or ``default`` is given as ``./none``).
    """
    if spec is None or (isinstance(spec, str) and spec == DEFAULT):
        return default_policy()
    if isinstance(spec, str) and spec == OFF:
        return None
    if isinstance(spec, Policy):
        return spec
    if isinstance(spec, Mapping):
        return parse_policy(spec, "policy dict")
    if isinstance(spec, str | Path):
        return Path(spec)
    raise InputError(f"policy: expected a path, a dict, a Policy, 'default' or 'none', "
                     f"got {type(spec).__name__}")


def resolve_policy(spec: PolicySpec) -> Policy | None:
    """``choose_policy`` with a file read and validated: the policy in force, or None."""
    chosen = choose_policy(spec)
    return load_policy(chosen) if isinstance(chosen, Path) else chosen
