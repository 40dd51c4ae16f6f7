"""The attribution methods' names, importable without TensorFlow.

``--methods`` is checked against these before anything heavy is imported (the explainers import
Keras, 5 s or more). ``attributions.registry.REGISTRY`` holds one explainer per name, in this
order (``tests/attributions/test_registry.py`` keeps the two in step).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from reportgen.errors import InputError

METHOD_NAMES: tuple[str, ...] = ("lime", "shap", "saliency", "smoothgrad", "ig", "gradcam")


def known_methods() -> tuple[str, ...]:
    """The shipped names, plus any added to ``REGISTRY`` at run time (a plug-in, a test) once
    the registry is imported; checking never imports it."""
    registry = sys.modules.get("reportgen.attributions.registry")
    added = [n for n in getattr(registry, "REGISTRY", {}) if n not in METHOD_NAMES]
    return (*METHOD_NAMES, *added)


def check_methods(names: Iterable[str]) -> tuple[str, ...]:
    """Validate method names (order kept, duplicates dropped); InputError names a bad one."""
    methods: list[str] = []
    known = known_methods()
    for raw in names:
        name = raw.strip().lower()
        if name not in known:
            raise InputError(f"--methods: unknown attribution method '{raw[:40]}' "
                             f"(valid: {', '.join(known)})")
        if name not in methods:
            methods.append(name)
    return tuple(methods)


def parse_methods(methods: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """None (the defaults), ``["none"]`` (no methods) or names → checked names."""
    if methods is None:
        return None
    names = [methods] if isinstance(methods, str) else list(methods)
    if [n.strip().lower() for n in names] == ["none"]:
        return ()
    return check_methods(names)
