"""The small-sample rule: no interval and no confident verdict on fewer than 30 observations.

Below that a percentile bootstrap interval collapses (one image gives "+0.17 to +0.17"), so
it would read as certainty where there is almost no evidence. The bias findings follow the
same rule (``reportgen.bias.findings.MIN_IMAGES``).
"""

from __future__ import annotations

MIN_SAMPLE = 30
NO_CI = "(no CI: under 30 images)"


def too_few(n: int) -> bool:
    """True when ``n`` observations are too few for a bootstrap interval to mean anything."""
    return n < MIN_SAMPLE
