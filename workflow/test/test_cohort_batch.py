"""kmeans-cohort --batch-size: the scans that need a run are segmented in batches (one job, one process each),
with the same per-scan outputs, table and failure reporting as one job per scan; a re-run does nothing, and a new
subject, a changed input, --retry-failed and a crashed run each segment again only the scans concerned."""
import json
import os
import re
import stat
import subprocess

import pytest

import cohort_support as cs
import phantoms
from kmeans_cohort import naming, table

ARGS = ["--cores", "2", "--mask-desc", "brain", "--no-preview", "--batch-size", "3"]
ALL_IDS = sorted(f"sub-{s}" + (f"_ses-{t}" if t else "") for s, t, *_ in cs.SUBJECTS)


@pytest.fixture(scope="module")
def cohort():
    root = cs.fresh_dir("batch")
    bids = cs.make_bids(os.path.join(root, "bids"))
    out = os.path.join(root, "derivatives")
    status, log = cs.run_cohort(bids, out, *ARGS)
    return {"root": root, "bids": bids, "out": out, "status": status, "log": log}


def batch_jobs(log):
    return re.findall(r"^rule (batch_\d+_\d+):$", log, re.MULTILINE)


def planned(out):
    return sorted(scan_id for ids in cs.read_json(os.path.join(out, "work", "batches.json"))["batches"].values()
                  for scan_id in ids)


def rows_by_id(out):
    return {row["scan_id"]: row for row in table.read_tsv(os.path.join(out, "group", "volumes.tsv"))}


def test_batches_give_every_scan_its_outputs_and_row(cohort):
    assert cohort["status"] == 1, cohort["log"]
    assert len(batch_jobs(cohort["log"])) == 3 and cs.jobs_run(cohort["log"], "segment") == 0, cohort["log"]
    assert planned(cohort["out"]) == ALL_IDS
    assert f"kmeans-cohort: failed: {cs.CORRUPT}: " in cohort["log"]
    assert naming.validate_derivatives(cohort["out"]) == []
    rows = rows_by_id(cohort["out"])
    assert sorted(rows) == ALL_IDS
    assert rows[cs.CORRUPT]["status"] == "failed" and "sub-04_T1w.nii.gz" in rows[cs.CORRUPT]["error"]
    for scan_id, row in rows.items():
        if scan_id != cs.CORRUPT:
            assert row["status"] == "ok" and float(row["CSF_mean"]) < float(row["GM_mean"]) < float(row["WM_mean"])
    masked = cs.read_json(os.path.join(cohort["out"], "sub-03", "anat", "sub-03_dseg.json"))
    assert masked["Sources"][1] == "bids:raw:sub-03/anat/sub-03_desc-brain_mask.nii.gz"


def test_rerun_does_nothing_and_new_or_changed_scans_run_alone(cohort):
    before = cs.status_times(cohort["out"])
    status, log = cs.run_cohort(cohort["bids"], cohort["out"], *ARGS)
    assert status == 1 and "Nothing to be done" in log and batch_jobs(log) == [], log
    assert cs.status_times(cohort["out"]) == before
    phantoms.add_scan(cohort["bids"], "07", shape=(36, 40, 36), seed=8)
    status, log = cs.run_cohort(cohort["bids"], cohort["out"], *ARGS)
    assert status == 1 and len(batch_jobs(log)) == 1 and cs.jobs_run(log, "group") == 1, log
    assert planned(cohort["out"]) == ["sub-07"]
    after = cs.status_times(cohort["out"])
    assert {k: v for k, v in after.items() if k != "sub-07.json"} == before
    assert rows_by_id(cohort["out"])["sub-07"]["status"] == "ok"
    t1w = os.path.join(cohort["bids"], "sub-02", "anat", "sub-02_T1w.nii.gz")
    os.utime(t1w)  # now: newer than its record
    status, log = cs.run_cohort(cohort["bids"], cohort["out"], *ARGS)
    assert status == 1 and len(batch_jobs(log)) == 1 and planned(cohort["out"]) == ["sub-02"], log


def test_retry_failed_batches_only_the_failed_scan(cohort):
    status, log = cs.run_cohort(cohort["bids"], cohort["out"], *ARGS, "--retry-failed")
    assert status == 1 and len(batch_jobs(log)) == 1 and planned(cohort["out"]) == [cs.CORRUPT], log


def wrapped_segment(root, action):
    """A kmeans-segment that does `action` on sub-05's scan while the file <wrapper>.on exists."""
    wrapper = os.path.join(root, "wrapped-kmeans-segment")
    with open(wrapper, "w") as handle:
        handle.write(f'#!/bin/sh\nif [ -e {wrapper}.on ]; then case "$*" in *sub-05_T1w*) {action};; esac; fi\n'
                     f'exec {cs.SEGMENT} "$@"\n')
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
    return wrapper


def run_snakemake(bids, out, program):
    return subprocess.run(["snakemake", "-s", os.path.join(cs.WORKFLOW_DIR, "Snakefile"), "--directory", out,
                           "--cores", "1", "--keep-going", "--keep-incomplete", "--config", f"bids_dir={bids}",
                           f"kmeans_segment={program}", "participant_label=02,05,06", "batch_size=5",
                           "preview=false"], capture_output=True, text=True, env=dict(os.environ, USER="root"))


@pytest.mark.parametrize("action,fails", [("kill -9 $$", False), ("kill -TERM $PPID; sleep 5", True)])
def test_crashed_or_stopped_batches_run_only_the_missing_scans_again(cohort, action, fails):
    """A kmeans-segment killed by SIGKILL is recorded as failed with retry; a batch stopped by SIGTERM ends its
    running kmeans-segment and fails, keeping the records of the scans it finished. Either way the next run
    segments only what is missing."""
    root = cs.fresh_dir(f"batch-{'stopped' if fails else 'crash'}")
    out = os.path.join(root, "out")
    wrapper = wrapped_segment(root, action)
    open(f"{wrapper}.on", "w").close()
    result = run_snakemake(cohort["bids"], out, wrapper)
    os.remove(f"{wrapper}.on")
    assert result.returncode != 0, result.stderr
    records = os.path.join(out, "work", "scans")
    if fails:
        assert sorted(os.listdir(records)) == ["sub-02.json"], result.stderr
        assert subprocess.run(["pgrep", "-f", wrapper], capture_output=True).stdout == b""
    else:
        assert "sub-05: kmeans-segment crashed or was killed" in result.stderr, result.stderr
        record = cs.read_json(os.path.join(records, "sub-05.json"))
        assert record["status"] == "failed" and record["retry"] is True
        assert cs.read_json(os.path.join(records, "sub-06.json"))["status"] == "ok"
    kept = os.stat(os.path.join(records, "sub-02.json")).st_mtime_ns
    result = run_snakemake(cohort["bids"], out, wrapper)
    assert result.returncode == 0, result.stderr
    assert planned(out) == (["sub-05", "sub-06"] if fails else ["sub-05"])
    assert cs.read_json(os.path.join(records, "sub-05.json"))["status"] == "ok"
    assert os.stat(os.path.join(records, "sub-02.json")).st_mtime_ns == kept


def test_option_change_runs_every_scan_again(cohort):
    out = os.path.join(cohort["root"], "options")
    base = ["--cores", "2", "--no-preview", "--batch-size", "10", "--participant-label", "02", "06"]
    assert cs.run_cohort(cohort["bids"], out, *base)[0] == 0
    status, log = cs.run_cohort(cohort["bids"], out, *base, "-k", "4")
    assert status == 0 and planned(out) == ["sub-02", "sub-06"], log
    assert all(json.loads(row["k"]) == 4 for row in rows_by_id(out).values())


@pytest.mark.parametrize("env,expected", [({"CI": "true", "KMEANS_UNSET_CI": "1"}, None),
                                          ({"CI": "true"}, "true"), ({}, None)])
def test_slurm_submit_keeps_fast_pollings_ci_out_of_the_job(tmp_path, env, expected):
    """kmeans-cohort --fast-polling sets CI=true for Snakemake (KMEANS_UNSET_CI=1): sbatch does not get it; a CI
    variable the user set is passed on."""
    fake = tmp_path / "sbatch"
    fake.write_text(f'#!/bin/sh\n/usr/bin/env > {tmp_path}/env.txt\necho "4242;cluster"\n')
    fake.chmod(0o755)
    jobscript = tmp_path / "job.sh"
    jobscript.write_text('#!/bin/sh\n# properties = {"type": "single", "rule": "batch_1", "threads": 2, '
                         '"resources": {"mem_mb": 900, "runtime": 7}}\n')
    submit = os.path.join(cs.WORKFLOW_DIR, "profiles", "slurm", "slurm-submit.py")
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "KMEANS_UNSET_CI")}
    environment.update(env, PATH=f"{tmp_path}:{os.environ['PATH']}")
    result = subprocess.run(["/usr/bin/python3", submit, str(jobscript)], capture_output=True, text=True,
                            env=environment, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "4242", result.stderr
    seen = dict(line.split("=", 1) for line in (tmp_path / "env.txt").read_text().splitlines() if "=" in line)
    assert seen.get("CI") == expected and "KMEANS_UNSET_CI" not in seen


def test_snakemake_refuses_two_channels_with_the_gaussian_mixture():
    out = cs.fresh_dir("t2w-gmm")
    result = subprocess.run(["snakemake", "-s", os.path.join(cs.WORKFLOW_DIR, "Snakefile"), "--directory", out,
                             "--cores", "1", "--config", f"bids_dir={out}", "t2w=true", "model=gmm+mrf"],
                            capture_output=True, text=True, env=dict(os.environ, USER="root"))
    assert result.returncode == 1
    assert ("t2w: true (two channels) works with model kmeans, not gmm+mrf (the Gaussian mixture models one "
            "channel)") in result.stderr, result.stderr
    assert not os.path.exists(os.path.join(out, "work", "scans.tsv"))


def test_slurm_status_answers_running_jobs_from_one_squeue_listing(tmp_path):
    """slurm-status.py asks squeue once for all queued and running jobs (reused for 2 s) and scontrol only for
    jobs not listed: finished ones."""
    for tool, output in (("squeue", "4242 RUNNING\\n4243 PENDING\\n"), ("scontrol", "JobId=4244 JobState=COMPLETED")):
        fake = tmp_path / tool
        fake.write_text(f'#!/bin/sh\necho {tool} >> {tmp_path}/calls.txt\nprintf "{output}"\n')
        fake.chmod(0o755)
    status = os.path.join(cs.WORKFLOW_DIR, "profiles", "slurm", "slurm-status.py")
    environment = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}")

    def ask(job_id):
        result = subprocess.run(["/usr/bin/python3", status, job_id], capture_output=True, text=True,
                                env=environment, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert [ask("4242"), ask("4243"), ask("4244")] == ["running", "running", "success"]
    assert (tmp_path / "calls.txt").read_text().split() == ["squeue", "scontrol"]
    assert json.loads((tmp_path / "work" / "slurm" / "squeue-states.json").read_text()) == {
        "4242": "RUNNING", "4243": "PENDING"}
