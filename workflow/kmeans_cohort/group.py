"""The cohort step: `group/volumes.tsv` (+ its JSON sidecar), `group/report.html` and the derivative dataset's
`dataset_description.json`, from the status records of every scan in `work/scans.tsv`.

    python3 -m kmeans_cohort.group --version 0.1.0 [--bids-dir DIR] [--title TEXT]
"""
import argparse
import json
import os
import sys

from . import report_page, scans, table
from .scan import thumbnail_path, write_json


def write_text(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def dataset_description(version, bids_dir, options):
    public = {k: v for k, v in options.items() if k != "kmeans_segment"}
    description = {"Name": "kmeans-segment tissue segmentation", "BIDSVersion": "1.8.0",
                   "DatasetType": "derivative",
                   "GeneratedBy": [{"Name": "kmeans-segment", "Version": version,
                                    "Description": "exact K-means / Gaussian mixture (+ Potts MRF) tissue classes, "
                                                   f"options {json.dumps(public, sort_keys=True)}",
                                    "CodeURL": "https://github.com/InsightSoftwareConsortium/ITKKMeansSegmentation"}]}
    if bids_dir:
        description["SourceDatasets"] = [{"URL": "file://" + os.path.abspath(bids_dir)}]
        description["DatasetLinks"] = {"raw": "file://" + os.path.abspath(bids_dir)}
    return description


def run(version, bids_dir="", options=None, title="Cohort segmentation"):
    """Writes the group outputs; returns the number of failed scans."""
    scan_ids = [scan["id"] for scan in scans.read_table()]
    rows, labels = table.build_rows(scan_ids)
    write_text("group/volumes.tsv", table.format_tsv(rows, labels))
    write_json("group/volumes.json", table.column_descriptions(labels))
    thumbnails = {scan_id: thumbnail_path(scan_id) for scan_id in scan_ids}
    model = (options or {}).get("model", "kmeans")
    details = f"kmeans-segment {version}, model {model}, K = {(options or {}).get('k', 3)}; source {bids_dir or 'n/a'}"
    write_text("group/report.html", report_page.render(rows, labels, thumbnails, title, details))
    write_json("dataset_description.json", dataset_description(version, bids_dir, options or {}))
    write_text(".bidsignore", "group/\nwork/\nlogs/\n")
    return sum(row["status"] != "ok" for row in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Cohort table, QC page and dataset description")
    parser.add_argument("--version", required=True, help="kmeans-segment's version (for GeneratedBy)")
    parser.add_argument("--bids-dir", default="")
    parser.add_argument("--options", default="{}")
    parser.add_argument("--title", default="Cohort segmentation")
    args = parser.parse_args(argv)
    failed = run(args.version, args.bids_dir, json.loads(args.options), args.title)
    if failed:
        print(f"kmeans-cohort: {failed} scan(s) failed; see group/volumes.tsv and group/report.html",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
