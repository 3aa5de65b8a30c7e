"""Printers: text (the input language), Unicode, LaTeX. They depend on the core."""
