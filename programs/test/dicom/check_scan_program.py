#!/usr/bin/env python3
"""Runs kmeans-segment the way 3D Slicer and users run it on scans: --xml parsed as XML and compared with --help,
a run with the arguments Slicer passes (progress lines, .seg.nrrd output), a real DICOM series directory, and
refusals of bad series (several series, a missing slice, a file cut short) with nothing written.

Usage: check_scan_program.py KMEANS_SEGMENT SHARED_DATA_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

program, data = sys.argv[1], sys.argv[2]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def run(*args, **kwargs):
    return subprocess.run([program, *args], capture_output=True, text=True, **kwargs)


def nrrd_keys(path):
    keys = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("latin-1").rstrip("\n")
            if not line:
                break
            if ":=" in line:
                key, value = line.split(":=", 1)
                keys[key] = value
    return keys


def write_nrrd_phantom(path):
    """32x32x16 unsigned char: three intensity blocks on a zero background."""
    sx, sy, sz = 32, 32, 16
    voxels = bytearray()
    for z in range(sz):
        for y in range(sy):
            for x in range(sx):
                voxels.append(0 if x < 4 else 40 + (x // 10) * 50 + (x * 7 + y * 3 + z) % 5)
    with open(path, "wb") as f:
        f.write(b"NRRD0004\ntype: unsigned char\ndimension: 3\nspace: left-posterior-superior\n"
                b"sizes: 32 32 16\nspace directions: (1,0,0) (0,1,0) (0,0,2)\nkinds: domain domain domain\n"
                b"encoding: raw\nspace origin: (0,0,0)\n\n")
        f.write(bytes(voxels))


work = tempfile.mkdtemp(prefix="kmeans-scan-program-")
try:
    # 1. The CLI module description: well-formed XML listing every option of --help.
    described = run("--xml")
    check(described.returncode == 0, "--xml exits 0")
    root = ET.fromstring(described.stdout)
    check(root.tag == "executable", "root element is <executable>")
    for tag in ("category", "title", "description", "version"):
        check(root.find(tag) is not None and root.find(tag).text, "<%s> present" % tag)
    longflags, indices = set(), []
    for group in root.findall("parameters"):
        check(group.find("label") is not None, "every <parameters> group has a label")
        for parameter in group:
            if parameter.tag in ("label", "description"):
                continue
            name = parameter.findtext("name")
            check(bool(name) and parameter.findtext("label") and parameter.findtext("description"),
                  "parameter %s has name, label, description" % name)
            if parameter.tag in ("image", "file", "directory"):
                check(parameter.findtext("channel") in ("input", "output"), "%s has a channel" % name)
            if parameter.findtext("longflag"):
                longflags.add(parameter.findtext("longflag"))
            if parameter.findtext("index") is not None:
                indices.append(int(parameter.findtext("index")))
            if name == "outputLabelMap":
                check(parameter.tag == "image" and parameter.get("type") == "label", "output is <image type=label>")
    check(sorted(indices) == list(range(len(indices))), "indices 0..n-1")
    helped = run("--help")
    options = set(re.findall(r"--([a-z][a-z0-9-]*)", helped.stdout))
    # Batches, series listing, the viewer, and the multi-channel options (Slicer passes one input volume).
    command_line_only = {"help", "version", "list-series", "series", "output-dir", "jobs", "output-suffix",
                         "quiet", "show", "standardize", "seed", "restarts"}
    missing = sorted(options - longflags - command_line_only)
    check(not missing, "options of --help missing from --xml: %s" % missing)
    check(not (longflags - options), "--xml flags unknown to the program: %s" % sorted(longflags - options))

    # 2. As Slicer runs it: defaults of every parameter as flags, then the positional input; progress lines.
    phantom = os.path.join(work, "phantom.nrrd")
    write_nrrd_phantom(phantom)
    args = []
    for parameter in root.iter():
        flag, default = parameter.findtext("longflag"), parameter.findtext("default")
        if not flag or default is None:
            continue
        if parameter.tag == "boolean":
            if default == "true":
                args.append("--" + flag)
        else:
            args += ["--" + flag, default]
    segmentation = os.path.join(work, "slicer.seg.nrrd")
    slicer = run(*args, "--output", segmentation, phantom)
    check(slicer.returncode == 0, "Slicer-style run exits 0: %s %s" % (args, slicer.stderr.strip()))
    for line in ("<filter-start>", "<filter-progress>", "<filter-end>"):
        check(line in slicer.stdout, "Slicer-style run prints %s" % line)
    if os.path.exists(segmentation):
        keys = nrrd_keys(segmentation)
        check(keys.get("Segment0_Name") == "Class 1" and keys.get("Segment2_LabelValue") == "3",
              "segmentation keys: %s" % {k: v for k, v in keys.items() if k.startswith("Segment0")})
        check(keys.get("Segmentation_MasterRepresentation") == "Binary labelmap", "master representation")
    else:
        check(False, "Slicer-style run wrote the segmentation")

    # 2b. A batch: two good inputs and a bad one, two at a time; the bad one does not stop the others.
    second = os.path.join(work, "second.nrrd")
    shutil.copy(phantom, second)
    bad = os.path.join(work, "broken.nii.gz")
    with open(bad, "w") as f:
        f.write("not an image\n")
    batch_dir = os.path.join(work, "batch")
    batch = run(phantom, bad, second, "-k", "3", "--output-dir", batch_dir, "-j", "2", "--output-suffix", ".nii.gz")
    check(batch.returncode != 0, "batch with a bad input exits non-zero")
    summary_csv = os.path.join(batch_dir, "summary.csv")
    if os.path.exists(summary_csv):
        with open(summary_csv) as f:
            rows = f.read().splitlines()
        check(rows[0].startswith("input,status,output,seconds,class1_volume_ml,class2_volume_ml,class3_volume_ml"),
              "summary.csv header: %s" % rows[0])
        statuses = {row.split(",")[0]: row.split(",")[1] for row in rows[1:]}
        check(statuses == {phantom: "ok", bad: "failed", second: "ok"}, "batch statuses: %s" % statuses)
        with open(os.path.join(batch_dir, "summary.json")) as f:
            summary = json.load(f)
        check(summary["failed"] == 1 and summary["inputs"] == 3, "summary.json counts")
        failed = [r for r in summary["results"] if r["status"] == "failed"]
        check(len(failed) == 1 and bad in failed[0]["error"], "the error names the bad file: %s" % failed)
        check(os.path.exists(os.path.join(batch_dir, "phantom.nii.gz")) and
              os.path.exists(os.path.join(batch_dir, "second.nii.gz")) and
              not os.path.exists(os.path.join(batch_dir, "broken.nii.gz")), "batch outputs")
        good = [r for r in summary["results"] if r["status"] == "ok"]
        check(all(len(r["classes"]) == 3 and r["classes"][0]["volume_ml"] > 0 for r in good), "class volumes")
    else:
        check(False, "batch wrote summary.csv: %s" % batch.stderr)

    # 3. The real DICOM series directory: listed, read, segmented to a tissue segmentation.
    series = os.path.join(data, "dicom", "philips-mprage-sag")
    if os.path.isdir(series):
        listed = run(series, "--list-series")
        check(listed.returncode == 0 and "256x256x170" in listed.stdout, "--list-series: %s" % listed.stdout)
        output = os.path.join(work, "philips.seg.nrrd")
        report = os.path.join(work, "philips.json")
        start = time.time()
        real = run(series, "-k", "3", "--tissues", "--auto-mask", "-o", output, "--report", report, "--quiet")
        seconds = time.time() - start
        check(real.returncode == 0, "real series segmented: %s" % real.stderr.strip())
        if real.returncode == 0:
            with open(report) as f:
                r = json.load(f)
            check(r["dicom"]["slices"] == 170 and r["dicom"]["oblique"], "report dicom entry: %s" % r.get("dicom"))
            keys = nrrd_keys(output)
            check([keys.get("Segment%d_Name" % i) for i in range(3)] == ["CSF", "Grey matter", "White matter"],
                  "tissue names in the segmentation")
            print("real series: %.1f s, auto mask fraction %.3f, classes %s" % (
                seconds, r["preprocessing"][0]["fraction"],
                [(c["label"], round(c["mean"], 1), round(c["volume_ml"], 1)) for c in r["classes"]]))

        # 4. Bad series: nothing written, one line naming the directory or file, non-zero exit.
        try:
            import pydicom
        except ImportError:
            pydicom = None
        files = sorted(os.listdir(series))[:20]

        def copy(name, keep):
            directory = os.path.join(work, name)
            os.makedirs(directory)
            for f in keep:
                shutil.copy(os.path.join(series, f), directory)
                os.chmod(os.path.join(directory, f), 0o644)
            return directory

        def refused(directory, expected, label):
            out = os.path.join(work, label + ".seg.nrrd")
            result = run(directory, "-k", "3", "-o", out)
            lines = [l for l in result.stderr.splitlines() if "error" in l]
            check(result.returncode != 0, "%s: non-zero exit" % label)
            check(len(lines) == 1 and expected in lines[0], "%s: one error line with '%s': %r" % (
                label, expected, result.stderr))
            check(not os.path.exists(out), "%s: no output" % label)

        refused(copy("gap", files[:9] + files[10:]), "missing slice", "gap")
        truncated = copy("truncated", files)
        victim = os.path.join(truncated, files[7])
        with open(victim, "r+b") as f:
            f.truncate(os.path.getsize(victim) - 5000)
        refused(truncated, files[7], "truncated")
        if pydicom is not None:
            two = copy("two", files)
            for f in files[:6]:
                d = pydicom.dcmread(os.path.join(two, f))
                d.SeriesInstanceUID = "1.2.826.0.1.3680043.2.1125.99"
                d.save_as(os.path.join(two, f))
            refused(two, "2 DICOM series", "two-series")
            result = run(two, "-k", "3", "-o", os.path.join(work, "x.nii.gz"))
            check("1.2.826.0.1.3680043.2.1125.99" in result.stderr, "two-series: the list names both UIDs")
finally:
    shutil.rmtree(work, ignore_errors=True)

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
