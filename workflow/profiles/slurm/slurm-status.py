#!/usr/bin/env python3
"""Snakemake --cluster-status for Slurm without accounting: prints running, success or failed for a job id,
from `scontrol show job` (and `sacct` where accounting exists, once scontrol has forgotten the job)."""
import subprocess
import sys
import time

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
    state = None
    for attempt in range(3):
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
