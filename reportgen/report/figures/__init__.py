"""Figures for the report. Every function takes or makes its own Figure; no pyplot state."""
