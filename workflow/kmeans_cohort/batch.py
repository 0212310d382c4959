"""A batch of scans in one workflow job: the per-scan step (kmeans_cohort.scan) for each, as many at once as the
job's threads allow (its --threads over the options' threads per scan), in threads of this one process, so that
a cohort of many short scans pays Snakemake's and Python's per-job costs once per batch instead of once per scan.

    python3 -m kmeans_cohort.batch --batches work/batches.json --batch NAME --options '{...}' --threads N

Each scan gets the same outputs and status record `work/scans/<id>.json` as in a job of its own. A scan
kmeans-segment refuses is recorded as failed and the batch goes on. A scan whose run crashed (killed, out of
memory) is recorded as failed with `"retry": true`, so the batch's other records stay and the next run segments
that scan (and only it) again. SIGTERM / SIGINT / SIGHUP end every running kmeans-segment and the batch.
"""
import argparse
import concurrent.futures
import json
import signal
import sys
import time

from . import scan as one_scan, scans

BATCHES = "work/batches.json"


def record_path(scan_id):
    return f"work/scans/{scan_id}.json"


def write_batches(batches, path=BATCHES):
    one_scan.write_json(path, batches)


def read_batches(path=BATCHES):
    with open(path) as handle:
        return json.load(handle)


def plan(scan_ids, size, prefix):
    """Split scan_ids into batches of at most `size` scans, of nearly equal sizes: {name: [ids]}."""
    if not scan_ids:
        return {}
    count = -(-len(scan_ids) // max(size, 1))
    step, extra = divmod(len(scan_ids), count)
    batches, start = {}, 0
    for index in range(count):
        end = start + step + (index < extra)
        batches[f"{prefix}_{index + 1}"] = scan_ids[start:end]
        start = end
    return batches


def record_crash(scan, options, path):
    one_scan.write_json(path, dict(one_scan.base_record(scan, options), status="failed", retry=True,
                                   error="kmeans-segment crashed or was killed; the next run tries again"))


def run(members, options, parallel, bids_dir=""):
    """Segment the scans `members` (rows of the scan table), `parallel` at once; returns the ids of the scans
    whose run crashed."""
    def one(scan):
        path = record_path(scan["id"])
        started = time.time()
        status = one_scan.process(scan, options, path, bids_dir)
        if one_scan.STOPPING.is_set():
            return status
        if status != 0:
            record_crash(scan, options, path)
        print(f"{scan['id']}: {'done' if status == 0 else f'crashed (status {status})'} "
              f"in {time.time() - started:.2f} s", flush=True)
        return status

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(parallel, 1)) as pool:
        futures = [pool.submit(one, scan) for scan in members]
        try:
            # Wake up often: a signal may be delivered to a worker thread, and Python runs its handler in the
            # main thread only when that thread runs again.
            while concurrent.futures.wait(futures, timeout=0.2).not_done:
                pass
        except BaseException:  # a signal: end the running scans before the pool waits for its threads
            one_scan.kill_running()
            raise
    return [scan["id"] for scan, future in zip(members, futures) if future.result() != 0]


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Segment a batch of a cohort's scans into BIDS derivatives")
    parser.add_argument("--batches", default=BATCHES,
                        help="the batch plan (JSON: threads, batches: name -> scan ids)")
    parser.add_argument("--batch", required=True, help="the batch to run")
    parser.add_argument("--bids-dir", default="")
    parser.add_argument("--options", default="{}", help="JSON object of segmentation options")
    parser.add_argument("--threads", type=int, default=1, help="threads of this job (Snakemake's)")
    args = parser.parse_args(argv)
    options = json.loads(args.options)
    per_scan = max(int(options.get("threads", 1)), 1)
    parallel = max(args.threads // per_scan, 1)
    options["threads"] = min(per_scan, args.threads)
    table = {row["id"]: row for row in scans.read_table()}
    members = [table[scan_id] for scan_id in read_batches(args.batches)["batches"][args.batch]]
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _terminate)
    crashed = run(members, options, parallel, args.bids_dir)
    if crashed:
        print(f"kmeans-cohort: batch {args.batch}: {len(crashed)} scan(s) crashed (recorded, retried next run): "
              f"{', '.join(crashed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
