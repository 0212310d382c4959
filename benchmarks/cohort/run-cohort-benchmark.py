#!/usr/bin/python3
"""Cohort benchmark (not a test): N copies of the 1 mm brain phantom with different noise, segmented
(a) by the Snakemake workflow locally (kmeans-cohort --cores 2),
(b) by the workflow through a one-node Slurm with job groups (kmeans-cohort --slurm; needs root),
(c) by kmeans-segment's own batch mode (--output-dir -j 2),
all with K = 3, --nonzero, no preview, no probability maps and K-means (or --model gmm+mrf); prints wall times and the ratios (a)/(c), (b)/(c) (target
<= 1.25), the per-scan cost and Snakemake's fixed costs, and the machine's load.

    /usr/bin/python3 benchmarks/cohort/run-cohort-benchmark.py --build build [--scans 40] [--no-slurm]
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "..", "workflow"), os.path.join(HERE, "..", "..", "workflow", "test")]
import phantoms  # noqa: E402
import slurm_cluster  # noqa: E402

SHAPE = (160, 192, 160)  # 1 mm voxels


def make_dataset(root, scans):
    phantoms.write_description(root)
    for i in range(scans):
        image, _ = phantoms.phantom_image(SHAPE, noise=0.02 + 0.05 * i / max(scans - 1, 1), seed=i)
        path = os.path.join(root, f"sub-{i + 1:03d}", "anat", f"sub-{i + 1:03d}_T1w.nii.gz")
        phantoms.save_nifti(path, image, (1.0, 1.0, 1.0))
    return sorted(os.path.join(root, d, "anat", f"{d}_T1w.nii.gz") for d in os.listdir(root) if d.startswith("sub-"))


CPU = {}


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd, env=None, key=None):
    """Wall time of a command; its processor time (user + system of it and its children) goes to CPU[key]."""
    cpu = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if key:
        CPU[key] = children_cpu() - cpu
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return elapsed, result.stdout + result.stderr


def load():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--scans", type=int, default=40)
    parser.add_argument("--group-size", type=int, default=20)
    parser.add_argument("--work", default=None, help="scratch folder (default BUILD/cohort-benchmark)")
    parser.add_argument("--no-slurm", action="store_true")
    parser.add_argument("--fast-polling", action="store_true",
                        help="(b) with CI=true, which makes Snakemake 7.21's cluster executor poll job states every "
                             "second instead of every 10 s (and wait 1 s, not 10, at its end)")
    parser.add_argument("--model", choices=("kmeans", "gmm+mrf"), default="kmeans",
                        help="gmm+mrf: (c) runs --model gmm --common-variance --mrf 0.6, as the workflow does")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    segment, cohort = (os.path.join(build, "programs", p) for p in ("kmeans-segment", "kmeans-cohort"))
    work = os.path.abspath(args.work or os.path.join(build, "cohort-benchmark"))
    shutil.rmtree(work, ignore_errors=True)
    files = make_dataset(os.path.join(work, "bids"), args.scans)
    env = dict(os.environ, USER=os.environ.get("USER") or "root")
    env.pop("DISPLAY", None)
    print(f"{args.scans} scans of {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} int16 at 1 mm, model {args.model}; {load()}")
    single, _ = timed([segment, files[0], "-o", os.path.join(work, "one.nii.gz"), "-k", "3", "--nonzero",
                       "--tissues", "--threads", "1", "--quiet", *(["--model", "gmm", "--common-variance", "--mrf",
                                                                    "0.6"] if args.model == "gmm+mrf" else [])])
    times = {}
    model = ["--model", "gmm", "--common-variance", "--mrf", "0.6"] if args.model == "gmm+mrf" else []
    times["c"], _ = timed([segment, *files, "--output-dir", os.path.join(work, "batch"), "-j", "2", "-k", "3",
                           "--nonzero", "--tissues", "--threads", "1", *model], key="c")
    common = ["--no-preview", "--no-probseg", "--threads-per-scan", "1", "--model", args.model]
    times["a"], log = timed([cohort, os.path.join(work, "bids"), os.path.join(work, "local"), "--cores", "2",
                             *common], env, key="a")
    times["a (re-run, nothing to do)"], _ = timed([cohort, os.path.join(work, "bids"), os.path.join(work, "local"),
                                                   "--cores", "2", *common], env, key="a (re-run, nothing to do)")
    if not args.no_slurm and os.geteuid() == 0 and shutil.which("slurmctld"):
        cluster = os.path.join(work, "slurm-cluster")
        try:
            slurm_env = dict(env, **slurm_cluster.start(cluster), **({"CI": "true"} if args.fast_polling else {}))
            times["b"], _ = timed([cohort, os.path.join(work, "bids"), os.path.join(work, "slurm"), "--slurm",
                                   "--jobs", "100", "--group-size", str(args.group_size), *common], slurm_env)
        finally:
            slurm_cluster.stop(cluster)
    print(f"one scan alone (kmeans-segment, 1 thread): {single:.2f} s")
    print(f"(c) kmeans-segment --output-dir -j 2: {times['c']:.2f} s ({times['c'] / args.scans:.3f} s per scan)")
    for key in ("a", "a (re-run, nothing to do)", "b"):
        if key in times:
            print(f"({key}) workflow: {times[key]:.2f} s, ratio to (c) {times[key] / times['c']:.2f}"
                  + (" (target <= 1.25)" if len(key) == 1 else ""))
    for key, seconds in CPU.items():
        print(f"processor time ({key}): {seconds:.2f} s" + (f", ratio to (c) {seconds / CPU['c']:.2f}" if key != "c"
                                                             else ""))
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
