"""Shared helpers of the cohort tests: locations from ctest's environment, the phantom BIDS dataset, running
kmeans-cohort and reading what it did."""
import json
import os
import re
import shutil
import subprocess

import phantoms

SEGMENT = os.environ.get("KMEANS_SEGMENT", "kmeans-segment")
COHORT = os.environ.get("KMEANS_COHORT", "kmeans-cohort")
WORKFLOW_DIR = os.environ.get("KMEANS_WORKFLOW_DIR", os.path.join(os.path.dirname(__file__), ".."))
# 0 when kmeans-segment was built without the VTK preview (the sanitizer build): the cohort then runs with
# --no-preview, and what needs the pictures is skipped.
PREVIEW = os.environ.get("KMEANS_PREVIEW", "1") != "0"
PREVIEW_ARGS = () if PREVIEW else ("--no-preview",)
NO_PREVIEW_REASON = "kmeans-segment was built without the VTK preview (KMEANS_PREVIEW=0): no preview pictures"
OUTPUT_ROOT = os.environ.get("KMEANS_TEST_OUTPUT_DIR", os.path.join(os.getcwd(), "cohort-test-output"))

# (subject, session, shape, ventricle radius, seed, mask); sub-04 is cut short, sub-05 has large ventricles.
SUBJECTS = [("01", "1", (40, 48, 40), 0.25, 1, False), ("01", "2", (48, 56, 48), 0.27, 2, False),
            ("02", None, (32, 40, 32), 0.24, 3, False), ("03", None, (48, 56, 48), 0.26, 4, True),
            ("04", None, (40, 48, 40), 0.25, 5, False), ("05", None, (40, 48, 40), 0.55, 6, False),
            ("06", None, (36, 44, 36), 0.23, 7, False)]
CORRUPT = "sub-04"
OUTLIER = "sub-05"


def fresh_dir(name):
    path = os.path.join(OUTPUT_ROOT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def make_bids(root, subjects=SUBJECTS):
    phantoms.write_description(root)
    for sub, ses, shape, ventricles, seed, mask in subjects:
        t1w = phantoms.add_scan(root, sub, ses, shape, ventricles=ventricles, seed=seed, mask=mask)
        if f"sub-{sub}" == CORRUPT:
            phantoms.truncate(t1w)
    return root


def run_cohort(*args, env=None):
    """(exit status, stdout + stderr) of kmeans-cohort."""
    environment = dict(os.environ, **(env or {}))
    environment.pop("DISPLAY", None)
    result = subprocess.run([COHORT, *args], capture_output=True, text=True, env=environment)
    return result.returncode, result.stdout + result.stderr


def jobs_run(output, rule):
    """How many jobs of a rule a Snakemake run started (its 'rule <name>:' / 'localrule <name>:' headers)."""
    return len(re.findall(rf"^(?:local)?rule {rule}:$", output, re.MULTILINE))


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def status_times(output_dir):
    folder = os.path.join(output_dir, "work", "scans")
    return {name: os.stat(os.path.join(folder, name)).st_mtime_ns for name in os.listdir(folder)}


def program_version():
    return subprocess.run([SEGMENT, "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
