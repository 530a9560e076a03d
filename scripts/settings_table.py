"""Rewrite the README's configuration table from the settings' fields (`make settings-table`)."""

from __future__ import annotations

from pathlib import Path

from graphql_service.tools.options import readme_table

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- settings:begin -->\n", "\n<!-- settings:end -->"

text = README.read_text()
start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
README.write_text(text[:start] + readme_table() + text[stop:])
