"""Progress for long stages says how long the rest should take: a bar with the time left in a
terminal, a line per quarter in a CI log or a pipe."""

from __future__ import annotations

from rich.progress import TimeRemainingColumn

from reportgen.progress import Reporter


def test_the_bar_estimates_the_time_left():
    reporter = Reporter(quiet=True)
    assert any(isinstance(column, TimeRemainingColumn) for column in reporter._progress.columns)


def test_without_a_terminal_long_work_reports_the_time_left_each_quarter(capsys):
    with Reporter() as reporter:  # pytest's stderr is no terminal: plain lines
        advance = reporter.track("explaining", 8)
        for _ in range(8):
            advance(1)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0].strip() for line in lines] == [
        "explaining: 2/8", "explaining: 4/8", "explaining: 6/8"]
    assert all(line.endswith(" s left") for line in lines)


def test_quiet_prints_nothing(capsys):
    with Reporter(quiet=True) as reporter:
        advance = reporter.track("explaining", 4)
        for _ in range(4):
            advance(1)
    assert capsys.readouterr().err == ""
