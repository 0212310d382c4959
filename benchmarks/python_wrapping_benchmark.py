#!/usr/bin/env python3
"""Speed of the Python wrapping on a 256^3 int16 NumPy volume (K = 4), with baselines measured in the same run.

    PYTHONPATH=<wrapped ITK build>/Wrapping/Generators/Python python3 benchmarks/python_wrapping_benchmark.py

Rows: the C++ filter alone (Update() of the wrapped KMeansSegmentationImageFilter on an itk.Image, no Python in
the timed region), the whole Python route from a NumPy array to a NumPy label array (image_view_from_array,
the functional call, array_view_from_image; also with a copying image_from_array and with the array passed
straight to the functional call), and scikit-learn's KMeans(n_clusters=4, n_init=1) on the reshaped volume.
Targets: Python route <= 1.5x the C++ filter; scikit-learn >= 100x slower than the Python route.
"""
import argparse
import os
import time

import numpy as np

import itk


def brain_like_volume(size, seed=0):
    """int16 volume: background, scalp, CSF, grey and white matter shells, bias field, Gaussian noise."""
    z, y, x = np.ogrid[:size, :size, :size]
    c = (size - 1) / 2.0
    r = np.sqrt(((z - c) / (0.45 * size)) ** 2 + ((y - c) / (0.42 * size)) ** 2 + ((x - c) / (0.38 * size)) ** 2)
    volume = np.select([r < 0.55, r < 0.75, r < 0.85, r < 1.0], [900.0, 650.0, 350.0, 1100.0], 30.0)
    volume = volume.astype(np.float32)
    volume *= (0.9 + 0.2 * (x / size)).astype(np.float32)
    rng = np.random.default_rng(seed)
    volume += rng.normal(0.0, 30.0, volume.shape).astype(np.float32)
    return np.clip(np.rint(volume), -32768, 32767).astype(np.int16)


def best_of(function, repetitions):
    times = []
    result = None
    for _ in range(repetitions):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repetitions", type=int, default=11)
    parser.add_argument("--no-sklearn", action="store_true")
    args = parser.parse_args()

    array = brain_like_volume(args.size)
    k = 4
    print(f"ITK {itk.Version.GetITKVersion()}, volume {array.shape} int16, {len(np.unique(array))} distinct values, "
          f"K = {k}, {itk.MultiThreaderBase.GetGlobalDefaultNumberOfThreads()} ITK threads, load {os.getloadavg()}")
    image = itk.image_from_array(array)
    itk.k_means_segmentation_image_filter(image, number_of_classes=k)  # loads the module

    def cxx_filter():
        segmenter = itk.KMeansSegmentationImageFilter[type(image), itk.Image[itk.UC, 3]].New(
            Input=image, NumberOfClasses=k)
        start = time.perf_counter()
        segmenter.Update()
        return time.perf_counter() - start, segmenter.GetOutput()

    cxx_times = [cxx_filter()[0] for _ in range(args.repetitions)]
    cxx = min(cxx_times)
    reference = itk.array_from_image(cxx_filter()[1])

    def python_view():
        labels = itk.k_means_segmentation_image_filter(itk.image_view_from_array(array), number_of_classes=k)
        return itk.array_view_from_image(labels)

    def python_copy():
        labels = itk.k_means_segmentation_image_filter(itk.image_from_array(array), number_of_classes=k)
        return itk.array_from_image(labels)

    def python_array():
        return np.asarray(itk.k_means_segmentation_image_filter(array, number_of_classes=k))

    rows = [("C++ filter alone (Update())", cxx, float(np.median(cxx_times)), None)]
    for name, function in [("Python: image_view_from_array -> functional -> array_view_from_image", python_view),
                           ("Python: image_from_array -> functional -> array_from_image (copies)", python_copy),
                           ("Python: NumPy array straight into the functional call", python_array)]:
        try:
            best, median, labels = best_of(function, args.repetitions)
        except Exception as error:  # an ITK without array-like support in functional calls
            print(f"{name}: not available ({error})")
            continue
        assert np.array_equal(labels, reference), name
        rows.append((name, best, median, best / cxx))
    for name, best, median, ratio in rows:
        extra = f"  ratio to C++ {ratio:.2f} (target <= 1.5: {'pass' if ratio <= 1.5 else 'FAIL'})" if ratio else ""
        print(f"{name:72s} best {best * 1e3:8.1f} ms  median {median * 1e3:8.1f} ms{extra}")

    if not args.no_sklearn:
        from sklearn.cluster import KMeans
        start = time.perf_counter()
        KMeans(n_clusters=k, n_init=1, random_state=0).fit(array.reshape(-1, 1).astype(np.float64))
        sklearn = time.perf_counter() - start
        python = rows[1][1]
        ratio = sklearn / python
        print(f"{'scikit-learn KMeans(n_init=1), one run':72s} {sklearn:8.2f} s  {ratio:.0f}x the Python route "
              f"(target >= 100: {'pass' if ratio >= 100 else 'FAIL'})")
    print(f"load after the run {os.getloadavg()}")


if __name__ == "__main__":
    main()
