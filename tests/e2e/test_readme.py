"""The README's "Testing your crawl" example must keep passing, exactly as printed."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.cli import REPO


def test_the_readme_testing_example_passes(tmp_path):
    readme = (REPO / "README.md").read_text()
    block = re.search(
        r"<!-- readme-test: begin -->\n```python\n(.*?)```\n<!-- readme-test: end -->",
        readme,
        re.DOTALL,
    )
    assert block, "the README lost its tested example"
    example = tmp_path / "test_readme_example.py"
    example.write_text(block.group(1))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
