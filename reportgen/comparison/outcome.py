"""A finished comparison as the API returns it: ``.summary``, ``.files()``, ``.save()`` and a
notebook view. Everything is computed once; rendering reads only the result."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reportgen.comparison.result import ComparisonResult
    from reportgen.progress import Reporter

FORMATS = ("html", "pdf", "json")
FILE_NAMES = {"html": "compare.html", "pdf": "compare.pdf", "json": "summary.json"}
RENDER_STAGE = "Rendering report"
NOTEBOOK_SECTIONS = ("recommendation", "findings", "metrics")


@dataclass(frozen=True)
class Comparison:
    """One finished comparison. ``summary`` is the dict written as ``summary.json``."""

    result: ComparisonResult
    base_summary: dict[str, Any] = field(repr=False)

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.base_summary)

    @property
    def recommended(self) -> str | None:
        """The name of the model to ship, or None when no model passes the policy."""
        ship = self.result.recommendation.ship
        return self.result.names[ship] if ship is not None else None

    @property
    def passed(self) -> bool:
        """True when some model passes the policy (so there is one to recommend)."""
        return self.result.recommendation.ship is not None

    def files(self, formats: Iterable[str] = FORMATS, reporter: Reporter | None = None) -> dict[str, bytes]:
        """Render the chosen formats: file name → content."""
        from contextlib import nullcontext

        from reportgen.api import check_formats
        from reportgen.report.summary import to_json

        chosen = check_formats(formats)
        files: dict[str, bytes] = {}
        timings = dict(self.base_summary["timings"])
        if "html" in chosen or "pdf" in chosen:
            from reportgen.comparison.render import render_compare_html, render_compare_pdf

            start = time.perf_counter()
            with reporter.stage(RENDER_STAGE) if reporter is not None else nullcontext():
                html = render_compare_html(self.result)
                if "pdf" in chosen:
                    files[FILE_NAMES["pdf"]] = render_compare_pdf(html)
                if "html" in chosen:
                    files[FILE_NAMES["html"]] = html.encode("utf-8")
            timings[RENDER_STAGE] = round(time.perf_counter() - start, 3)
        if "json" in chosen:
            files[FILE_NAMES["json"]] = to_json({**self.base_summary, "timings": timings})
        return files

    def save(self, out_dir: str | Path, formats: Iterable[str] = FORMATS) -> list[Path]:
        """Write the chosen files into ``out_dir`` (created if missing), atomically; return their paths."""
        from reportgen.report.output import prepare_out_dir, write_files

        out = Path(out_dir)
        prepare_out_dir(out)
        return write_files(out, self.files(formats))

    def _repr_html_(self) -> str:
        from reportgen.comparison.render import render_sections

        return render_sections(self.result, NOTEBOOK_SECTIONS)

    def __repr__(self) -> str:
        return (f"<reportgen.Comparison of {', '.join(self.result.names)}: "
                f"ship {self.recommended or 'none'}>")
