"""kmeans-cohort --slurm on a real one-node Slurm this test starts as root (munged, slurmctld, slurmd with a
generated slurm.conf, everything under the build tree): scans submitted with sbatch in job groups, every Slurm
job completes, the failed scan is listed, a second run submits nothing, and the daemons are gone at the end."""
import os
import re
import shutil
import subprocess

import pytest

import cohort_support as cs
import slurm_cluster
from kmeans_cohort import naming, table

SUBJECTS = cs.SUBJECTS[:5]  # sub-01 (two sessions), 02, 03 and the cut-short 04

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="starting slurmctld, slurmd and munged needs root"),
    pytest.mark.skipif(not all(shutil.which(p) for p in ("slurmctld", "slurmd", "munged", "sbatch")),
                       reason="slurm-wlm and munge are not installed")]


@pytest.fixture(scope="module")
def cluster():
    folder = cs.fresh_dir("slurm-cluster")
    try:
        yield slurm_cluster.start(folder)
    finally:
        slurm_cluster.stop(folder)
        left = [d for d in slurm_cluster.DAEMONS if slurm_cluster.read_pid(folder, d)]
        assert left == [] and slurm_cluster.job_processes(folder) == []


def job_states(env, job_ids):
    states = {}
    for job_id in job_ids:
        out = subprocess.run(["scontrol", "-o", "show", "job", job_id], env=dict(os.environ, **env),
                             capture_output=True, text=True).stdout
        match = re.search(r"JobState=(\S+)", out)
        states[job_id] = match.group(1) if match else "unknown"
    return states


def test_cohort_through_sbatch_with_job_groups(cluster):
    root = cs.fresh_dir("slurm")
    bids = cs.make_bids(os.path.join(root, "bids"), SUBJECTS)
    out = os.path.join(root, "derivatives")
    status, log = cs.run_cohort(bids, out, "--slurm", "--jobs", "4", "--group-size", "3", "--no-preview",
                                env=cluster)
    assert status == 1, log
    job_ids = re.findall(r"Submitted group job \S+ with external jobid '(\d+)'", log)
    assert len(job_ids) == 2, log  # 5 scans in groups of 3
    assert set(job_states(cluster, job_ids).values()) == {"COMPLETED"}
    rows = {row["scan_id"]: row for row in table.read_tsv(os.path.join(out, "group", "volumes.tsv"))}
    assert sorted(rows) == ["sub-01_ses-1", "sub-01_ses-2", "sub-02", "sub-03", "sub-04"]
    assert rows[cs.CORRUPT]["status"] == "failed" and "sub-04_T1w.nii.gz" in rows[cs.CORRUPT]["error"]
    assert all(row["status"] == "ok" for scan_id, row in rows.items() if scan_id != cs.CORRUPT)
    assert naming.validate_derivatives(out) == []
    before = cs.status_times(out)
    status, log = cs.run_cohort(bids, out, "--slurm", "--jobs", "4", "--group-size", "3", "--no-preview",
                                env=cluster)
    assert status == 1 and "Nothing to be done" in log and "Submitted" not in log, log
    assert cs.status_times(out) == before


def test_cohort_in_batches_with_fast_polling(cluster):
    root = cs.fresh_dir("slurm-batches")
    bids = cs.make_bids(os.path.join(root, "bids"), SUBJECTS)
    out = os.path.join(root, "derivatives")
    args = ["--slurm", "--batch-size", "3", "--fast-polling", "--no-preview"]
    status, log = cs.run_cohort(bids, out, *args, env=cluster)
    assert status == 1, log
    job_ids = re.findall(r"Submitted job \d+ with external jobid '(\d+)'", log)
    assert len(job_ids) == 2 and len(re.findall(r"^rule batch_\d+_\d+:$", log, re.MULTILINE)) == 2, log
    assert set(job_states(cluster, job_ids).values()) == {"COMPLETED"}
    rows = {row["scan_id"]: row for row in table.read_tsv(os.path.join(out, "group", "volumes.tsv"))}
    assert sorted(rows) == ["sub-01_ses-1", "sub-01_ses-2", "sub-02", "sub-03", "sub-04"]
    assert [scan_id for scan_id, row in rows.items() if row["status"] != "ok"] == [cs.CORRUPT]
    assert naming.validate_derivatives(out) == []
    status, log = cs.run_cohort(bids, out, *args, env=cluster)
    assert status == 1 and "Nothing to be done" in log and "Submitted" not in log, log
