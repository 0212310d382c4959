#!/usr/bin/python3
"""Speed of two builds of gmm-accuracy (say, before and after a change) on the same scans, measured in the same
run: the two programs run alternately --repeat times on each IMAGE MASK pair, and for every method the best
processor time (all threads; it depends less on the machine's other load than wall time) and the best wall time
of each are compared. Prints one row per scan and method with both times and the ratio new / old (below 1:
faster), and the load average before and after.

Usage: compare-speed.py --old OLD/gmm-accuracy --new NEW/gmm-accuracy [--repeat 5] IMAGE MASK [IMAGE MASK ...]

MASK is the label image gmm-accuracy takes as its brain mask and truth (any non-zero mask works for timing).
The Potts weight is 0.6 with up to 10 iterations (and exactly 3 in the "exactly 3 iterations" row), as in
run-accuracy-benchmark.py.
"""
import argparse
import json
import os
import subprocess
import sys


def run(program, image, mask):
    output = subprocess.run([program, image, mask, "0.6", "10", "3"], check=True, capture_output=True,
                            text=True).stdout
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("pairs", nargs="+", help="IMAGE MASK ...")
    arguments = parser.parse_args()
    if len(arguments.pairs) % 2:
        parser.error("give IMAGE MASK pairs")
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    print("%-28s %-60s %9s %9s %7s %9s %9s %7s" % ("scan", "method", "old cpu", "new cpu", "ratio", "old wall",
                                                   "new wall", "ratio"))
    for image, mask in zip(arguments.pairs[::2], arguments.pairs[1::2]):
        best = {}
        for _ in range(arguments.repeat):
            for which, program in (("old", arguments.old), ("new", arguments.new)):
                for row in run(program, image, mask):
                    key = (row["method"], which)
                    cpu, wall = best.get(key, (float("inf"), float("inf")))
                    best[key] = (min(cpu, row["processor_seconds"]), min(wall, row["seconds"]))
        for method in dict.fromkeys(method for method, _ in best):
            old, new = best[(method, "old")], best[(method, "new")]
            print("%-28s %-60s %9.4f %9.4f %7.3f %9.4f %9.4f %7.3f" % (
                os.path.basename(image), method[:60], old[0], new[0], new[0] / old[0], old[1], new[1],
                new[1] / old[1]))
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
