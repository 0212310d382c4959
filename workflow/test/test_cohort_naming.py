"""Units of the cohort workflow without running it: BIDS naming rules, discovery of a BIDS dataset and of lists,
robust z-scores, the NIfTI header read for memory estimates, the per-scan command line."""
import os

import pytest

import cohort_support as cs
import phantoms
from kmeans_cohort import naming, resources, scan, scans, table


def test_parse_and_build_names():
    entities, suffix, ext = naming.parse_name("sub-01_ses-2_acq-mp2rage_run-1_T1w.nii.gz")
    assert entities == {"sub": "01", "ses": "2", "acq": "mp2rage", "run": "1"} and suffix == "T1w"
    assert ext == ".nii.gz"
    assert naming.build_name({"label": "GM", "sub": "01", "ses": "2"}, "probseg", ".nii.gz") == \
        "sub-01_ses-2_label-GM_probseg.nii.gz"
    with pytest.raises(naming.BIDSNameError):
        naming.build_name({"sub": "0_1"}, "dseg", ".nii.gz")
    with pytest.raises(naming.BIDSNameError):
        naming.parse_name("sub-01-T1w.nii.gz")


@pytest.mark.parametrize("path,problem", [
    ("sub-01/anat/ses-1_sub-01_dseg.nii.gz", "not in the BIDS order"),
    ("sub-02/anat/sub-01_dseg.nii.gz", "not inside its subject folder"),
    ("sub-01/anat/sub-01_probseg.nii.gz", "needs label-"),
    ("sub-01/anat/sub-01_tissues.nii.gz", "suffix 'tissues'"),
    ("sub-01/anat/sub-01_run-a_dseg.nii.gz", "integer index"),
    ("sub-01/ses-1/anat/sub-01_ses-2_dseg.nii.gz", "differs from ses-2"),
    ("sub-01/anat/sub-01_ses-1_dseg.nii.gz", "outside a session folder"),
    ("sub-01/func/sub-01_dseg.nii.gz", "belongs in the anat/ folder"),
    ("sub-01/anat/sub-01_dseg.csv", "extension '.csv'"),
    ("sub-01/anat/sub-01_foo-1_dseg.nii.gz", "unknown entities"),
    ("sub-01/figures/sub-01_dseg.nii.gz", "figures are")])
def test_naming_rules_name_each_problem(path, problem):
    problems = naming.derivative_problems(path)
    assert any(problem in p for p in problems), problems


def test_valid_names_pass():
    for path in ("sub-01/anat/sub-01_dseg.nii.gz", "sub-01/ses-1/anat/sub-01_ses-1_run-2_dseg.tsv",
                 "sub-01/anat/sub-01_label-GM_probseg.nii.gz", "sub-01/figures/sub-01_ses-1_dseg.png"):
        assert naming.derivative_problems(path) == []


def test_discovery_finds_sessions_masks_and_filters():
    root = cs.fresh_dir("discovery")
    phantoms.write_description(root)
    for sub, ses in (("01", "a"), ("01", "b"), ("02", None)):
        phantoms.add_scan(root, sub, ses, shape=(8, 8, 8), mask=(sub == "02"))
    os.makedirs(os.path.join(root, "derivatives", "x", "sub-09", "anat"))
    found = scans.discover_bids(root, mask_desc="brain")
    assert [s["id"] for s in found] == ["sub-01_ses-a", "sub-01_ses-b", "sub-02"]
    assert found[2]["mask"].endswith("sub-02/anat/sub-02_desc-brain_mask.nii.gz") and found[0]["mask"] == ""
    assert [s["id"] for s in scans.discover_bids(root, participants=["sub-02"])] == ["sub-02"]
    assert [s["id"] for s in scans.discover_bids(root, sessions=["b"])] == ["sub-01_ses-b"]
    with pytest.raises(scans.ScanError, match="no sub-"):
        scans.discover_bids(root, participants=["07"])
    with pytest.raises(scans.ScanError, match="not a BIDS dataset"):
        scans.discover_bids(os.path.join(root, "derivatives"))


def test_lists_and_csv_give_scans():
    root = cs.fresh_dir("lists")
    a = phantoms.add_scan(root, "x", shape=(8, 8, 8))
    with open(os.path.join(root, "list.txt"), "w") as handle:
        handle.write(f"# images\n{os.path.relpath(a, root)}\n")
    assert [s["id"] for s in scans.read_list(os.path.join(root, "list.txt"))] == ["sub-x"]
    with open(os.path.join(root, "list.csv"), "w") as handle:
        handle.write(f"participant_id,session_id,t1w\nP_007,baseline,{a}\nP_008,,{a}\n")
    found = scans.read_list(os.path.join(root, "list.csv"))
    assert [(s["id"], s["sub"], s["ses"]) for s in found] == [("sub-P007_ses-baseline", "P007", "baseline"),
                                                            ("sub-P008", "P008", "")]
    with open(os.path.join(root, "dup.csv"), "w") as handle:
        handle.write(f"participant_id,t1w\n1,{a}\n1,{a}\n")
    with pytest.raises(scans.ScanError, match="both give the scan id sub-1"):
        scans.read_list(os.path.join(root, "dup.csv"))


def test_robust_z():
    z = table.robust_z([0.10, 0.11, 0.12, 0.11, 0.30])
    assert z[4] == pytest.approx((0.30 - 0.11) / (1.4826 * 0.01))
    assert abs(z[1]) < 1e-12
    same = table.robust_z([0.2, 0.2, 0.2, 0.2, 0.5])  # MAD 0: mean absolute deviation
    assert same[4] == pytest.approx(0.3 / (1.2533 * 0.06)) and same[0] == 0
    assert table.robust_z([0.2, 0.2, 0.2]) == [0.0, 0.0, 0.0]


def test_memory_estimate_reads_the_header():
    root = cs.fresh_dir("header")
    path = phantoms.add_scan(root, "01", shape=(20, 30, 40))
    assert resources.nifti_voxels(path) == (24000, 2)
    assert resources.scan_mem_mb([path], "kmeans", False, False) == 200
    big = resources.scan_mem_mb([path], "gmm+mrf", True, True, attempt=2)
    assert big == int((200 + 24000 * (40 + 2 + 24 + 64) / 2 ** 20) * 2)


def test_segment_command_follows_the_options():
    cmd = scan.segment_command({"model": "gmm+mrf", "k": 3, "n4": True, "preview": False, "mrf_beta": 0.5},
                               ["t1.nii.gz"], "", "/w")
    assert cmd[:2] == ["kmeans-segment", "t1.nii.gz"]
    for expected in (["--model", "gmm"], ["--mrf", "0.5"], ["--n4"], ["--nonzero"], ["--tissues"]):
        assert any(cmd[i:i + len(expected)] == expected for i in range(len(cmd)))
    assert "--preview" not in cmd
    masked = scan.segment_command({"k": 4}, ["t1.nii.gz", "t2.nii.gz"], "m.nii.gz", "/w")
    assert "--nonzero" not in masked and "--tissues" not in masked and masked[masked.index("--mask") + 1] == "m.nii.gz"
    with pytest.raises(ValueError, match="model 'fast'"):
        scan.segment_command({"model": "fast"}, ["t1"], "", "/w")
