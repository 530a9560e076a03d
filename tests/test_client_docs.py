"""docs/clients.md quotes its examples verbatim: the code people copy is the code the tests run
(tests/api/test_client_example_python.py, tests/api/test_client_example_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = [("client.py", "python"), ("client.js", "js"), ("PlayerSessionClient.cs", "csharp")]


@pytest.mark.parametrize(("name", "language"), EXAMPLES)
def test_the_client_page_quotes_each_example_file_verbatim(name: str, language: str) -> None:
    code = (DOCS / "examples" / name).read_text()
    page = (DOCS / "clients.md").read_text()

    assert code.endswith("\n")
    assert page.count(f"```{language}\n{code}```\n") == 1, f"docs/clients.md must quote docs/examples/{name} as is"


def test_every_example_file_is_on_the_client_page() -> None:
    page = (DOCS / "clients.md").read_text()

    assert sorted(p.name for p in (DOCS / "examples").iterdir() if p.is_file()) == sorted(name for name, _ in EXAMPLES)
    assert all(f"(examples/{name})" in page for name, _ in EXAMPLES)
