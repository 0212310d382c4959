#!/usr/bin/env python3
"""Speed of the Python wrapping on a 256^3 int16 NumPy volume (K = 4), with baselines measured in the same run.

    PYTHONPATH=<wrapped ITK build>/Wrapping/Generators/Python python3 benchmarks/python_wrapping_benchmark.py

Rows: the C++ filter alone (Update() of the wrapped KMeansSegmentationImageFilter on an itk.Image, no Python in
the timed region; uint8 and int16 labels), the whole Python route from a NumPy array to a NumPy label array
(image_view_from_array, the functional call, array_view_from_image; with uint8 labels; with a copying
image_from_array; with the array passed straight to the functional call; the object API), each against the C++
filter with the same label type, and scikit-learn's KMeans(n_clusters=4, n_init=1) on the reshaped volume.
Targets: Python route <= 1.5x the C++ filter; scikit-learn >= 100x slower than the first Python route.
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

    image_type = itk.Image[itk.SS, 3]
    label_types = {np.dtype(np.uint8): itk.Image[itk.UC, 3], np.dtype(np.int16): itk.Image[itk.SS, 3]}

    def cxx_filter(label_type):
        segmenter = itk.KMeansSegmentationImageFilter[image_type, label_type].New(Input=image, NumberOfClasses=k)
        start = time.perf_counter()
        segmenter.Update()
        return time.perf_counter() - start, segmenter.GetOutput()

    # The C++ filter alone, for each label type (the functional call picks short labels for a short input).
    cxx = {}
    for dtype, label_type in label_types.items():
        times = [cxx_filter(label_type)[0] for _ in range(args.repetitions)]
        cxx[dtype] = (min(times), float(np.median(times)))
        print(f"{'C++ filter alone (Update()), ' + dtype.name + ' labels':72s} best {min(times) * 1e3:8.1f} ms  "
              f"median {float(np.median(times)) * 1e3:8.1f} ms")
    reference = itk.array_from_image(cxx_filter(label_types[np.dtype(np.uint8)])[1])
    uc_labels = {"ttype": (image_type, label_types[np.dtype(np.uint8)])}

    routes = [
        ("Python: image_view_from_array -> functional -> array_view_from_image",
         lambda: itk.array_view_from_image(itk.k_means_segmentation_image_filter(
             itk.image_view_from_array(array), number_of_classes=k))),
        ("  the same, uint8 labels (ttype)",
         lambda: itk.array_view_from_image(itk.k_means_segmentation_image_filter(
             itk.image_view_from_array(array), number_of_classes=k, **uc_labels))),
        ("Python: image_from_array -> functional -> array_from_image (copies)",
         lambda: itk.array_from_image(itk.k_means_segmentation_image_filter(
             itk.image_from_array(array), number_of_classes=k))),
        ("Python: NumPy array straight into the functional call",
         # The result is ITK's NDArrayITKBase view, which keeps the label image alive. Not np.asarray() of it: in
         # ITK 5.3 the plain view that makes points at the buffer but not at the image, which is then freed.
         lambda: itk.k_means_segmentation_image_filter(array, number_of_classes=k)),
        ("Python: object API, New(image, NumberOfClasses=4), Update(), array_view_from_image",
         lambda: python_object(itk.image_view_from_array(array))),
    ]

    def python_object(view):
        segmenter = itk.KMeansSegmentationImageFilter.New(view, NumberOfClasses=k)
        segmenter.Update()
        return itk.array_view_from_image(segmenter.GetOutput())

    first_route = None
    for name, function in routes:
        try:
            best, median, labels = best_of(function, args.repetitions)
        except Exception as error:  # an ITK without array-like support in functional calls
            print(f"{name}: not available ({error})")
            continue
        assert np.array_equal(labels, reference), name
        # Ratios of the medians (the target) and of the best times: one lucky run of either side moves the latter.
        ratio = median / cxx[labels.dtype][1]
        first_route = first_route or best
        print(f"{name:72s} best {best * 1e3:8.1f} ms  median {median * 1e3:8.1f} ms  {labels.dtype.name} labels, "
              f"ratio to C++ {ratio:.2f} median, {best / cxx[labels.dtype][0]:.2f} best "
              f"(target <= 1.5: {'pass' if ratio <= 1.5 else 'FAIL'})")

    if not args.no_sklearn:
        from sklearn.cluster import KMeans
        start = time.perf_counter()
        KMeans(n_clusters=k, n_init=1, random_state=0).fit(array.reshape(-1, 1).astype(np.float64))
        sklearn = time.perf_counter() - start
        ratio = sklearn / first_route
        print(f"{'scikit-learn KMeans(n_init=1), one run':72s} {sklearn:8.2f} s  {ratio:.0f}x the Python route "
              f"(target >= 100: {'pass' if ratio >= 100 else 'FAIL'})")
    print(f"load after the run {os.getloadavg()}")


if __name__ == "__main__":
    main()
