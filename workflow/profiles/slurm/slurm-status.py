#!/usr/bin/env python3
"""Snakemake --cluster-status for Slurm without accounting: prints running, success or failed for a job id.

Snakemake 7 runs this once per running job in every status round. Queued and running jobs are answered from one
`squeue --me` listing shared by the calls of the next CACHE_SECONDS (work/slurm/squeue-states.json under the
workflow's directory), so a round over hundreds of jobs costs slurmctld one request instead of one per job; a
job not in that listing (finished, or submitted after it) is asked for with `scontrol show job` (and `sacct`
where accounting exists, once scontrol has forgotten the job)."""
import json
import os
import subprocess
import sys
import time

CACHE = os.path.join("work", "slurm", "squeue-states.json")
CACHE_SECONDS = 2.0

RUNNING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING", "STAGE_OUT",
           "SIGNALING", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "STOPPED"}


def state_from_scontrol(job_id):
    result = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    for field in result.stdout.split():
        if field.startswith("JobState="):
            return field.split("=", 1)[1]
    return None


def queued_states():
    """{job id: state} of this user's queued and running jobs, from a listing at most CACHE_SECONDS old."""
    try:
        if time.time() - os.stat(CACHE).st_mtime < CACHE_SECONDS:
            with open(CACHE) as handle:
                return json.load(handle)
    except (OSError, ValueError):
        pass
    try:
        result = subprocess.run(["squeue", "--me", "--noheader", "--format=%i %T"], capture_output=True,
                                text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if result.returncode != 0:
        return {}
    states = dict(line.split() for line in result.stdout.splitlines() if len(line.split()) == 2)
    try:
        os.makedirs(os.path.dirname(CACHE), exist_ok=True)
        temporary = f"{CACHE}.tmp{os.getpid()}"
        with open(temporary, "w") as handle:
            json.dump(states, handle)
        os.replace(temporary, CACHE)
    except OSError:
        pass
    return states


def state_from_sacct(job_id):
    try:
        result = subprocess.run(["sacct", "-j", job_id, "-X", "-n", "-P", "-o", "State"], capture_output=True,
                                text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    states = result.stdout.split()
    return states[0].split()[0] if result.returncode == 0 and states else None


def main():
    job_id = sys.argv[1]
    state = queued_states().get(job_id)
    for attempt in range(0 if state else 3):
        state = state_from_scontrol(job_id) or state_from_sacct(job_id)
        if state:
            break
        time.sleep(1 + attempt)
    if state is None:
        print("failed")  # Slurm knows no such job (any more): never wait forever
    elif state == "COMPLETED":
        print("success")
    elif state in RUNNING:
        print("running")
    else:
        print("failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
