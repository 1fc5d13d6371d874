"""The TLS settings as a job file gives them: a relative ca_bundle is the job's folder's."""

from __future__ import annotations

from crawler.jobfile import load_job


def test_a_relative_ca_bundle_resolves_against_the_job_files_folder(tmp_path):
    folder = tmp_path / "jobs"
    folder.mkdir()
    job = folder / "job.toml"
    job.write_text("seeds = ['https://example.org/']\n[fetch]\nca_bundle = 'certs/ca.pem'\n")
    assert load_job(job).settings.fetch.ca_bundle == str(folder / "certs" / "ca.pem")
