"""Which detectors run: every one by default; ``--skip-detectors`` switches some off.

Switching off the detector made for a kind of shortcut is how a user (and the test suite) checks
that the others, which were told nothing about it, still find it. A name is a detector
(``DETECTORS``), or a probe family or mechanism from ``reportgen.bias.probes.PROBES``
(e.g. ``darkening`` drops every darkening probe).
"""

from __future__ import annotations

from collections.abc import Iterable

from reportgen.errors import InputError

DETECTORS = ("patch-scan", "trigger-search", "universal-search")


def switch_names() -> list[str]:
    """Every name ``--skip-detectors`` accepts: detectors, then probe families and mechanisms."""
    from reportgen.bias.probes import PROBES

    groups = {g for probe in PROBES.values() for g in (probe.family, probe.mechanism) if g}
    return [*DETECTORS, *sorted(groups)]


def parse_switches(text: str | None) -> tuple[str, ...]:
    """``"patch-scan,noise"`` → the names, checked (a one-line ``InputError`` for unknown ones)."""
    if not text:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    known = switch_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"--skip-detectors: unknown {', '.join(map(repr, unknown[:5]))} "
                         f"(choose from {', '.join(known[:40])})")
    return names


def kept_probes(skip: Iterable[str]) -> tuple[str, ...]:
    """The names of the probes not switched off by family or mechanism."""
    from reportgen.bias.probes import PROBES

    off = set(skip)
    return tuple(name for name, p in PROBES.items() if p.family not in off and p.mechanism not in off)
