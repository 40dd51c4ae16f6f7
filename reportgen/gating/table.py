"""The checks as a console table for CI logs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reportgen.gating.limits import Check, fmt


def print_checks(checks: Sequence[Check], console: Console, policy: str | None = None) -> None:
    """Print the checks as a rich table with a one-line verdict under it; ``policy`` names the
    policy in force in the title."""
    under = f" under {escape(policy)}" if policy else ""
    if not checks:
        console.print(f"No policy checks were set{under}.")
        return
    title = f"Policy checks: {escape(policy)}" if policy else "Policy checks"
    table = Table(title=title, show_lines=False)
    # Only the detail wraps, so check names stay whole and greppable in narrow CI logs.
    table.add_column("check", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("threshold", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold", ratio=1)
    for check in checks:
        result = "[green]PASS[/]" if check.passed else "[bold red]FAIL[/]"
        if check.skipped:
            result = "[yellow]SKIP[/]"
        # Names and details hold user text (class names, "[disgust]"): never rich markup.
        cells = (check.name, fmt(check.value), fmt(check.threshold))
        table.add_row(*map(escape, cells), result, escape(check.detail))
    console.print(table)
    failed = [escape(c.name) for c in checks if not c.passed]
    skipped = sum(c.skipped for c in checks)
    verdict = f"[bold red]FAILED[/]: {', '.join(failed)}" if failed else "[bold green]PASSED[/]"
    ran = len(checks) - skipped
    also = f" ({skipped} skipped)" if skipped else ""
    console.print(f"{ran - len(failed)} of {ran} checks passed{also}. Gate {verdict}{under}")

