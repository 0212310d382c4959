#!/usr/bin/python3
"""Streaming benchmark of kmeans-segment (not a test): a large int16 MetaImage segmented with K = 4 under
--max-memory, against the same run in memory (labels must be identical) and against the floor of a streamed
segmentation, read-threshold-write streaming the same file in the same number of pieces (one read, one write).

Usage: benchmarks/streaming-benchmark.py BUILD_DIR WORK_DIR [--size 1024 1024 1024] [--max-memory 256M]
Prints one Markdown table row per run with wall time, peak RSS (/usr/bin/time -v) and the ratio to the floor,
plus `uptime`. The big files are created in WORK_DIR and deleted at the end."""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import zlib

import numpy as np


def write_volume(path, size):
    """Shells of 4 intensities with 5 % noise and a bias, written slab by slab (bounded memory)."""
    nx, ny, nz = size
    header = (
        f"ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nDimSize = {nx} {ny} {nz}\n"
        "ElementSpacing = 0.2 0.2 0.2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n"
    )
    rng = np.random.default_rng(7)
    y, x = np.meshgrid(np.linspace(-1, 1, ny), np.linspace(-1, 1, nx), indexing="ij")
    noise = rng.standard_normal((16, ny, nx)).astype(np.float32)
    with open(path, "wb") as f:
        f.write(header.encode())
        for z in range(nz):
            zz = -1 + 2 * z / max(nz - 1, 1)
            r2 = x * x + y * y + zz * zz
            tissue = np.select([r2 > 0.8, r2 > 0.45, r2 > 0.15], [0.0, 300.0, 650.0], 1000.0).astype(np.float32)
            slab = tissue * (1 + 0.1 * (x + 1) / 2) * (1 + 0.05 * np.roll(noise[z % 16], z, axis=1))
            f.write(np.rint(slab).astype("<i2").tobytes())


def timed(command):
    result = subprocess.run(["/usr/bin/time", "-v", *map(str, command)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", result.stderr).group(1)
    seconds = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) * 1024
    return seconds, rss


def label_chunks(path, chunk=1 << 24):
    """The voxels of a MetaImage (local data, raw or zlib-compressed) in chunks, without loading it whole."""
    with open(path, "rb") as f:
        head = b""
        while not head.endswith(b"ElementDataFile = LOCAL\n"):
            head += f.readline()
        decompress = zlib.decompressobj() if b"CompressedData = True" in head else None
        while block := f.read(chunk):
            yield decompress.decompress(block) if decompress else block
        if decompress:
            yield decompress.flush()


def same_labels(a, b):
    """Whether two label files hold the same voxels (compared by SHA-256 of the decompressed data)."""
    digests = []
    for path in (a, b):
        digest = hashlib.sha256()
        for block in label_chunks(path):
            digest.update(block)
        digests.append(digest.digest())
    return digests[0] == digests[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("work")
    parser.add_argument("--size", type=int, nargs=3, default=[1024, 1024, 1024])
    parser.add_argument("--max-memory", default="256M")
    parser.add_argument("--skip-in-memory", action="store_true")
    args = parser.parse_args()
    program = os.path.join(args.build, "programs", "kmeans-segment")
    floor = os.path.join(args.build, "benchmarks", "read-threshold-write")
    os.makedirs(args.work, exist_ok=True)
    scan = os.path.join(args.work, "big.mha")
    files = [scan] + [os.path.join(args.work, n) for n in ("memory.mha", "streamed.mha", "floor.mha")]
    try:
        write_volume(scan, args.size)
        gib = os.path.getsize(scan) / 2**30
        report = os.path.join(args.work, "streamed.json")
        t_stream, rss_stream = timed([program, scan, "-o", files[2], "-k", 4, "--max-memory", args.max_memory,
                                      "--report", report, "-q"])
        memory = json.load(open(report))["memory"]
        thresholds = [str(t) for t in json.load(open(report))["thresholds"]]
        t_floor, rss_floor = timed([floor, "--divisions", memory["pieces"], scan, files[3], *thresholds])
        rows = [("kmeans-segment --max-memory " + args.max_memory, t_stream, rss_stream, memory["pieces"]),
                ("read-threshold-write, same pieces (floor)", t_floor, rss_floor, memory["pieces"])]
        identical = "not run"
        if not args.skip_in_memory:
            t_mem, rss_mem = timed([program, scan, "-o", files[1], "-k", 4, "-q"])
            rows.append(("kmeans-segment in memory", t_mem, rss_mem, 1))
            identical = "yes" if same_labels(files[1], files[2]) else "NO"
        print(f"Input {args.size[0]}x{args.size[1]}x{args.size[2]} int16 ({gib:.2f} GiB), K = 4; "
              f"labels identical to the in-memory run: {identical}")
        print("| run | pieces | wall s | peak RSS MiB | wall / floor |\n|---|---|---|---|---|")
        for name, seconds, rss, pieces in rows:
            print(f"| {name} | {pieces} | {seconds:.1f} | {rss / 2**20:.0f} | {seconds / t_floor:.2f} |")
        print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    finally:
        for path in files + [os.path.join(args.work, "streamed.json")]:
            if os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
