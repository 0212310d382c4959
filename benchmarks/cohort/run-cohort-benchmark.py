#!/usr/bin/python3
"""Cohort benchmark (not a test): N copies of the 1 mm brain phantom with different noise, segmented
(c) by kmeans-segment's own batch mode (--output-dir -j 2), the baseline,
(a) by the Snakemake workflow locally (kmeans-cohort --cores 2): one job per scan, and in batches (--batch-size),
(b) by the workflow through a one-node Slurm (kmeans-cohort --slurm; needs root): job groups of one job per scan,
    batches, and batches with --fast-polling,
all with K = 3, --nonzero, no preview, no probability maps and K-means (or --model gmm+mrf). Every variant runs
--repeat times (in turns, so that a change of the machine's load hits them alike); prints the minimum and median
wall time, the ratios of the minima and medians to (c)'s (target <= 1.25), processor time, and the load.

    /usr/bin/python3 benchmarks/cohort/run-cohort-benchmark.py --build build [--scans 40] [--repeat 3] [--no-slurm]
"""
import argparse
import os
import resource
import shutil
import statistics
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


def variants(args, cohort, work, files, segment):
    """(name, command, needs Slurm, extra environment) of every measured run."""
    model = ["--model", "gmm", "--common-variance", "--mrf", "0.6"] if args.model == "gmm+mrf" else []
    common = ["--no-preview", "--no-probseg", "--threads-per-scan", "1", "--model", args.model]
    bids = os.path.join(work, "bids")
    out = lambda name: os.path.join(work, "out", name)  # noqa: E731
    slurm = ["--slurm", "--jobs", "100"]
    return [
        ("(c) kmeans-segment --output-dir -j 2", [segment, *files, "--output-dir", out("c"), "-j", "2", "-k", "3",
                                                  "--nonzero", "--tissues", "--threads", "1", *model], False),
        ("(a) --cores 2, a job per scan", [cohort, bids, out("a1"), "--cores", "2", *common], False),
        (f"(a) --cores 2 --batch-size {args.scans}", [cohort, bids, out("a2"), "--cores", "2", "--batch-size",
                                                       str(args.scans), *common], False),
        ("(a) re-run, nothing to do", [cohort, bids, out("a1"), "--cores", "2", *common], False),
        (f"(b) Slurm, --group-size {args.group_size}", [cohort, bids, out("b1"), *slurm, "--group-size",
                                                         str(args.group_size), *common], True),
        (f"(b) Slurm, --batch-size {args.group_size}", [cohort, bids, out("b2"), *slurm, "--batch-size",
                                                         str(args.group_size), *common], True),
        (f"(b) Slurm, --batch-size {args.group_size} --fast-polling",
         [cohort, bids, out("b3"), *slurm, "--batch-size", str(args.group_size), "--fast-polling", *common], True)]


def dataset(work, scans, reuse):
    bids = os.path.join(work, "bids")
    if reuse and os.path.isdir(bids) and len([d for d in os.listdir(bids) if d.startswith("sub-")]) == scans:
        return sorted(os.path.join(bids, d, "anat", f"{d}_T1w.nii.gz") for d in os.listdir(bids)
                      if d.startswith("sub-"))
    shutil.rmtree(work, ignore_errors=True)
    return make_dataset(bids, scans)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--scans", type=int, default=40)
    parser.add_argument("--group-size", type=int, default=20, help="scans per Slurm job (groups and batches)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", default=None, help="scratch folder (default BUILD/cohort-benchmark)")
    parser.add_argument("--reuse-dataset", action="store_true", help="keep the phantoms of an earlier run")
    parser.add_argument("--no-slurm", action="store_true")
    parser.add_argument("--model", choices=("kmeans", "gmm+mrf"), default="kmeans",
                        help="gmm+mrf: (c) runs --model gmm --common-variance --mrf 0.6, as the workflow does")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    segment, cohort = (os.path.join(build, "programs", p) for p in ("kmeans-segment", "kmeans-cohort"))
    work = os.path.abspath(args.work or os.path.join(build, "cohort-benchmark"))
    files = dataset(work, args.scans, args.reuse_dataset)
    env = dict(os.environ, USER=os.environ.get("USER") or "root")
    env.pop("DISPLAY", None)
    use_slurm = not args.no_slurm and os.geteuid() == 0 and shutil.which("slurmctld")
    runs = [v for v in variants(args, cohort, work, files, segment) if use_slurm or not v[2]]
    print(f"{args.scans} scans of {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} int16 at 1 mm, model {args.model}, "
          f"{args.repeat} turns; {load()}", flush=True)
    cluster = os.path.join(work, "slurm-cluster")
    slurm_env = {}
    times, cpu = {name: [] for name, *_ in runs}, {name: [] for name, *_ in runs}
    try:
        if use_slurm:
            slurm_env = slurm_cluster.start(cluster)
        for turn in range(args.repeat):
            for name, cmd, needs_slurm, in runs:
                if "re-run" not in name:
                    shutil.rmtree(cmd[cmd.index("--output-dir") + 1] if "--output-dir" in cmd else cmd[2],
                                  ignore_errors=True)
                seconds, _ = timed(cmd, dict(env, **slurm_env) if needs_slurm else env, key=name)
                times[name].append(seconds)
                cpu[name].append(CPU[name])
            print(f"turn {turn + 1}: " + ", ".join(f"{times[n][-1]:.2f}" for n, *_ in runs) + f"; {load()}",
                  flush=True)
    finally:
        if use_slurm:
            slurm_cluster.stop(cluster)
    base = runs[0][0]
    low, mid = min(times[base]), statistics.median(times[base])
    print(f"{'variant':55s} {'min s':>7s} {'median s':>9s} {'min/(c)':>8s} {'med/(c)':>8s} {'cpu s':>6s}")
    for name, _, needs_slurm in runs:  # jobs Slurm runs are not children: their processor time is not counted
        print(f"{name:55s} {min(times[name]):7.2f} {statistics.median(times[name]):9.2f} "
              f"{min(times[name]) / low:8.2f} {statistics.median(times[name]) / mid:8.2f} "
              + ("     -" if needs_slurm else f"{statistics.median(cpu[name]):6.2f}"))
    print(f"(c) per scan: {low / args.scans:.3f} s wall (2 at once); target: (a), (b) <= 1.25 x (c)")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
