"""A Python script that crawls on a local Dask cluster, run as ``python script.py``.

Dask's worker processes run the main script again: without the ``__name__`` guard each of
them would start the crawl too (and fail), so parcrawl says so before starting any.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import REPO

UNGUARDED = """
import json
from crawler import crawl

result = crawl({url!r}, workers=1, cluster={{"executor": "dask"}}, fetch={{"allow_private": True}})
print(json.dumps(sorted(r["url"] for r in result.records)))
"""

GUARDED = """
import json
from crawler import crawl

def main():
    cluster = {{"executor": "dask"}}
    result = crawl({url!r}, workers=1, cluster=cluster, fetch={{"allow_private": True}})
    print(json.dumps(sorted(r["url"] for r in result.records)))

if __name__ == "__main__":
    main()
"""

HINT = 'put the crawl under `if __name__ == "__main__":`'


def run_script(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    (folder / "job.py").write_text(code)
    return subprocess.run(
        [sys.executable, "job.py"],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )


def test_an_unguarded_script_on_a_local_dask_cluster_gets_the_main_guard_hint(tmp_path, live_site):
    site = live_site({"/": "<title>home</title>"})
    done = run_script(UNGUARDED.format(url=site.url("/")), tmp_path)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("crawler.errors.ClusterError: the local Dask cluster's worker")
    assert "starts the crawl at line 5" in lines[-1]
    assert HINT in lines[-1]
    # The script's own traceback only: no worker started, so none of Dask's.
    assert done.stderr.count("Traceback") == 1, done.stderr
    assert "Nanny" not in done.stderr
    assert len(lines) < 60
    assert site.requests == []  # said before anything was fetched


def test_a_guarded_script_crawls_on_a_local_dask_cluster(tmp_path, live_site):
    site = live_site({"/": "<title>home</title>"})
    done = run_script(GUARDED.format(url=site.url("/")), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout) == [site.url("/")]
