"""One scan of a cohort: run kmeans-segment, then place its outputs as BIDS derivatives.

    python3 -m kmeans_cohort.scan --id sub-01_ses-1 --sub 01 --ses 1 --t1w T1.nii.gz [--t2w ...] [--mask ...]
        --options '{"model": "kmeans", "k": 3, ...}' --status work/scans/sub-01_ses-1.json

Writes, in the current directory (the derivative dataset): `sub-*/[ses-*/]anat/<id>_dseg.nii.gz`, `_dseg.tsv`,
`_dseg.json` (the kmeans-segment report with BIDS `Sources`), `_label-<L>_probseg.nii.gz` + `.json` when the
model gives posteriors (with model "pve": the tissue fractions of the partial-volume model, as FSL FAST's pve maps), `sub-*/figures/<id>_dseg.png` (the preview), a thumbnail for the cohort page and the status
record. A scan kmeans-segment refuses (exit status 1: bad input) is recorded as failed with its one-line error and
this step succeeds, so the cohort goes on and the failure is listed; any other failure (a signal, a usage error)
fails the step. Outputs are built in a temporary folder (work/tmp, on the same file system) and renamed into
place.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import classes, scans

MODELS = ("kmeans", "gmm", "gmm+mrf", "pve")
DEFAULTS = {"model": "kmeans", "k": 3, "n4": False, "foreground": "nonzero", "mrf_beta": 0.6, "preview": True,
            "threads": 1, "tissues": True, "probseg": True, "kmeans_segment": "kmeans-segment", "extra_args": []}


def segment_command(options, inputs, mask, work):
    """kmeans-segment's command line for one scan, writing into the folder `work`."""
    o = dict(DEFAULTS, **options)
    if o["model"] not in MODELS:
        raise ValueError(f"model '{o['model']}' is not one of {', '.join(MODELS)}")
    cmd = [o["kmeans_segment"], *inputs, "-o", os.path.join(work, "dseg.nii.gz"), "-k", str(o["k"]),
           "--report", os.path.join(work, "report.json"), "--quiet", "--threads", str(o["threads"])]
    if mask:
        cmd += ["--mask", mask]
    elif o["foreground"] == "nonzero":
        cmd += ["--nonzero"]
    elif o["foreground"] == "auto":
        cmd += ["--auto-mask"]
    if o["model"] != "kmeans":
        cmd += ["--model", "gmm", "--common-variance"]
    if o["model"] == "pve":
        # The partial-volume model: its tissue fractions (work/pve_pve_<label>.nii.gz) are the probseg maps.
        cmd += ["--pve", os.path.join(work, "pve"), "--mrf", str(o["mrf_beta"])]
    elif o["model"] != "kmeans" and o["probseg"]:
        # Uncompressed in the temporary folder: it is read once and split into the compressed probseg maps.
        cmd += ["--posteriors", os.path.join(work, "posteriors.nii")]
    if o["model"] == "gmm+mrf":
        cmd += ["--mrf", str(o["mrf_beta"])]
    if o["n4"]:
        cmd += ["--n4"]
    if o["tissues"] and int(o["k"]) == 3:
        cmd += ["--tissues"]
    if o["preview"]:
        cmd += ["--preview", os.path.join(work, "preview.png")]
    return cmd + list(o["extra_args"])


def with_display(cmd):
    """Rendering needs an X display: without DISPLAY, run under `xvfb-run -a` when it is installed (harmless
    when the program starts its own X server)."""
    if os.environ.get("DISPLAY") or not shutil.which("xvfb-run"):
        return cmd
    return ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24 -nolisten tcp", *cmd]


RUNNING = set()  # process groups of the kmeans-segment runs in progress (a batch runs several in threads)
RUNNING_LOCK = threading.Lock()
STOPPING = threading.Event()  # set when the step was told to stop: no new run starts


def kill_running():
    """End every running kmeans-segment process group (X server included)."""
    STOPPING.set()
    with RUNNING_LOCK:
        for pid in list(RUNNING):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_killable(cmd):
    """Run a command in its own process group; a signal to this step (Snakemake cancelling the job) ends the
    whole group, X server included."""
    with RUNNING_LOCK:
        if STOPPING.is_set():
            return -signal.SIGTERM, "", "interrupted"
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        RUNNING.add(process.pid)
    try:
        out, err = process.communicate()
    except BaseException:
        kill_running()
        process.wait()
        raise
    finally:
        with RUNNING_LOCK:
            RUNNING.discard(process.pid)
    return process.returncode, out, err


def run_segment(cmd, preview):
    """(exit status, stderr) of kmeans-segment; retries when xvfb-run could not start its X server (two
    `xvfb-run -a` starting at once may pick the same display)."""
    for _ in range(3):
        status, _, err = run_killable(with_display(cmd) if preview else cmd)
        if not (status != 0 and "xvfb-run: error" in err):
            break
        time.sleep(0.5)
    return status, err


def one_line_error(stderr):
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "kmeans-segment failed without a message"


def split_posteriors(path, out_dir, stem, labels):
    """The posterior vector image as one 3-D `_label-<L>_probseg.nii.gz` per class (float32, written with
    nibabel's fast gzip level 1)."""
    import nibabel
    import numpy

    image = nibabel.load(path)
    data = numpy.asanyarray(image.dataobj)
    data = data.reshape(data.shape[:3] + (-1,))
    if data.shape[3] != len(labels):
        raise RuntimeError(f"{path}: {data.shape[3]} posterior components for {len(labels)} classes")
    written = []
    for index, label in enumerate(labels):
        out = nibabel.Nifti1Image(data[..., index].astype(numpy.float32), image.affine)
        out.set_qform(image.affine, int(image.header["qform_code"]) or 1)
        out.set_sform(image.affine, int(image.header["sform_code"]) or 1)
        name = f"{stem}_label-{label}_probseg.nii.gz"
        nibabel.save(out, os.path.join(out_dir, name))
        written.append(name)
    return written


def make_thumbnail(preview, target, width=480):
    """A small JPEG of the preview for the cohort page (a copy of the PNG without Pillow)."""
    try:
        from PIL import Image
    except ImportError:
        shutil.copyfile(preview, target)
        return
    with Image.open(preview) as picture:
        picture = picture.convert("RGB")
        picture.thumbnail((width, width * 4))
        picture.save(target, "JPEG", quality=85)


def write_json(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)


def thumbnail_path(scan_id):
    return f"work/thumbnails/{scan_id}.jpg"


def place_outputs(scan, options, work, source_refs):
    """Turn kmeans-segment's outputs in `work` into the scan's derivatives; returns the files written."""
    o = dict(DEFAULTS, **options)
    anat, figures = scans.anat_dir(scan), scans.figures_dir(scan)
    stem = f"{scan['id']}_dseg"
    with open(os.path.join(work, "report.json")) as handle:
        report = json.load(handle)
    k = len(report.get("classes", [])) or int(o["k"])
    labels = classes.abbreviations(k, o["tissues"])
    staged = {f"{anat}/{stem}.nii.gz": os.path.join(work, "dseg.nii.gz")}
    with open(os.path.join(work, "dseg.tsv"), "w") as handle:
        handle.write(classes.dseg_tsv(k, o["tissues"]))
    staged[f"{anat}/{stem}.tsv"] = os.path.join(work, "dseg.tsv")
    write_json(os.path.join(work, "dseg.json"), dict({"Sources": source_refs}, **report))
    staged[f"{anat}/{stem}.json"] = os.path.join(work, "dseg.json")
    if os.path.isfile(os.path.join(work, "posteriors.nii")):
        for name in split_posteriors(os.path.join(work, "posteriors.nii"), work, scan["id"], labels):
            sidecar = name.replace(".nii.gz", ".json")
            write_json(os.path.join(work, sidecar), {"Sources": source_refs, "model": o["model"]})
            staged[f"{anat}/{name}"] = os.path.join(work, name)
            staged[f"{anat}/{sidecar}"] = os.path.join(work, sidecar)
    if o["model"] == "pve" and o["probseg"]:
        for index, label in enumerate(labels):
            name = f"{scan['id']}_label-{label}_probseg.nii.gz"
            os.replace(os.path.join(work, f"pve_pve_{index + 1}.nii.gz"), os.path.join(work, name))
            sidecar = name.replace(".nii.gz", ".json")
            write_json(os.path.join(work, sidecar), {
                "Sources": source_refs, "model": o["model"],
                "Description": f"fraction of the voxel's volume taken by {label} (partial-volume model, 0 to 1, "
                               "the classes summing to 1 inside the mask)"})
            staged[f"{anat}/{name}"] = os.path.join(work, name)
            staged[f"{anat}/{sidecar}"] = os.path.join(work, sidecar)
    if os.path.isfile(os.path.join(work, "preview.png")):
        make_thumbnail(os.path.join(work, "preview.png"), os.path.join(work, "thumbnail.jpg"))
        staged[f"{figures}/{stem}.png"] = os.path.join(work, "preview.png")
        staged[thumbnail_path(scan["id"])] = os.path.join(work, "thumbnail.jpg")
    for target, source in staged.items():
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(source, target)
    return report, sorted(staged)


def source_references(scan, bids_dir):
    """BIDS URIs (`bids:raw:<path>`) of the inputs inside the raw dataset, absolute paths otherwise."""
    refs = []
    for key in ("t1w", "t2w", "mask"):
        if scan.get(key):
            rel = os.path.relpath(scan[key], bids_dir) if bids_dir else ".."
            refs.append(f"bids:raw:{rel}" if not rel.startswith("..") else scan[key])
    return refs


def recorded_options(options):
    """The options a status record keeps to tell whether it is current (the thread count changes no result)."""
    return {k: v for k, v in options.items() if k != "threads"}


def record_is_current(scan, options, status_path):
    """True when status_path records this scan (same inputs) segmented with these options, and is newer than
    each input: then the scan needs no new run."""
    try:
        with open(status_path) as handle:
            record = json.load(handle)
        written = os.stat(status_path).st_mtime
        newest = max(os.stat(scan[k]).st_mtime for k in ("t1w", "t2w", "mask") if scan.get(k))
    except (OSError, ValueError):
        return False
    same = all(record.get(k, "") == scan.get(k, "") for k in ("id", "t1w", "t2w", "mask"))
    return same and not record.get("retry") and record.get("options") == recorded_options(options) and written >= newest


def base_record(scan, options):
    """The part of a status record that names the scan, its inputs and the options."""
    return {"id": scan["id"], "sub": scan["sub"], "ses": scan["ses"], "t1w": scan["t1w"],
            "t2w": scan.get("t2w", ""), "mask": scan.get("mask", ""),
            "model": options.get("model", DEFAULTS["model"]), "k": int(options.get("k", DEFAULTS["k"])),
            "options": recorded_options(options)}


def process(scan, options, status_path, bids_dir=""):
    """Segment one scan and write its status record; returns the process exit status for this step."""
    started = time.time()
    record = base_record(scan, options)
    os.makedirs("work/tmp", exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"{scan['id']}.", dir="work/tmp")
    try:
        inputs = [scan["t1w"]] + ([scan["t2w"]] if scan.get("t2w") else [])
        cmd = segment_command(options, inputs, scan.get("mask", ""), work)
        status, err = run_segment(cmd, options.get("preview", DEFAULTS["preview"]))
        record["time_s"] = round(time.time() - started, 3)
        if status == 1:
            record.update(status="failed", error=one_line_error(err))
        elif status != 0:
            sys.stderr.write(err)
            sys.stderr.write(f"kmeans-cohort: {scan['id']}: kmeans-segment ended with status {status}\n")
            return status if status > 0 else 1
        else:
            report, files = place_outputs(scan, options, work, source_references(scan, bids_dir))
            record.update(status="ok", error="", files=files, report=f"{scans.anat_dir(scan)}/{scan['id']}_dseg.json")
            record["warnings"] = [line for line in err.splitlines() if line.strip()]
        write_json(status_path, record)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Segment one scan of a cohort into BIDS derivatives")
    parser.add_argument("--id", required=True)
    parser.add_argument("--sub", required=True)
    parser.add_argument("--ses", default="")
    parser.add_argument("--t1w", required=True)
    parser.add_argument("--t2w", default="")
    parser.add_argument("--mask", default="")
    parser.add_argument("--bids-dir", default="")
    parser.add_argument("--options", default="{}", help="JSON object of segmentation options")
    parser.add_argument("--status", required=True, help="status record to write")
    parser.add_argument("--threads", type=int, help="threads (Snakemake's, which it may scale down)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    scan = {k: getattr(args, k) for k in ("id", "sub", "ses", "t1w", "t2w", "mask")}
    options = json.loads(args.options)
    if args.threads:
        options["threads"] = args.threads
    return process(scan, options, args.status, args.bids_dir)


if __name__ == "__main__":
    sys.exit(main())
