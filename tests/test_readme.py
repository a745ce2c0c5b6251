"""The Python examples of the README and of the documentation's tour of the API
(docs/guide.md, not executed by the site's build) run as written, from the repository's
root."""

import os
import re

import pytest
from conftest import ROOT


def _python_blocks(name: str) -> list[str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_readme_python_examples_run(tmp_path):
    _run(_python_blocks("README.md"), "README.md", tmp_path)
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "table1.docx").exists()


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_guide_python_examples_run(tmp_path):
    blocks = _python_blocks("docs/guide.md")
    assert len(blocks) >= 7
    _run(blocks, "docs/guide.md", tmp_path)
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "table1.docx").exists()


def _run(blocks: list[str], name: str, tmp_path) -> None:
    """Run ``blocks`` in order in ``tmp_path``, where ``data/`` is the repository's."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        (tmp_path / "data").symlink_to(ROOT / "data")
        for block in blocks:
            exec(compile(block, name, "exec"), {})
    finally:
        os.chdir(cwd)
