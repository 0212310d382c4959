#!/usr/bin/python3
"""scikit-learn side of the multi-channel K-means benchmark and tests.

  multichannel_kmeans_sklearn.py RAW N C K      time KMeans(n_init=1) and KMeans(n_init=10) on N x C float32
                                                values (voxel-interleaved, as an itk::VectorImage buffer);
                                                prints one line of key=value pairs
  multichannel_kmeans_sklearn.py --test-phantom  inertia of KMeans(n_init=10) on the two-channel phantom of
                                                test/itkMultiChannelKMeansSegmentationImageFilterGTest.cxx
Run with /usr/bin/python3 (Debian's numpy and scikit-learn).
"""
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans

MASK64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def test_phantom(nx=48, ny=48, nz=24):
    """Same integer arithmetic as MakePhantom() in the test."""
    means = [[10, 90], [40, 60], [70, 80], [100, 30]]
    values = np.empty((nx * ny * nz, 2), np.float32)
    v = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                dx, dy, dz = x - nx // 2, y - ny // 2, 2 * (z - nz // 2)
                r2 = dx * dx + dy * dy + dz * dz
                cls = 3 if r2 < 100 else 2 if r2 < 300 else 1 if r2 < 500 else 0
                for c in range(2):
                    noise = splitmix64(2 * v + c) % 4001 - 2000
                    values[v, c] = np.float32(means[cls][c] + noise / 100.0)
                v += 1
    return values


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--test-phantom":
        x = test_phantom().astype(np.float64)
        km = KMeans(n_clusters=4, n_init=10, random_state=0).fit(x)
        print(f"scikit-learn {sklearn.__version__} best of 10 inertia: {km.inertia_!r}")
        return
    raw, n, c, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    x = np.fromfile(raw, dtype=np.float32, count=n * c).reshape(n, c)
    t = time.perf_counter()
    one = KMeans(n_clusters=k, n_init=1, random_state=0).fit(x)
    one_time = time.perf_counter() - t
    t = time.perf_counter()
    ten = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x)
    ten_time = time.perf_counter() - t
    x64 = x.astype(np.float64)

    def inertia(centers, labels):
        return float(((x64 - centers.astype(np.float64)[labels]) ** 2).sum())

    values = {
        "version": sklearn.__version__,
        "n_init_1_seconds": one_time, "n_init_1_inertia": inertia(one.cluster_centers_, one.labels_),
        "n_init_1_iterations": int(one.n_iter_),
        "n_init_10_seconds": ten_time, "n_init_10_inertia": inertia(ten.cluster_centers_, ten.labels_),
    }
    print("sklearn-multichannel " + " ".join(f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}"
                                             for key, value in values.items()))

if __name__ == "__main__":
    main()
