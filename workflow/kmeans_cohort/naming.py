"""BIDS file names: parsing, building in the canonical entity order, and the naming rules the derivatives follow.

A BIDS name is `key-value` entities joined by `_`, in the order of the BIDS specification's entity table, then a
suffix and an extension: `sub-01_ses-2_run-1_T1w.nii.gz`. Derivatives keep the entities of their source and add
`label-` / `desc-` (BIDS Derivatives, "Common data types": `_dseg`, `_probseg`, `_mask`).
"""
import os
import re

# Entity keys in the order of the BIDS specification (1.8, appendix "Entity table"), as far as anatomical data
# and their derivatives use them.
ENTITY_ORDER = ("sub", "ses", "sample", "task", "acq", "ce", "trc", "stain", "rec", "dir", "run", "mod", "echo",
                "flip", "inv", "mt", "part", "proc", "hemi", "space", "split", "res", "den", "label", "desc")
LABEL_RE = re.compile(r"^[A-Za-z0-9]+$")
INDEX_ENTITIES = ("run", "echo", "flip", "inv", "split")
NIFTI_EXTENSIONS = (".nii.gz", ".nii")
# Suffixes and extensions a derivative of this workflow may carry, and where they live.
DERIVATIVE_SUFFIXES = {"dseg": ("anat", (".nii.gz", ".json", ".tsv")),
                       "probseg": ("anat", (".nii.gz", ".json")),
                       "mask": ("anat", (".nii.gz", ".json"))}
FIGURE_EXTENSIONS = (".png", ".svg", ".html")


class BIDSNameError(ValueError):
    """A file name that breaks the BIDS naming rules."""


def split_extension(filename):
    """('sub-01_T1w', '.nii.gz') for 'sub-01_T1w.nii.gz'."""
    for ext in (".nii.gz", ".tsv.gz"):
        if filename.endswith(ext):
            return filename[: -len(ext)], ext
    stem, ext = os.path.splitext(filename)
    return stem, ext


def parse_name(filename):
    """Entities (an ordered dict), suffix and extension of a BIDS file name; BIDSNameError when it is none."""
    stem, ext = split_extension(os.path.basename(filename))
    parts = stem.split("_")
    if len(parts) < 2:
        raise BIDSNameError(f"{filename}: no entities and suffix ('sub-<label>_..._<suffix>')")
    suffix = parts[-1]
    if not LABEL_RE.match(suffix):
        raise BIDSNameError(f"{filename}: suffix '{suffix}' is not alphanumeric")
    entities = {}
    for part in parts[:-1]:
        key, sep, value = part.partition("-")
        if not sep or not key or not value:
            raise BIDSNameError(f"{filename}: '{part}' is not a key-value entity")
        if key in entities:
            raise BIDSNameError(f"{filename}: entity '{key}' appears twice")
        entities[key] = value
    return entities, suffix, ext


def build_name(entities, suffix, extension):
    """A file name with the entities in the canonical order (unknown keys are refused)."""
    unknown = [k for k in entities if k not in ENTITY_ORDER]
    if unknown:
        raise BIDSNameError(f"unknown BIDS entities {unknown} for a '{suffix}' file")
    for key, value in entities.items():
        if not LABEL_RE.match(str(value)):
            raise BIDSNameError(f"entity {key}-{value}: the label must be alphanumeric")
    parts = [f"{k}-{entities[k]}" for k in ENTITY_ORDER if k in entities]
    return "_".join(parts + [suffix]) + extension


def entity_problems(filename, entities):
    """Rule violations of the entities of one name: unknown keys, order, labels, sub first."""
    problems = []
    keys = list(entities)
    unknown = [k for k in keys if k not in ENTITY_ORDER]
    if unknown:
        problems.append(f"{filename}: unknown entities {unknown}")
    known = [k for k in keys if k in ENTITY_ORDER]
    if known != sorted(known, key=ENTITY_ORDER.index):
        problems.append(f"{filename}: entities {known} are not in the BIDS order")
    if not keys or keys[0] != "sub":
        problems.append(f"{filename}: the first entity must be sub-<label>")
    for key, value in entities.items():
        if not LABEL_RE.match(value):
            problems.append(f"{filename}: {key}-{value} is not alphanumeric")
        elif key in INDEX_ENTITIES and not value.isdigit():
            problems.append(f"{filename}: {key}-{value} must be a non-negative integer index")
    return problems


def derivative_problems(relpath):
    """BIDS-derivatives naming problems of one file of a derivative dataset (a path relative to its root)."""
    parts = relpath.replace(os.sep, "/").split("/")
    filename = parts[-1]
    try:
        entities, suffix, ext = parse_name(filename)
    except BIDSNameError as error:
        return [str(error)]
    problems = entity_problems(relpath, entities)
    if not parts[0].startswith("sub-") or parts[0] != f"sub-{entities.get('sub')}":
        problems.append(f"{relpath}: not inside its subject folder sub-{entities.get('sub')}")
    folders = parts[1:-1]
    if folders and folders[0].startswith("ses-"):
        if folders[0] != f"ses-{entities.get('ses')}":
            problems.append(f"{relpath}: session folder {folders[0]} differs from ses-{entities.get('ses')}")
        folders = folders[1:]
    elif "ses" in entities and folders != ["figures"]:  # subject-level figures name their session
        problems.append(f"{relpath}: ses-{entities['ses']} outside a session folder")
    if folders == ["figures"]:
        if ext not in FIGURE_EXTENSIONS:
            problems.append(f"{relpath}: figures are {FIGURE_EXTENSIONS}, not '{ext}'")
        return problems
    if suffix not in DERIVATIVE_SUFFIXES:
        return problems + [f"{relpath}: suffix '{suffix}' is not one of {sorted(DERIVATIVE_SUFFIXES)}"]
    datatype, extensions = DERIVATIVE_SUFFIXES[suffix]
    if folders != [datatype]:
        problems.append(f"{relpath}: a '{suffix}' file belongs in the {datatype}/ folder")
    if ext not in extensions:
        problems.append(f"{relpath}: extension '{ext}' is not one of {extensions} for '{suffix}'")
    if suffix == "probseg" and ext == ".nii.gz" and "label" not in entities:
        problems.append(f"{relpath}: a 3-D probseg map needs label-<name>")
    return problems


def validate_derivatives(root, ignore=("group", "work", "logs", ".snakemake")):
    """Every naming problem of the files of a derivative dataset, plus the required top-level files and the
    sidecars every image must have (a JSON beside each NIfTI, a TSV beside each dseg)."""
    problems = []
    description = os.path.join(root, "dataset_description.json")
    if not os.path.isfile(description):
        problems.append("dataset_description.json is missing")
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in ignore and not d.startswith(".")]
            extra = [f for f in files if f not in ("dataset_description.json", "README", "README.md",
                                                    "CHANGES", ".bidsignore", "participants.tsv")]
            problems += [f"{f}: unexpected file at the top level" for f in extra if not f.startswith(".")]
            continue
        names = set(files)
        for name in files:
            relpath = os.path.join(rel, name)
            problems += derivative_problems(relpath)
            stem, ext = split_extension(name)
            if ext == ".nii.gz" and stem + ".json" not in names:
                problems.append(f"{relpath}: no JSON sidecar")
            if ext == ".nii.gz" and stem.endswith("_dseg") and stem + ".tsv" not in names:
                problems.append(f"{relpath}: no .tsv label table")
    return problems
