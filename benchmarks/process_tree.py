"""A process and its descendants, as the benchmarks see them: memory, CPU time, ending them.

Also the environment the benchmarks start them in (no proxies; this checkout first on
``PYTHONPATH``). Knows nothing of crawlers or sites.
"""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy")


class TreeSampler:
    """Peak RSS, peak PSS and CPU time of a process and all its descendants, from samples.

    PSS (proportional set size) shares each page among the processes mapping it, so a
    forked pool is not counted once per worker as RSS counts it: the sum over the tree is
    what the crawl costs the machine.
    """

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss_bytes = 0
        self.peak_pss_bytes = 0
        self.samples = 0
        self._cpu_by_process: dict[tuple[int, float], float] = {}

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = pss = 0
        for process in processes:
            try:
                with process.oneshot():
                    memory = process.memory_full_info()
                    rss += memory.rss
                    pss += getattr(memory, "pss", 0)
                    times = process.cpu_times()
                    key = (process.pid, process.create_time())
            except psutil.Error:
                continue
            self._cpu_by_process[key] = times.user + times.system
        self.samples += 1
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
        self.peak_pss_bytes = max(self.peak_pss_bytes, pss)

    @property
    def sampled_cpu_s(self) -> float:
        """CPU seconds of every process seen, as of its last sample."""
        return sum(self._cpu_by_process.values())


def tree_cpu_s(process: psutil.Process) -> float:
    """User+system seconds of a live process tree (nginx: master and workers)."""
    total = 0.0
    with contextlib.suppress(psutil.Error):
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = member.cpu_times()
                total += times.user + times.system
    return total


def busy_cpu_s() -> float:
    """Machine-wide non-idle CPU seconds since boot."""
    fields: dict[str, float] = psutil.cpu_times()._asdict()
    not_busy = ("idle", "iowait", "guest", "guest_nice")  # guest time is already in user
    return sum(value for key, value in fields.items() if key not in not_busy)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def local_env() -> dict[str, str]:
    """This environment without proxies, so every request goes straight to 127.0.0.1.

    ``PYTHONPATH`` starts with this checkout, so ``python -m cli`` and its worker processes import
    the code beside this script, not another installed copy of parcrawl.
    """
    env = {key: value for key, value in os.environ.items() if key.lower() not in PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def exited(pid: int) -> bool:
    """True once ``pid`` has exited; it stays a zombie (unreaped), so its CPU times are final."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def own_cpu_of(process: psutil.Process) -> float | None:
    """User+system seconds of this one process, its children excluded."""
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def kill_tree(process: psutil.Process) -> None:
    with contextlib.suppress(psutil.Error):
        members = [*process.children(recursive=True), process]
        for member in members:
            with contextlib.suppress(psutil.Error):
                member.kill()
        psutil.wait_procs(members, timeout=5)
