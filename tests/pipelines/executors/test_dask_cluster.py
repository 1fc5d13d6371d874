"""The Dask side without a cluster: settings, the executor's choice, the start-up checks."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from crawler import __version__
from crawler.assembly import executor_factory_for
from crawler.errors import ClusterError, ConfigError
from crawler.settings import StepSettings, build_settings
from pipelines.executors import ClusterSpec, open_executor
from pipelines.executors.dask import check_modules, check_versions, modules_of
from pipelines.worker import PageProcessor
from tests.support.parsers import parse_or_die

pytestmark = pytest.mark.usefixtures("dask_leftovers_collected")


def test_the_executor_setting_takes_local_dask_or_a_scheduler_address() -> None:
    assert build_settings({}).cluster.executor == "local"
    address = build_settings({"cluster": {"executor": "tcp://10.0.0.7:8786"}}).cluster.executor
    assert address == "tcp://10.0.0.7:8786"
    with pytest.raises(ConfigError, match=r"cluster\.executor: .*tcp://host:8786, got 'dusk'"):
        build_settings({"cluster": {"executor": "dusk"}})


def test_a_dask_executor_is_chosen_only_when_asked_for() -> None:
    assert executor_factory_for(build_settings({})) is None
    factory = executor_factory_for(build_settings({"workers": 3, "cluster": {"executor": "dask"}}))
    assert getattr(factory, "spec", None) == ClusterSpec("dask", 3, 5.0, 30.0, worker_memory_mb=512)
    with pytest.raises(ConfigError, match="needs workers >= 1"):
        executor_factory_for(build_settings({"workers": 0, "cluster": {"executor": "dask"}}))


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_clear_error_within_the_connect_timeout() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = ClusterSpec(f"tcp://127.0.0.1:{port}", 1, connect_timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(ClusterError) as caught:
        open_executor(spec)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert "\n" not in message


class FakeClient:
    """What the checks ask of a ``distributed.Client``: run a function on every worker."""

    def __init__(self, answers: dict[str, Any], missing_after_upload: list[str]) -> None:
        self.answers = answers
        self.missing_after_upload = missing_after_upload
        self.uploaded: list[str] = []

    def run(self, function: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if function.__name__ == "missing_modules":
            missing = self.missing_after_upload if self.uploaded else args[0]
            return {"tcp://10.0.0.8:4000": [], "tcp://10.0.0.9:4000": list(missing)}
        return self.answers

    def upload_file(self, path: str, load: bool = True) -> None:
        self.uploaded.append(path)


def test_a_worker_with_another_parcrawl_version_is_refused_by_name() -> None:
    client = FakeClient({"tcp://10.0.0.8:4000": __version__, "tcp://10.0.0.9:4000": "0.0.1"}, [])
    with pytest.raises(ClusterError, match=r"tcp://10\.0\.0\.9:4000 runs parcrawl 0\.0\.1"):
        check_versions(client)  # type: ignore[arg-type]
    check_versions(FakeClient({"tcp://10.0.0.8:4000": __version__}, []))  # type: ignore[arg-type]


def test_the_modules_a_processor_needs_are_its_user_steps_and_parse_function() -> None:
    steps = [StepSettings(use="tests.support.user_steps:tag", label="x")]
    processor = PageProcessor.from_settings(build_settings({}).extract, steps, parse=parse_or_die)
    assert modules_of(processor) == {"tests.support.user_steps", "tests.support.parsers"}
    assert modules_of(PageProcessor()) == set()


def test_a_missing_package_module_names_the_worker_and_module() -> None:
    client = FakeClient({}, missing_after_upload=["tests.support.parsers"])
    processor = PageProcessor(parse_or_die)
    with pytest.raises(ClusterError, match=r"tcp://10\.0\.0\.9:4000 cannot import tests\.support"):
        check_modules(client, processor)  # type: ignore[arg-type]
    assert client.uploaded == []  # a module inside a package is not one file to ship


def test_a_missing_single_file_step_module_is_uploaded_to_the_workers(tmp_path, monkeypatch):
    (tmp_path / "my_steps.py").write_text("def shout(record):\n    return record\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    steps = [StepSettings(use="my_steps:shout")]
    processor = PageProcessor.from_settings(build_settings({}).extract, steps)
    client = FakeClient({}, missing_after_upload=[])
    check_modules(client, processor)  # type: ignore[arg-type]
    assert client.uploaded == [str(tmp_path / "my_steps.py")]


def test_a_local_cluster_starts_beside_anything_on_dasks_default_port() -> None:
    # Another Dask (or a second crawl's cluster) holds 8787: ours picks a free port rather
    # than warn (an error under this suite's warnings policy) or fight over it.
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # already held by something else: the situation under test holds anyway
        executor = open_executor(ClusterSpec("dask", 1, connect_timeout_s=30.0))
        try:
            assert executor.submit(sum, [1, 2, 3]).result(timeout=60) == 6
        finally:
            executor.shutdown()
