"""The cohort table `group/volumes.tsv`: one row per scan (class volumes in mL, total, class means, model,
status, error, time) and outliers by the robust z-score of each class's fraction of the total volume."""
import json
import os
import statistics

from . import classes

OUTLIER_Z = 3.5
NA = "n/a"


def robust_z(values):
    """Modified z-scores (Iglewicz & Hoaglin 1993): (x - median) / (1.4826 MAD). When the MAD is 0 the mean
    absolute deviation is used (scaled by 1.2533); when that is 0 too every score is 0."""
    if not values:
        return []
    median = statistics.median(values)
    deviations = [abs(v - median) for v in values]
    scale = 1.4826 * statistics.median(deviations)
    if scale == 0:
        scale = 1.2533 * statistics.fmean(deviations)
    if scale == 0:
        return [0.0] * len(values)
    return [(v - median) / scale for v in values]


def read_record(path):
    with open(path) as handle:
        record = json.load(handle)
    if record.get("status") == "ok":
        with open(record["report"]) as handle:
            record["report_data"] = json.load(handle)
    return record


def class_columns(records):
    """Class abbreviations of the cohort (from the first segmented scan), e.g. ['CSF', 'GM', 'WM']."""
    for record in records:
        if record.get("status") == "ok":
            report_classes = record["report_data"]["classes"]
            return classes.abbreviations(len(report_classes), "name" in report_classes[0])
    k = records[0].get("k", 3) if records else 3
    return classes.abbreviations(k, k == 3)


def scan_row(record, labels):
    row = {"participant_id": f"sub-{record['sub']}", "session_id": f"ses-{record['ses']}" if record["ses"] else NA,
           "scan_id": record["id"], "source": record["t1w"], "status": record["status"],
           "error": record.get("error") or NA, "model": record.get("model", NA), "k": record.get("k", NA),
           "total_ml": NA, "time_s": record.get("time_s", NA), "outlier": NA}
    for label in labels:
        row[f"{label}_ml"] = row[f"{label}_mean"] = row[f"{label}_fraction"] = NA
    if record["status"] == "ok":
        report_classes = record["report_data"]["classes"]
        volumes = [c.get("volume_ml", c.get("area_mm2", 0.0)) for c in report_classes]
        total = sum(volumes)
        row["total_ml"] = round(total, 4)
        for label, c, volume in zip(labels, report_classes, volumes):
            row[f"{label}_ml"] = round(volume, 4)
            row[f"{label}_mean"] = round(c["mean"], 4)
            row[f"{label}_fraction"] = round(volume / total, 6) if total > 0 else 0.0
    return row


def flag_outliers(rows, labels, threshold=OUTLIER_Z):
    """Marks rows whose class fraction has |robust z| > threshold: row['outlier'] = 'CSF z=+5.1; ...' and
    row['z'] = {label: z}."""
    ok = [row for row in rows if row["status"] == "ok"]
    for row in rows:
        row["z"] = {}
    if len(ok) < 3:
        return
    for label in labels:
        scores = robust_z([row[f"{label}_fraction"] for row in ok])
        for row, z in zip(ok, scores):
            row["z"][label] = z
    for row in ok:
        flagged = [f"{label} z={z:+.1f}" for label, z in row["z"].items() if abs(z) > threshold]
        row["outlier"] = "; ".join(flagged) if flagged else NA


def columns(labels):
    return (["participant_id", "session_id", "scan_id", "status", "error", "model", "k"]
            + [f"{label}_ml" for label in labels] + ["total_ml"] + [f"{label}_mean" for label in labels]
            + [f"{label}_fraction" for label in labels] + ["outlier", "time_s", "source"])


def tsv_value(value):
    text = str(value)
    return text.replace("\t", " ").replace("\n", " ")


def format_tsv(rows, labels):
    names = columns(labels)
    lines = ["\t".join(names)] + ["\t".join(tsv_value(row[n]) for n in names) for row in rows]
    return "\n".join(lines) + "\n"


def column_descriptions(labels):
    """The BIDS JSON sidecar of volumes.tsv: a description (and unit) of each column."""
    described = {"participant_id": {"Description": "BIDS participant"},
                 "session_id": {"Description": "BIDS session (n/a without sessions)"},
                 "scan_id": {"Description": "source T1w file name without its suffix"},
                 "status": {"Description": "ok, or failed (the scan was refused)", "Levels": {
                     "ok": "segmented", "failed": "kmeans-segment refused the scan; see error"}},
                 "error": {"Description": "kmeans-segment's one-line error for a failed scan"},
                 "model": {"Description": "segmentation model: kmeans, gmm, gmm+mrf or pve"},
                 "k": {"Description": "number of classes"},
                 "total_ml": {"Description": "volume of all classes", "Units": "mL"},
                 "outlier": {"Description": f"class fractions with robust z-score beyond {OUTLIER_Z}"},
                 "time_s": {"Description": "wall time of the scan's segmentation step", "Units": "s"},
                 "source": {"Description": "the segmented T1-weighted image"}}
    for label in labels:
        described[f"{label}_ml"] = {"Description": f"volume of class {label}", "Units": "mL"}
        described[f"{label}_mean"] = {"Description": f"mean intensity of class {label} (input units)"}
        described[f"{label}_fraction"] = {"Description": f"{label} volume / total volume"}
    return described


def build_rows(scan_ids, status_dir="work/scans"):
    records = [read_record(os.path.join(status_dir, f"{scan_id}.json")) for scan_id in scan_ids]
    labels = class_columns(records)
    rows = [scan_row(record, labels) for record in records]
    flag_outliers(rows, labels)
    return rows, labels


def read_tsv(path):
    with open(path) as handle:
        lines = handle.read().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]


def failed_scans(path):
    """(scan id, error) of the failed rows of a volumes.tsv."""
    return [(row["scan_id"], row["error"]) for row in read_tsv(path) if row["status"] != "ok"]
