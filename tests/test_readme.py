"""The README's Python examples run as written."""

import os
import re

from conftest import ROOT


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_examples_run(tmp_path):
    blocks = _python_blocks()
    assert len(blocks) >= 2
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        (tmp_path / "data").symlink_to(ROOT / "data")
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "table1.docx").exists()
