"""``python -m reportgen`` runs the same command-line tool as ``reportgen``."""

from reportgen.cli import app

app(prog_name="reportgen")
