"""Job files as a user writes them: loading, overrides, paths, secrets, and precise errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.errors import ConfigError
from crawler.jobfile import load_job
from crawler.settings import Settings
from tests.support.cli import parcrawl

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "config").rglob("*.toml"))


def write(tmp_path: Path, text: str, name: str = "job.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "config", [c for c in CONFIGS if c.name != "default.toml"], ids=lambda p: p.name
)
def test_every_bundled_job_file_passes_check(config):
    result = parcrawl("check", str(config))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stderr


def test_the_defaults_file_is_no_job_to_run_and_check_says_so():
    # Every key at its default: no seeds, so `run` would refuse it, and `check` with it.
    config = REPO / "config" / "default.toml"
    result = parcrawl("check", str(config))
    assert result.returncode == 2
    assert result.stderr == f"parcrawl: error: {config}: no seeds (set seeds or seeds_file)\n"


def test_the_bundled_examples_exist():
    names = {path.name for path in CONFIGS}
    assert "default.toml" in names
    assert len(names) >= 3


def test_default_toml_lists_every_setting_with_its_default():
    text = (REPO / "config" / "default.toml").read_text()
    defaults = Settings().model_dump()
    for section, value in defaults.items():
        keys = value.keys() if isinstance(value, dict) else [section]
        for key in keys:
            assert re.search(rf"^#? ?{key} = ", text, re.MULTILINE), f"{section}.{key} missing"
    loaded = load_job(REPO / "config" / "default.toml").settings
    assert loaded.model_dump(exclude={"workers"}) == Settings().model_dump(exclude={"workers"})


def test_command_line_flags_override_the_file(tmp_path):
    job = write(
        tmp_path, "seeds = ['http://127.0.0.1:9/']\n[fetch]\nper_host = 2\nconcurrency = 5\n"
    )
    settings = load_job(job, {"fetch": {"per_host": 7}}).settings
    assert settings.fetch.per_host == 7
    assert settings.fetch.concurrency == 5
    result = parcrawl("check", str(job), "--per-host", "9")
    assert "per_host = 9" in result.stdout


def test_relative_paths_resolve_against_the_job_files_folder(tmp_path):
    folder = tmp_path / "jobs"
    folder.mkdir()
    job = write(folder, "seeds_file = ['urls.txt']\n[output]\njsonl = 'out/pages.jsonl'\n")
    settings = load_job(job).settings
    assert settings.seeds_file == [str(folder / "urls.txt")]
    assert settings.output.jsonl == str(folder / "out" / "pages.jsonl")


def test_seeds_file_and_seeds_may_each_be_one_string(tmp_path):
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "urls.txt").write_text("http://127.0.0.1:9/a\n")
    job = write(folder, "seeds = 'http://127.0.0.1:9/'\nseeds_file = 'urls.txt'\n")
    settings = load_job(job).settings
    assert settings.seeds == ["http://127.0.0.1:9/"]
    assert settings.seeds_file == [str(folder / "urls.txt")]
    result = parcrawl("check", str(job))
    assert result.returncode == 0, result.stderr
    assert "seeds_file = [" in result.stdout


def test_secrets_come_from_the_environment_and_are_never_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("CRAWL_UA", "secret-agent-77")
    job = write(
        tmp_path, "seeds = ['http://127.0.0.1:9/']\n[fetch]\nuser_agent = 'bot ${CRAWL_UA}'\n"
    )
    assert load_job(job).settings.fetch.user_agent == "bot secret-agent-77"
    result = parcrawl("check", str(job), env={"CRAWL_UA": "secret-agent-77", "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert "secret-agent-77" not in result.stdout + result.stderr
    assert "${CRAWL_UA}" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fetch]\nper_host = 0\n", "fetch.per_host: must be >= 1, got 0"),
        ("[fetch]\nper_hots = 2\n", "fetch.per_hots: unknown setting"),
        ("[fetch]\nmax_bytes = true\n", "fetch.max_bytes: must be a whole number, got true"),
        ("[scope]\nmax_depth = -1\n", "scope.max_depth: must be >= 0, got -1"),
        ("[scope]\nexclude = ['(unclosed']\n", "scope.exclude[0]: not a valid regex"),
        ("workers = 'many'\n", "workers: must be a whole number, got 'many'"),
        ("follow = yes\n", "not valid TOML"),
        ("[fetch]\nuser_agent = '${PARCRAWL_TEST_UNSET_VAR}'\n", "environment variable"),
        ("[[steps]]\nmin = 3\n", "steps[0].use: required"),
        ("[output]\ncsv = { columns = ['url'] }\n", "output.csv.path: required"),
    ],
)
def test_a_bad_job_file_names_the_key_and_exits_2(tmp_path, text, message):
    job = write(tmp_path, text)
    result = parcrawl("run", str(job))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert lines[0].startswith(f"parcrawl: error: {job}: ")
    assert "Traceback" not in result.stderr


def test_a_missing_job_file_is_one_line(tmp_path):
    result = parcrawl("run", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"parcrawl: error: job file not found: {tmp_path / 'nope.toml'}"


def test_load_job_raises_config_error_for_bad_values(tmp_path):
    with pytest.raises(ConfigError, match=r"fetch\.concurrency: must be >= 1, got 0"):
        load_job(write(tmp_path, "[fetch]\nconcurrency = 0\n"))


def test_a_bad_seed_is_named_by_its_key_in_the_job_file(tmp_path):
    job = write(tmp_path, "seeds = ['http://127.0.0.1:9/', 'ftp://x.test/', 'http://h:99999/']\n")
    for command in ("run", "check"):
        result = parcrawl(command, str(job), "-q")
        assert result.returncode == 2
        assert result.stderr == (
            f"parcrawl: error: {job}: seeds[1]: not an http(s) URL: 'ftp://x.test/'; "
            "seeds[2]: not a valid URL: 'http://h:99999/' (port '99999')\n"
        )


def test_a_job_without_seeds_names_the_keys_to_set(tmp_path):
    job = write(tmp_path, "follow = true\n[fetch]\nper_host = 2\n")
    for command in ("run", "check"):
        result = parcrawl(command, str(job), "-q")
        assert result.returncode == 2
        assert result.stderr == f"parcrawl: error: {job}: no seeds (set seeds or seeds_file)\n"
        assert "-i FILE" not in result.stderr


def test_sizes_in_a_job_file_take_units(tmp_path):
    job = write(tmp_path, "[fetch]\nmax_bytes = '5MB'\n[output]\nwarc_max_size = '1GiB'\n")
    settings = load_job(job).settings
    assert settings.fetch.max_bytes == 5_000_000
    assert settings.output.warc_max_size == 2**30
