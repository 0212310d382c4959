#!/usr/bin/python3
"""Times scikit-learn's KMeans fit on a raw volume, for kmeans-benchmark.

The raw file holds the voxels with the channels of each voxel together (as itk::VectorImage stores them), x
fastest, no header. Only KMeans.fit is timed; the samples are converted to float64 (what scikit-learn uses for
integer input) before the clock starts. Prints one line:
  sklearn fit_seconds=... n_iter=... inertia=... centers=a,b,... peak_rss_kib=... threads=... version=...
"""
import argparse
import resource
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="raw voxel file")
    parser.add_argument("--dtype", default="int16", help="numpy dtype of the voxels (default int16)")
    parser.add_argument("--channels", type=int, default=1, help="values per voxel (default 1)")
    parser.add_argument("-k", type=int, default=4, help="number of clusters (default 4)")
    parser.add_argument("--n-init", type=int, default=1, help="KMeans n_init (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    args = parser.parse_args()

    values = np.fromfile(args.input, dtype=np.dtype(args.dtype))
    if values.size == 0 or values.size % args.channels:
        sys.exit(f"{args.input}: {values.size} values do not make voxels of {args.channels} channels")
    samples = values.reshape(-1, args.channels).astype(np.float64)
    del values

    kmeans = KMeans(n_clusters=args.k, n_init=args.n_init, random_state=args.seed)
    start = time.perf_counter()
    kmeans.fit(samples)
    seconds = time.perf_counter() - start

    threads = "?"
    try:
        from threadpoolctl import threadpool_info

        counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "openmp"]
        if counts:
            threads = str(max(counts))
    except ImportError:
        pass
    order = np.argsort(kmeans.cluster_centers_[:, 0])
    centers = ",".join(
        "/".join(f"{v:.1f}" for v in kmeans.cluster_centers_[i]) for i in order
    )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"sklearn fit_seconds={seconds:.6f} n_iter={kmeans.n_iter_} inertia={kmeans.inertia_:.17g} "
        f"centers={centers} peak_rss_kib={peak_kib} threads={threads} version={sklearn.__version__}"
    )


if __name__ == "__main__":
    main()
