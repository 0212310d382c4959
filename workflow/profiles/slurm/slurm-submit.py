#!/usr/bin/env python3
"""Submits one Snakemake job script with sbatch, asking for the job's threads, memory (mem_mb) and run time
(runtime, minutes) read from the script's properties; prints the Slurm job id. Extra sbatch options come from the
environment variable KMEANS_SBATCH_ARGS (e.g. "--partition=short --account=lab")."""
import json
import os
import shlex
import subprocess
import sys


def job_properties(jobscript):
    with open(jobscript) as handle:
        for line in handle:
            if line.startswith("# properties = "):
                return json.loads(line[len("# properties = "):])
    raise SystemExit(f"slurm-submit.py: {jobscript}: no '# properties = ' line")


def main():
    jobscript = sys.argv[-1]
    props = job_properties(jobscript)
    resources = props.get("resources", {})
    name = props.get("groupid") if props.get("type") == "group" else props.get("rule", "job")
    log_dir = os.path.join(os.getcwd(), "work", "slurm")
    os.makedirs(log_dir, exist_ok=True)
    cmd = ["sbatch", "--parsable", f"--job-name=kmeans-{name}", f"--cpus-per-task={max(int(props.get('threads', 1)), 1)}",
           f"--output={log_dir}/%j.out"]
    if resources.get("mem_mb"):
        cmd.append(f"--mem={int(resources['mem_mb'])}")
    if resources.get("runtime"):
        cmd.append(f"--time={max(int(resources['runtime']), 1)}")
    cmd += shlex.split(os.environ.get("KMEANS_SBATCH_ARGS", "")) + [jobscript]
    env = dict(os.environ)
    if env.pop("KMEANS_UNSET_CI", None):  # set by kmeans-cohort --fast-polling for Snakemake only
        env.pop("CI", None)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        return result.returncode
    print(result.stdout.strip().split(";")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
