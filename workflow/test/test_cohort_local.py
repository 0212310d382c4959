"""kmeans-cohort end to end on this machine: a phantom BIDS dataset (6 subjects, one with two sessions, one cut
short, one with large ventricles, one with a brain mask) into BIDS derivatives, the cohort table and page; a
second run does nothing; a new subject runs one segmentation; the page in headless Chromium."""
import os
import shutil
import subprocess

import nibabel
import numpy
import pytest

import cohort_support as cs
import phantoms
from kmeans_cohort import naming, table


@pytest.fixture(scope="module")
def cohort():
    root = cs.fresh_dir("local")
    bids = cs.make_bids(os.path.join(root, "bids"))
    out = os.path.join(root, "derivatives", "kmeans")
    status, log = cs.run_cohort(bids, out, "--cores", "2", "--mask-desc", "brain", *cs.PREVIEW_ARGS)
    return {"root": root, "bids": bids, "out": out, "status": status, "log": log}


def rows_by_id(out):
    return {row["scan_id"]: row for row in table.read_tsv(os.path.join(out, "group", "volumes.tsv"))}


def test_failed_scan_makes_exit_status_one_and_is_reported(cohort):
    assert cohort["status"] == 1, cohort["log"]
    assert f"kmeans-cohort: failed: {cs.CORRUPT}: " in cohort["log"]
    assert cs.jobs_run(cohort["log"], "segment") == len(cs.SUBJECTS)


def test_derivatives_follow_bids_naming(cohort):
    assert naming.validate_derivatives(cohort["out"]) == []
    description = cs.read_json(os.path.join(cohort["out"], "dataset_description.json"))
    assert description["DatasetType"] == "derivative"
    assert description["GeneratedBy"][0]["Name"] == "kmeans-segment"
    assert description["GeneratedBy"][0]["Version"] == cs.program_version()
    anat = os.path.join(cohort["out"], "sub-01", "ses-2", "anat")
    assert sorted(os.listdir(anat)) == ["sub-01_ses-2_dseg.json", "sub-01_ses-2_dseg.nii.gz",
                                        "sub-01_ses-2_dseg.tsv"]
    assert os.path.isfile(os.path.join(cohort["out"], "sub-01", "figures", "sub-01_ses-2_dseg.png")) == cs.PREVIEW
    assert not os.path.exists(os.path.join(cohort["out"], "sub-04"))
    with open(os.path.join(anat, "sub-01_ses-2_dseg.tsv")) as handle:
        assert handle.read().splitlines() == ["index\tname\tabbreviation\tcolor", "1\tCSF\tCSF\t#55bcff",
                                              "2\tGrey matter\tGM\t#c8c8eb", "3\tWhite matter\tWM\t#fafad2"]
    sidecar = cs.read_json(os.path.join(anat, "sub-01_ses-2_dseg.json"))
    assert sidecar["Sources"] == ["bids:raw:sub-01/ses-2/anat/sub-01_ses-2_T1w.nii.gz"]
    assert [c["name"] for c in sidecar["classes"]] == ["CSF", "Grey matter", "White matter"]
    masked = cs.read_json(os.path.join(cohort["out"], "sub-03", "anat", "sub-03_dseg.json"))
    assert masked["Sources"][1] == "bids:raw:sub-03/anat/sub-03_desc-brain_mask.nii.gz"


def test_table_has_one_row_per_scan_with_volumes(cohort):
    rows = rows_by_id(cohort["out"])
    expected = sorted(f"sub-{s}" + (f"_ses-{t}" if t else "") for s, t, *_ in cs.SUBJECTS)
    assert sorted(rows) == expected
    for scan_id, row in rows.items():
        if scan_id == cs.CORRUPT:
            continue
        assert row["status"] == "ok" and row["error"] == "n/a" and row["model"] == "kmeans"
        volumes = [float(row[f"{c}_ml"]) for c in ("CSF", "GM", "WM")]
        assert min(volumes) > 0 and float(row["total_ml"]) == pytest.approx(sum(volumes), rel=1e-4)
        assert float(row["CSF_mean"]) < float(row["GM_mean"]) < float(row["WM_mean"])
        assert float(row["time_s"]) > 0


def test_failed_scan_row_has_its_one_line_error(cohort):
    row = rows_by_id(cohort["out"])[cs.CORRUPT]
    assert row["status"] == "failed" and row["total_ml"] == "n/a"
    assert "sub-04_T1w.nii.gz" in row["error"] and "\n" not in row["error"]


def test_large_ventricles_are_an_outlier(cohort):
    rows = rows_by_id(cohort["out"])
    assert rows[cs.OUTLIER]["outlier"].startswith("CSF z=+")
    flagged = sorted(scan_id for scan_id, row in rows.items() if row["outlier"] != "n/a")
    assert flagged == [cs.OUTLIER]


def test_labels_match_the_phantom(cohort):
    sub, ses, shape, ventricles, seed, _ = cs.SUBJECTS[1]
    labels = nibabel.load(os.path.join(cohort["out"], "sub-01", "ses-2", "anat", "sub-01_ses-2_dseg.nii.gz"))
    truth = phantoms.phantom_labels(shape, ventricles, phantoms.white_radius(seed))
    result = numpy.asanyarray(labels.dataobj)
    for label in (1, 2, 3):
        dice = 2 * numpy.sum((result == label) & (truth == label)) / (numpy.sum(result == label) +
                                                                      numpy.sum(truth == label))
        assert dice > 0.95, (label, dice)
    source = nibabel.load(os.path.join(cohort["bids"], "sub-01", "ses-2", "anat", "sub-01_ses-2_T1w.nii.gz"))
    numpy.testing.assert_allclose(labels.affine, source.affine, atol=1e-4)


def test_second_run_does_nothing_then_a_new_subject_runs_one_job(cohort):
    before = cs.status_times(cohort["out"])
    status, log = cs.run_cohort(cohort["bids"], cohort["out"], "--cores", "2", "--mask-desc", "brain",
                                *cs.PREVIEW_ARGS)
    assert status == 1 and "Nothing to be done" in log, log
    assert cs.jobs_run(log, "segment") == 0 and cs.jobs_run(log, "group") == 0
    assert cs.status_times(cohort["out"]) == before
    phantoms.add_scan(cohort["bids"], "07", shape=(36, 40, 36), seed=8)
    status, log = cs.run_cohort(cohort["bids"], cohort["out"], "--cores", "2", "--mask-desc", "brain",
                                *cs.PREVIEW_ARGS)
    assert status == 1, log
    assert cs.jobs_run(log, "segment") == 1 and cs.jobs_run(log, "group") == 1, log
    after = cs.status_times(cohort["out"])
    assert {k: v for k, v in after.items() if k != "sub-07.json"} == before
    assert rows_by_id(cohort["out"])["sub-07"]["status"] == "ok"


def test_retry_failed_runs_only_the_failed_scan_again(cohort):
    status, log = cs.run_cohort(cohort["bids"], cohort["out"], "--cores", "2", "--mask-desc", "brain",
                                "--retry-failed", *cs.PREVIEW_ARGS)
    assert status == 1 and cs.jobs_run(log, "segment") == 1, log
    assert "rule segment:" in log and f"wildcards: scan={cs.CORRUPT}" in log


def test_snakemake_runs_the_workflow_directly(cohort):
    out = os.path.join(cohort["root"], "direct")
    result = subprocess.run(["snakemake", "-s", os.path.join(cs.WORKFLOW_DIR, "Snakefile"), "--directory", out,
                             "--cores", "2", "--dry-run", "--config", f"bids_dir={cohort['bids']}",
                             f"kmeans_segment={cs.SEGMENT}", "participant_label=01,02"],
                            capture_output=True, text=True, env=dict(os.environ, USER="root"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert cs.jobs_run(result.stdout, "segment") == 3  # sub-01 (two sessions) and sub-02


def chromium(*args):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed")
    profile = cs.fresh_dir("chromium-profile")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120)


def test_report_page_in_headless_chromium(cohort):
    if not cs.PREVIEW:
        pytest.skip(cs.NO_PREVIEW_REASON)
    page = os.path.join(cohort["out"], "group", "report.html")
    with open(page) as handle:
        text = handle.read()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    dom = chromium("--dump-dom", f"file://{page}").stdout
    rows = rows_by_id(cohort["out"])
    assert dom.count('src="data:image/jpeg;base64,') == len(rows) - 1
    assert dom.count("<tr class=") == len(rows) + 1 + 1  # volume rows, the failed row, the outlier row
    assert f"{len(rows)} scans" in dom and "1 failed" in dom and cs.OUTLIER in dom
    shot = os.path.join(cs.OUTPUT_ROOT, "report-screenshot.png")
    if os.path.exists(shot):
        os.remove(shot)
    chromium(f"--screenshot={shot}", "--window-size=1280,1600", "--hide-scrollbars", f"file://{page}")
    from PIL import Image
    with Image.open(shot) as picture:
        assert picture.size == (1280, 1600)
        pixels = numpy.asarray(picture.convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in pixels[:: 7]}
    assert len(colours) > 200  # pictures, not a blank page
    failed_row = numpy.all(pixels == (0xfd, 0xe0, 0xdc), axis=1).sum()
    assert failed_row > 1000  # the failed scan's highlighted table row and card


@pytest.mark.parametrize("model", ["gmm", "pve"])
def test_image_list_with_gaussian_mixture_gives_probability_maps(model):
    # pve: the partial-volume model's tissue fractions are the probseg maps (also adding up to 1).
    root = cs.fresh_dir("list-" + model)
    names = []
    for i, name in enumerate(("scan_001.nii.gz", "scan-002.nii")):
        image, _ = phantoms.phantom_image((32, 36, 32), seed=20 + i)
        phantoms.save_nifti(os.path.join(root, "images", name), image, (5.0, 5.0, 5.0))
        names.append(os.path.join("images", name))
    with open(os.path.join(root, "scans.txt"), "w") as handle:
        handle.write("\n".join(names) + "\n")
    out = os.path.join(root, "out")
    status, log = cs.run_cohort(os.path.join(root, "scans.txt"), out, "--cores", "2", "--model", model,
                                "--no-preview")
    assert status == 0, log
    assert naming.validate_derivatives(out) == []
    rows = rows_by_id(out)
    assert sorted(rows) == ["sub-scan001", "sub-scan002"]
    assert all(row["model"] == model and row["status"] == "ok" for row in rows.values())
    anat = os.path.join(out, "sub-scan001", "anat")
    maps = [nibabel.load(os.path.join(anat, f"sub-scan001_label-{c}_probseg.nii.gz")) for c in ("CSF", "GM", "WM")]
    labels = numpy.asanyarray(nibabel.load(os.path.join(anat, "sub-scan001_dseg.nii.gz")).dataobj)
    stack = numpy.stack([numpy.asanyarray(m.dataobj) for m in maps])
    numpy.testing.assert_allclose(stack.sum(axis=0)[labels > 0], 1.0, atol=1e-4)
    assert numpy.all(stack.argmax(axis=0)[labels > 0] + 1 == labels[labels > 0])
    sidecar = cs.read_json(os.path.join(anat, "sub-scan001_label-GM_probseg.json"))
    assert sidecar["Sources"] == [os.path.join(root, "images", "scan_001.nii.gz")]
    assert sidecar["model"] == model
    assert ("partial-volume" in sidecar.get("Description", "")) == (model == "pve")


@pytest.mark.parametrize("args,status,message", [
    (["/nonexistent/bids", "out"], 1, "kmeans-cohort: error: /nonexistent/bids: no such BIDS directory or list file"),
    (["bids", "out", "-k", "0"], 2, "-k must be from 1 to 255, not 0"),
    (["bids", "out", "--t2w", "--model", "gmm"], 2, "--t2w (two channels) works with --model kmeans, not gmm"),
    (["bids", "out", "--model", "fast"], 2, "invalid choice: 'fast'")])
def test_bad_arguments_give_one_line_errors(args, status, message):
    code, log = cs.run_cohort(*args)
    assert code == status and message in log and len(log.strip().splitlines()) <= 2, log
