"""The distribution that installs the ``reportgen`` package and command: its name and version.

The name on PyPI is ``reportgen-fer``, because ``reportgen`` there is an unrelated project; the
import package and the command stay ``reportgen``. ``tests/test_distribution.py`` keeps this
name, ``pyproject.toml``, the README's install lines and the CI examples in step.
"""

from __future__ import annotations

DISTRIBUTION = "reportgen-fer"


def version() -> str:
    """The installed distribution's version ("0+unknown" for a bare source tree on sys.path)."""
    # importlib.metadata costs ~0.1 s, most of `import reportgen`: looked up only when asked.
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
