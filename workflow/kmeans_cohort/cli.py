"""kmeans-cohort: segment every scan of a BIDS dataset (or a list of images) with kmeans-segment, through the
Snakemake workflow, on this machine or on Slurm; BIDS derivatives, group/volumes.tsv and group/report.html out.

Exit status: 0 when every scan was segmented, 1 when a scan failed or the workflow did, 2 for usage errors.
"""
import argparse
import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys

from . import scans, table


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage errors as one line and exit status 2, as kmeans-segment words them."""

    def error(self, message):
        self.exit(2, f"{self.prog}: usage error: {message} (see --help)\n")


def parse_args(argv):
    p = OneLineErrorParser(
        prog="kmeans-cohort",
        description="Segment a cohort: BIDS_DIR (a BIDS dataset, or a .txt/.csv/.tsv list of images) into a "
                    "BIDS-derivatives dataset OUTPUT_DIR with per-scan tissue maps, group/volumes.tsv and "
                    "group/report.html. Runs the Snakemake workflow: a re-run does only what is missing.",
        epilog="Arguments after -- go to snakemake.")
    p.add_argument("bids_dir", metavar="BIDS_DIR")
    p.add_argument("output_dir", metavar="OUTPUT_DIR")
    run = p.add_argument_group("execution")
    run.add_argument("--cores", type=int, default=os.cpu_count(), help="cores on this machine (default: all)")
    run.add_argument("--slurm", action="store_true", help="submit the scans to Slurm with sbatch")
    run.add_argument("--jobs", type=int, default=100, help="Slurm jobs queued at once (default 100)")
    run.add_argument("--group-size", type=int, default=20,
                     help="scans per Slurm job (run one after another; default 20)")
    run.add_argument("--batch-size", type=int, default=0,
                     help="segment the scans that need a run in batches of up to N scans, one job each (one "
                          "process for the batch: no per-scan job costs; on Slurm instead of --group-size); "
                          "default 0: one job per scan")
    run.add_argument("--batch-threads", type=int, default=0,
                     help="scans a batch job runs at once (default: --cores locally, 1 per Slurm job)")
    run.add_argument("--fast-polling", action="store_true",
                     help="with --slurm: ask for job states every second instead of every 10 s (sets CI=true for "
                          "Snakemake, which in 7.21 reads it only for this wait; not passed to the jobs)")
    run.add_argument("--sbatch-args", default="", help='extra sbatch options, e.g. "--partition=short"')
    run.add_argument("--profile", help="a Snakemake profile of your own instead of the bundled one")
    run.add_argument("-n", "--dry-run", action="store_true", help="show what would run")
    run.add_argument("--retry-failed", action="store_true", help="segment the scans that failed before again")
    run.add_argument("--snakemake", default="snakemake", help="the snakemake program (default: on PATH)")
    sel = p.add_argument_group("selection")
    sel.add_argument("--participant-label", nargs="+", default=[], help="subjects (with or without 'sub-')")
    sel.add_argument("--session-label", nargs="+", default=[], help="sessions (with or without 'ses-')")
    sel.add_argument("--t2w", action="store_true", help="use the _T2w beside each _T1w as a second channel")
    sel.add_argument("--mask-desc", default="", help="use <entities>_desc-<LABEL>_mask beside each _T1w")
    sel.add_argument("--mask-dir", default="", help="look for those masks in this BIDS-like tree too")
    model = p.add_argument_group("segmentation (kmeans-segment options)")
    model.add_argument("--model", choices=("kmeans", "gmm", "gmm+mrf", "pve"), default="kmeans",
                       help="pve: the partial-volume model (--pve), whose tissue fractions are the probseg maps")
    model.add_argument("-k", type=int, default=3, help="number of classes (default 3: CSF, GM, WM)")
    model.add_argument("--n4", action="store_true", help="N4 bias-field correction first")
    model.add_argument("--mrf-beta", type=float, default=0.6, help="Potts prior weight of gmm+mrf and pve (0.6)")
    model.add_argument("--foreground", choices=("nonzero", "auto", "all"), default="nonzero",
                       help="voxels to classify without a mask (default nonzero: skull-stripped scans)")
    model.add_argument("--no-preview", action="store_true", help="no preview pictures (faster)")
    model.add_argument("--no-probseg", action="store_true",
                       help="no probability maps with gmm / gmm+mrf / pve (they are the largest output)")
    model.add_argument("--threads-per-scan", type=int, default=1)
    args, extra = p.parse_known_args(argv)
    if extra and extra[0] == "--":
        extra = extra[1:]
    elif extra:
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    if not 1 <= args.k <= 255:
        p.error(f"-k must be from 1 to 255, not {args.k}")
    if args.batch_size < 0 or args.batch_threads < 0:
        p.error("--batch-size and --batch-threads must be 0 or more")
    if args.t2w and args.model != "kmeans":
        p.error(f"--t2w (two channels) works with --model kmeans, not {args.model} "
                "(the Gaussian mixture models one channel)")
    return args, extra


def workflow_config(args, program_dir):
    segment = os.path.join(program_dir, "kmeans-segment")
    return {"bids_dir": os.path.abspath(args.bids_dir), "participant_label": args.participant_label,
            "session_label": args.session_label, "t2w": args.t2w, "mask_desc": args.mask_desc,
            "mask_dir": os.path.abspath(args.mask_dir) if args.mask_dir else "", "model": args.model, "k": args.k,
            "n4": args.n4, "mrf_beta": args.mrf_beta, "foreground": args.foreground,
            "preview": not args.no_preview, "probseg": not args.no_probseg, "threads": args.threads_per_scan,
            "batch_size": args.batch_size, "batch_threads": args.batch_threads,
            "retry_failed": bool(args.retry_failed and args.batch_size),
            "kmeans_segment": segment if os.access(segment, os.X_OK) else (shutil.which("kmeans-segment") or "")}


def write_if_changed(path, text):
    if os.path.isfile(path):
        with open(path) as handle:
            if handle.read() == text:
                return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)


def snakemake_command(args, extra, workflow_dir, config_file):
    cmd = [args.snakemake, "--snakefile", os.path.join(workflow_dir, "Snakefile"), "--directory",
           os.path.abspath(args.output_dir), "--configfile", config_file, "--keep-going", "--rerun-incomplete",
           "--scheduler", "greedy", "--keep-incomplete"]  # every output is written whole and renamed into place
    if args.slurm or args.profile:
        cmd += ["--profile", args.profile or os.path.join(workflow_dir, "profiles", "slurm"), "--jobs",
                str(args.jobs), "--group-components", f"segment={args.group_size}"]
    else:
        cmd += ["--cores", str(max(args.cores, 1))]
    if args.dry_run:
        cmd.append("--dry-run")
    return cmd + extra


def failed_records(output_dir):
    """Status records of the scans that failed before (for --retry-failed: Snakemake's --forcerun of these)."""
    folder = os.path.join(output_dir, "work", "scans")
    failed = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name)) as handle:
            if json.load(handle).get("status") != "ok":
                failed.append(f"work/scans/{name}")
    return failed


def summarize(output_dir):
    """Prints the outcome; returns the number of failed scans (None without a table)."""
    path = os.path.join(output_dir, "group", "volumes.tsv")
    if not os.path.isfile(path):
        return None
    rows = table.read_tsv(path)
    failed = [row for row in rows if row["status"] != "ok"]
    outliers = [row for row in rows if row["status"] == "ok" and row["outlier"] != table.NA]
    print(f"kmeans-cohort: {len(rows)} scans, {len(rows) - len(failed)} segmented, {len(failed)} failed, "
          f"{len(outliers)} outliers: {path}, {os.path.join(output_dir, 'group', 'report.html')}")
    for row in failed:
        print(f"kmeans-cohort: failed: {row['scan_id']}: {row['error']}", file=sys.stderr)
    return len(failed)


def main(argv=None, workflow_dir=None, program_dir=None):
    args, extra = parse_args(sys.argv[1:] if argv is None else argv)
    workflow_dir = workflow_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    program_dir = program_dir or os.path.dirname(os.path.abspath(sys.argv[0]))
    try:
        found = scans.find_scans(args.bids_dir, args.participant_label, args.session_label, args.t2w,
                                 args.mask_desc or None, args.mask_dir or None)
    except (scans.ScanError, OSError) as error:
        print(f"kmeans-cohort: error: {error}", file=sys.stderr)
        return 1
    if not shutil.which(args.snakemake):
        print(f"kmeans-cohort: error: '{args.snakemake}' not found (install snakemake)", file=sys.stderr)
        return 1
    config = workflow_config(args, program_dir)
    config_file = os.path.join(os.path.abspath(args.output_dir), "work", "kmeans-cohort.json")
    write_if_changed(config_file, json.dumps(config, indent=2, sort_keys=True) + "\n")
    env = dict(os.environ)
    env.setdefault("USER", pwd.getpwuid(os.getuid()).pw_name)  # Snakemake reads $USER; CI leaves it unset
    if args.sbatch_args:
        env["KMEANS_SBATCH_ARGS"] = args.sbatch_args
    if args.fast_polling and env.get("CI") != "true":
        # Snakemake 7.21 waits 10 s between job status rounds (1 s when CI=true), and again before it exits.
        env.update(CI="true", KMEANS_UNSET_CI="1")  # slurm-submit.py keeps CI out of the jobs' environment
    cmd = snakemake_command(args, extra, workflow_dir, config_file)
    retry = failed_records(args.output_dir) if args.retry_failed and not args.batch_size else []
    if retry:
        cmd[1:1] = ["--forcerun", *retry]
    print(f"kmeans-cohort: {len(found)} scans from {args.bids_dir}: {' '.join(shlex.quote(c) for c in cmd)}",
          flush=True)
    status = subprocess.run(cmd, env=env).returncode
    if args.dry_run:
        return 0 if status == 0 else 1
    failed = summarize(args.output_dir)
    return 1 if status != 0 or failed else 0
