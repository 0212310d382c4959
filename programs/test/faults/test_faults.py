"""kmeans-segment under faults: a full disk, a read-only or missing output directory, SIGINT and SIGTERM.

Run by ctest (programs/test/CMakeLists.txt) as
    python3 -m pytest test_faults.py --executable=KMEANS_SEGMENT --basetemp=BUILD_DIR/...
The full-disk and read-only tests mount small tmpfs file systems and are skipped (with the reason) when the
test does not run as root or mounting is not possible.
"""
import contextlib
import csv
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import nibabel
import numpy
import pytest


def phantom(path, shape, seed=1):
    """Each voxel in one of three intensity classes at random, 5 % noise: K-means with K = 3 recovers them, and
    the label map does not compress much (so that it does not fit on the small file systems of the tests)."""
    rng = numpy.random.default_rng(seed)
    data = (100 * rng.integers(1, 4, shape) + rng.normal(0, 5, shape)).astype(numpy.int16)
    nibabel.save(nibabel.Nifti1Image(data, numpy.diag([1.0, 1.0, 1.0, 1.0])), str(path))
    return path


@pytest.fixture(scope="session")
def inputs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("inputs")
    return {
        "small": phantom(directory / "small.nii.gz", (12, 12, 12)),
        "medium": phantom(directory / "medium.nii.gz", (128, 128, 98)),
        "large": phantom(directory / "large.nii.gz", (256, 256, 160), seed=2),
    }


def run(executable, *arguments):
    return subprocess.run([executable, *map(str, arguments)], capture_output=True, text=True, timeout=120)


def listing(directory):
    return sorted(p.name for p in Path(directory).iterdir())


def expect_one_line_error(result, *words):
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kmeans-segment: error: "), result.stderr
    for word in words:
        assert str(word).lower() in lines[0].lower(), result.stderr


@contextlib.contextmanager
def tmpfs(path, size, read_only=False):
    """A tmpfs of size bytes mounted at path (skips the test when that is not possible)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root: full-disk and read-only tests skipped")
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "kmeans-test", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({mounted.stderr.strip()}): full-disk and read-only tests skipped")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory, leave):
    """Fill the file system of directory until only about `leave` bytes are free."""
    stat = os.statvfs(directory)
    free = stat.f_bavail * stat.f_frsize
    with open(directory / "filler", "wb") as filler:
        filler.write(b"\0" * max(0, free - leave))


FORMATS = ["lab.nii", "lab.nii.gz", "lab.mha", "lab.mhd", "lab.nrrd", "lab.seg.nrrd"]


@pytest.mark.parametrize("name", FORMATS)
def test_full_disk_label_map(executable, inputs, tmp_path, name):
    with tmpfs(tmp_path / "full", 1 << 20) as full:
        fill(full, 16 << 10)
        before = listing(full)
        result = run(executable, inputs["medium"], "-o", full / name, "-k", "3")
        expect_one_line_error(result, full / name, "no space left on device")
        assert listing(full) == before  # no partial file, no temporary file or directory


@pytest.mark.parametrize("option,name", [("--report", "report.json"), ("--posteriors", "post.nii.gz")])
def test_full_disk_other_outputs(executable, inputs, tmp_path, option, name):
    """The label map fits elsewhere; the report (or posteriors) does not: no output at all is left."""
    with tmpfs(tmp_path / "full", 1 << 20) as full:
        fill(full, 1 << 10 if option == "--report" else 16 << 10)
        before = listing(full)
        extra = ["--model", "gmm"] if option == "--posteriors" else []
        result = run(executable, inputs["medium"], "-o", tmp_path / "lab.nii.gz", "-k", "3", option, full / name,
                     *extra)
        expect_one_line_error(result, full / name, "no space left on device")
        assert listing(full) == before
        assert not (tmp_path / "lab.nii.gz").exists()  # a failed run leaves no output


def test_full_disk_batch(executable, inputs, tmp_path):
    """One input fits, the other does not: the summary says which failed, and why. One job at a time: with two,
    the medium input's partial output can take the space before the small one is written (seen under load)."""
    with tmpfs(tmp_path / "full", 1 << 20) as full:
        fill(full, 96 << 10)
        result = run(executable, inputs["small"], inputs["medium"], "--output-dir", full / "out", "-k", "3",
                     "-j", "1", "--output-suffix", ".nii.gz")
        assert result.returncode == 1, result.stderr
        rows = {row["input"]: row for row in csv.DictReader(open(full / "out" / "summary.csv"))}
        assert rows[str(inputs["small"])]["status"] == "ok"
        assert rows[str(inputs["medium"])]["status"] == "failed"
        assert "no space left on device" in rows[str(inputs["medium"])]["error"]
        assert "medium.nii.gz" in rows[str(inputs["medium"])]["error"]
        assert listing(full / "out") == ["small.json", "small.nii.gz", "summary.csv", "summary.json"]


# kmeans-segment built without the VTK preview (KMEANS_PREVIEW=0 from ctest, as in the sanitizer build) refuses
# --vtk-dir before it looks at the directory: that case is skipped there.
PREVIEW = os.environ.get("KMEANS_PREVIEW", "1") != "0"
READ_ONLY_CASES = {
    "labels": (["-o", "{ro}/lab.nii.gz"], ["{ro}/lab.nii.gz", "read-only file system"]),
    "report": (["-o", "{tmp}/lab.nii.gz", "--report", "{ro}/r.json"], ["{ro}/r.json", "read-only"]),
    "vtk-dir": (["-o", "{tmp}/lab.nii.gz", "--vtk-dir", "{ro}/vtk"], ["{ro}/vtk", "read-only"]),
    "output-dir": (["--output-dir", "{ro}"], ["{ro}", "read-only file system"]),
    "new-output-dir": (["--output-dir", "{ro}/new/out"], ["{ro}/new/out", "cannot be created"]),
}


@pytest.mark.parametrize("case", sorted(READ_ONLY_CASES))
def test_read_only_output_directory(executable, inputs, tmp_path, case):
    if case == "vtk-dir" and not PREVIEW:
        pytest.skip("kmeans-segment was built without the VTK preview (KMEANS_PREVIEW=0): no --vtk-dir output")
    arguments, words = READ_ONLY_CASES[case]
    with tmpfs(tmp_path / "ro", 1 << 20, read_only=True) as ro:
        fill_in = {"ro": str(ro), "tmp": str(tmp_path)}
        started = time.monotonic()
        result = run(executable, inputs["large"], "-k", "3", *[a.format(**fill_in) for a in arguments])
        expect_one_line_error(result, *[w.format(**fill_in) for w in words])
        assert time.monotonic() - started < 3.0  # refused before reading or segmenting the large input
        assert listing(ro) == []


def test_missing_output_directory(executable, inputs, tmp_path):
    result = run(executable, inputs["small"], "-k", "3", "-o", tmp_path / "nowhere" / "lab.nii.gz")
    expect_one_line_error(result, tmp_path / "nowhere", "does not exist")
    assert not (tmp_path / "lab.nii.gz").exists()


def wait_for(predicate, process, timeout=60.0):
    """Poll until predicate() holds; fail when the process ends first or after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"the program ended (status {process.returncode}) before the point the test waits for")
        time.sleep(0.002)
    process.kill()
    pytest.fail("timed out waiting for the program")


def temporaries(directory):
    return [p for p in Path(directory).iterdir() if p.name.startswith(".")]


def processes_mentioning(text):
    """Process ids whose command line contains text (children left behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_write(executable, inputs, tmp_path, signum):
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([executable, str(inputs["large"]), "-o", str(out / "lab.nii.gz"), "-k", "3",
                                "--report", str(out / "report.json")], stderr=subprocess.PIPE, text=True)
    wait_for(lambda: temporaries(out), process)  # the label map is being written
    process.send_signal(signum)
    process.wait(timeout=30)
    assert process.returncode == -signum  # ended by the signal: the shell reports 128 + signal
    assert listing(out) == []  # no temporary, no partial or half-finished output


def test_signal_after_first_output_removes_it(executable, inputs, tmp_path):
    """SIGTERM while the posteriors are written: the label map already in place is removed too."""
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([executable, str(inputs["large"]), "-o", str(out / "lab.nii"), "-k", "3",
                                "--model", "gmm", "--posteriors", str(out / "post.nii.gz")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: (out / "lab.nii").exists() and temporaries(out), process)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGTERM
    assert listing(out) == []


@pytest.mark.parametrize("signum,group", [(signal.SIGTERM, False), (signal.SIGINT, True)])
def test_signal_to_batch(executable, inputs, tmp_path, signum, group):
    """SIGTERM to the batch alone (kill PID), or SIGINT to its process group (Ctrl-C), once the first input is
    done: children stopped and waited for, no stderr captures or temporaries, summary of what finished."""
    out = tmp_path / "batch"
    names = [inputs["small"], inputs["large"], tmp_path / "large2.nii.gz"]
    names[2].write_bytes(inputs["large"].read_bytes())
    process = subprocess.Popen([executable, *map(str, names), "--output-dir", str(out), "-k", "3", "-j", "2",
                                "--output-suffix", ".nii.gz"],
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    log = []
    reader = threading.Thread(target=lambda: log.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    wait_for(lambda: any(line.startswith("[1/3]") for line in log), process)  # the small input is done
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    process.wait(timeout=30)
    reader.join(timeout=5)
    assert process.returncode == -signum, "".join(log)
    assert "[1/3] " + str(names[0]) + ": ok\n" in log
    assert processes_mentioning(str(out)) == []  # no child left running
    rows = {row["input"]: row for row in csv.DictReader(open(out / "summary.csv"))}
    assert rows[str(names[0])]["status"] == "ok"
    for name in names[1:]:
        assert rows[str(name)]["status"] == "failed"
        assert signum.name in rows[str(name)]["error"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 2
    assert listing(out) == ["small.json", "small.nii.gz", "summary.csv", "summary.json"]
