"""The scans of a cohort: found in a BIDS dataset or read from a list / CSV of files, kept in `work/scans.tsv`.

A scan is one T1-weighted image (`sub-*/[ses-*/]anat/*_T1w.nii[.gz]`), optionally with a co-registered `_T2w`
second channel and a `_desc-<label>_mask` beside it. Its id is its name without the suffix
(`sub-01_ses-2_run-1`); its derivatives go to the same `sub-*/[ses-*/]anat` folders of the output dataset.
"""
import csv
import glob
import os
import re

from . import naming

COLUMNS = ("id", "sub", "ses", "t1w", "t2w", "mask")
TABLE = "work/scans.tsv"


class ScanError(ValueError):
    """A dataset, list or selection that gives no usable scans."""


def _beside(t1w, entities, suffix, desc=None):
    """The existing NIfTI beside a T1w with the same entities and another suffix (and desc), or ''."""
    ents = dict(entities)
    if desc:
        ents["desc"] = desc
    folder = os.path.dirname(t1w)
    for ext in naming.NIFTI_EXTENSIONS:
        path = os.path.join(folder, naming.build_name(ents, suffix, ext))
        if os.path.isfile(path):
            return path
    return ""


def _scan(entities, t1w, t2w="", mask=""):
    return {"id": "_".join(f"{k}-{v}" for k, v in entities.items()), "sub": entities["sub"],
            "ses": entities.get("ses", ""), "t1w": os.path.abspath(t1w), "t2w": t2w and os.path.abspath(t2w),
            "mask": mask and os.path.abspath(mask)}


def _strip_prefix(labels, prefix):
    return {label[len(prefix):] if label.startswith(prefix) else label for label in labels or ()}


def discover_bids(bids_dir, participants=None, sessions=None, use_t2w=False, mask_desc=None, mask_dir=None):
    """Scans of a BIDS dataset, sorted by id. participants / sessions: labels with or without 'sub-'/'ses-'."""
    if not os.path.isfile(os.path.join(bids_dir, "dataset_description.json")) and not glob.glob(
            os.path.join(bids_dir, "sub-*")):
        raise ScanError(f"{bids_dir}: not a BIDS dataset (no dataset_description.json, no sub-* folders)")
    wanted_subjects = _strip_prefix(participants, "sub-")
    wanted_sessions = _strip_prefix(sessions, "ses-")
    files = []
    for pattern in ("sub-*/anat/*_T1w.nii*", "sub-*/ses-*/anat/*_T1w.nii*"):
        files += glob.glob(os.path.join(bids_dir, pattern))
    scans = []
    for t1w in sorted(files):
        if not t1w.endswith(naming.NIFTI_EXTENSIONS):
            continue
        try:
            entities, _, _ = naming.parse_name(t1w)
        except naming.BIDSNameError:
            continue
        rel = os.path.relpath(t1w, bids_dir).split(os.sep)
        if rel[0] != f"sub-{entities.get('sub')}" or (len(rel) == 4 and rel[1] != f"ses-{entities.get('ses')}"):
            continue
        if wanted_subjects and entities["sub"] not in wanted_subjects:
            continue
        if wanted_sessions and entities.get("ses", "") not in wanted_sessions:
            continue
        t2w = _beside(t1w, entities, "T2w") if use_t2w else ""
        mask = ""
        if mask_desc:
            mask = _beside(t1w, entities, "mask", mask_desc)
            if not mask and mask_dir:
                mirrored = os.path.join(mask_dir, os.path.relpath(t1w, bids_dir))
                mask = _beside(mirrored, entities, "mask", mask_desc)
        scans.append(_scan(entities, t1w, t2w, mask))
    if not scans:
        selection = f" for participants {sorted(wanted_subjects)}" if wanted_subjects else ""
        raise ScanError(f"{bids_dir}: no sub-*/[ses-*/]anat/*_T1w.nii[.gz] images{selection}")
    return _check_unique(scans, bids_dir)


def _label_from_path(path):
    stem, _ = naming.split_extension(os.path.basename(path))
    label = re.sub(r"[^A-Za-z0-9]", "", stem)
    if not label:
        raise ScanError(f"{path}: cannot make a participant label from this file name")
    return label


def _list_rows(list_file):
    """Rows (dicts with t1w and optional participant_id, session_id, t2w, mask) of a .txt, .csv or .tsv list."""
    with open(list_file, newline="") as handle:
        text = handle.read()
    if list_file.endswith((".csv", ".tsv")):
        reader = csv.DictReader(text.splitlines(), delimiter="\t" if list_file.endswith(".tsv") else ",")
        columns = reader.fieldnames or []
        t1_column = next((c for c in ("t1w", "T1w", "path", "image", "file") if c in columns), None)
        if t1_column is None:
            raise ScanError(f"{list_file}: no t1w (or path) column among {columns}")
        return [dict(row, t1w=row[t1_column]) for row in reader if (row.get(t1_column) or "").strip()]
    lines = [line.strip() for line in text.splitlines()]
    return [{"t1w": line} for line in lines if line and not line.startswith("#")]


def read_list(list_file, participants=None):
    """Scans of a plain list (one image per line) or a CSV/TSV with a t1w column; relative paths are relative to
    the list file. Participant labels come from a participant_id column, a sub-<label> file name, or the file
    name made alphanumeric."""
    base = os.path.dirname(os.path.abspath(list_file))
    wanted = _strip_prefix(participants, "sub-")
    scans = []
    for row in _list_rows(list_file):
        paths = {k: os.path.join(base, row[k].strip()) if (row.get(k) or "").strip() else ""
                 for k in ("t1w", "t2w", "mask")}
        try:
            entities, _, _ = naming.parse_name(paths["t1w"])
            entities = {k: v for k, v in entities.items() if k in naming.ENTITY_ORDER}
            if "sub" not in entities:
                raise naming.BIDSNameError(paths["t1w"])
        except naming.BIDSNameError:
            entities = {"sub": _label_from_path(paths["t1w"])}
        if (row.get("participant_id") or "").strip():
            entities = {"sub": _label_from_path(row["participant_id"].strip().replace("sub-", "", 1))}
        if (row.get("session_id") or "").strip():
            entities["ses"] = _label_from_path(row["session_id"].strip().replace("ses-", "", 1))
        if wanted and entities["sub"] not in wanted:
            continue
        scans.append(_scan(entities, paths["t1w"], paths["t2w"], paths["mask"]))
    if not scans:
        raise ScanError(f"{list_file}: no images listed")
    return _check_unique(sorted(scans, key=lambda s: s["id"]), list_file)


def _check_unique(scans, source):
    seen = {}
    for scan in scans:
        if scan["id"] in seen:
            raise ScanError(f"{source}: {seen[scan['id']]} and {scan['t1w']} both give the scan id {scan['id']}")
        seen[scan["id"]] = scan["t1w"]
    return scans


def find_scans(source, participants=None, sessions=None, use_t2w=False, mask_desc=None, mask_dir=None):
    """Scans of a BIDS directory or of a list file."""
    if os.path.isdir(source):
        return discover_bids(source, participants, sessions, use_t2w, mask_desc, mask_dir)
    if os.path.isfile(source):
        return read_list(source, participants)
    raise ScanError(f"{source}: no such BIDS directory or list file")


def format_table(scans):
    lines = ["\t".join(COLUMNS)] + ["\t".join(scan[c] for c in COLUMNS) for scan in scans]
    return "\n".join(lines) + "\n"


def write_table(scans, path=TABLE):
    """Write the scan table atomically, only when its content changed (so that its time stamp means something)."""
    text = format_table(scans)
    if os.path.isfile(path):
        with open(path) as handle:
            if handle.read() == text:
                return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def read_table(path=TABLE):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def anat_dir(scan):
    """The scan's folder in the derivative dataset: sub-<s>[/ses-<t>]/anat."""
    parts = [f"sub-{scan['sub']}"] + ([f"ses-{scan['ses']}"] if scan["ses"] else []) + ["anat"]
    return "/".join(parts)


def figures_dir(scan):
    return f"sub-{scan['sub']}/figures"
