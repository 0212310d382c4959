#!/usr/bin/python3
"""Accuracy benchmark: Dice per tissue (CSF, GM, WM) and time of the module's exact K-means, Gaussian mixture
(GMM) and GMM with the Potts prior (GMM + MRF), against scikit-learn's KMeans and GaussianMixture and DIPY's
TissueClassifierHMRF, on

  (a) a brain-like phantom with known labels (made here; 3 % and 9 % Rician noise, 20 % bias field), and
  (b) the MNI152 2009a template (brain = t1 > 0, truth = arg max of CSF = 255 - gm - wm, GM, WM).

Usage: run-accuracy-benchmark.py --program BUILD/benchmarks/accuracy/gmm-accuracy [--data DIR]
       [--beta B] [--mrf-iterations N] [--dipy-beta B] [--dipy-iterations N] [--skip-dipy] [--repeat N]

Times (wall clock, and processor time of all threads, which depends less on other load of the machine): the
filters' Update() (reading excluded) as printed by gmm-accuracy; scikit-learn fit +
predict on the brain voxels; DIPY classify() on the image cropped to the brain's bounding box plus 2 voxels
(DIPY has no mask; the crop only saves it time). DIPY is slow, so it runs --dipy-iterations (default 3) ICM
iterations with tolerance 0; GMM + MRF runs up to --mrf-iterations (default 10) and, for the speed comparison,
also exactly --dipy-iterations. With --repeat N every method runs N times and each time column gives its best
(the machine's other load only ever adds time); the Dice scores are the same every time. Dice is computed inside
the brain for every method. On the data sets with true fractions (the partial-volume phantoms, MNI152), a
reference row ("two-tissue fractions at the true pure intensities", no method, no time) gives what a partial-volume
model that holds at most two adjacent tissues per voxel reaches with the image's own pure intensities and no noise
model: the pure intensities fitted to the true fractions by least squares, each voxel's fractions linear in its
intensity between the two adjacent ones. A second table gives, per data set, GMM + MRF's speed-up over DIPY's HMRF at the same
number of iterations, by wall clock and by processor time. Run with /usr/bin/python3 (Debian's numpy,
scikit-learn, nibabel, python3-dipy).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import nibabel as nib
import numpy as np

TISSUES = ("CSF", "GM", "WM")


def dice(labels, truth):
    result = []
    for label in (1, 2, 3):
        a = labels == label
        b = truth == label
        denominator = a.sum() + b.sum()
        result.append(2.0 * np.logical_and(a, b).sum() / denominator if denominator else 0.0)
    return result


def label_volumes(labels):
    return [int((labels == label).sum()) for label in (1, 2, 3)]


def make_phantom(noise_percent, bias_percent, seed=1):
    """Brain-like phantom, 1 mm voxels: folded cortex (GM) around white matter, deep grey nuclei, ventricles and
    an outer CSF layer. Intensities CSF 250, GM 600, WM 850 (T1-like), times a smooth multiplicative bias field
    spanning 1 -+ bias/2, plus Rician noise of standard deviation noise % of the WM intensity."""
    shape = (144, 176, 144)
    x, y, z = np.meshgrid(*(np.linspace(-1.0, 1.0, n) for n in shape), indexing="ij")
    r = np.sqrt((x / 0.85) ** 2 + (y / 0.9) ** 2 + (z / 0.8) ** 2)
    theta = np.arctan2(y, x)
    phi = np.arccos(np.clip(z / np.maximum(np.sqrt(x * x + y * y + z * z), 1e-9), -1.0, 1.0))
    folds = np.sin(9.0 * theta) * np.sin(7.0 * phi)
    truth = np.zeros(shape, np.uint8)
    truth[r < 0.97 + 0.02 * folds] = 1  # CSF around the brain
    truth[r < 0.90 + 0.02 * folds] = 2  # cortex, 1.5 to 6 voxels thick
    truth[r < 0.85 + 0.05 * folds] = 3  # white matter, following the folds
    nuclei = ((np.abs(x) - 0.18) / 0.1) ** 2 + (y / 0.16) ** 2 + ((z + 0.05) / 0.14) ** 2 < 1.0
    truth[nuclei] = 2
    ventricles = ((np.abs(x) - 0.08) / 0.06) ** 2 + ((y - 0.05) / 0.3) ** 2 + ((z - 0.1) / 0.12) ** 2 < 1.0
    truth[ventricles] = 1
    intensity = np.array([0.0, 250.0, 600.0, 850.0])[truth]
    field = 0.6 * x + 0.3 * y - 0.5 * z + 0.4 * x * y
    field = field / np.abs(field[truth > 0]).max()
    intensity = intensity * (1.0 + 0.5 * bias_percent / 100.0 * field)
    rng = np.random.default_rng(seed)
    sigma = noise_percent / 100.0 * 850.0
    noisy = np.sqrt((intensity + rng.normal(0.0, sigma, shape)) ** 2 + rng.normal(0.0, sigma, shape) ** 2)
    return noisy.astype(np.float32), truth


def phantom_geometry(x, y, z):
    """Tissue labels (0 outside, 1 CSF, 2 GM, 3 WM) of the brain-like phantom at points x, y, z in [-1, 1]."""
    r = np.sqrt((x / 0.85) ** 2 + (y / 0.9) ** 2 + (z / 0.8) ** 2)
    theta = np.arctan2(y, x)
    phi = np.arccos(np.clip(z / np.maximum(np.sqrt(x * x + y * y + z * z), 1e-9), -1.0, 1.0))
    folds = np.sin(9.0 * theta) * np.sin(7.0 * phi)
    truth = np.zeros(x.shape, np.uint8)
    truth[r < 0.97 + 0.02 * folds] = 1
    truth[r < 0.90 + 0.02 * folds] = 2
    truth[r < 0.85 + 0.05 * folds] = 3
    truth[((np.abs(x) - 0.18) / 0.1) ** 2 + (y / 0.16) ** 2 + ((z + 0.05) / 0.14) ** 2 < 1.0] = 2
    truth[((np.abs(x) - 0.08) / 0.06) ** 2 + ((y - 0.05) / 0.3) ** 2 + ((z - 0.1) / 0.12) ** 2 < 1.0] = 1
    return truth


def make_partial_volume_phantom(noise_percent, bias_percent, seed=1, shape=(144, 176, 144), factor=4):
    """The brain-like phantom drawn at factor x the resolution and averaged down, so that every voxel's tissue
    fractions are known: returns the image, the hard truth (largest fraction; 0 outside the brain, the brain
    being the voxels with no background in them), and the fractions (3 x shape, 0 outside the brain)."""
    fine = [np.linspace(-1.0, 1.0, n * factor) for n in shape]
    counts = np.zeros((4,) + shape, np.float32)
    for i in range(shape[0]):
        x, y, z = np.meshgrid(fine[0][i * factor:(i + 1) * factor], fine[1], fine[2], indexing="ij")
        labels = phantom_geometry(x, y, z).reshape(factor, shape[1], factor, shape[2], factor)
        for label in range(4):
            counts[label, i] = (labels == label).sum(axis=(0, 2, 4))
    fractions = counts / float(factor ** 3)
    brain = fractions[0] == 0
    fractions = fractions[1:] * brain
    truth = np.where(brain, np.argmax(fractions, axis=0) + 1, 0).astype(np.uint8)
    x, y, z = np.meshgrid(*(np.linspace(-1.0, 1.0, n) for n in shape), indexing="ij")
    intensity = np.tensordot(np.array([250.0, 600.0, 850.0]), fractions, axes=1)
    field = 0.6 * x + 0.3 * y - 0.5 * z + 0.4 * x * y
    field = field / np.abs(field[brain]).max()
    intensity = intensity * (1.0 + 0.5 * bias_percent / 100.0 * field)
    rng = np.random.default_rng(seed)
    sigma = noise_percent / 100.0 * 850.0
    noisy = np.sqrt((intensity + rng.normal(0.0, sigma, shape)) ** 2 + rng.normal(0.0, sigma, shape) ** 2)
    return (noisy * brain).astype(np.float32), truth, fractions


def volume_errors(row, truth, fractions):
    """Per tissue, the relative error (%) of the volume from the hard labels and, for rows with fractions, of the
    fraction sums, against the true volumes (fraction sums of the truth where known, else label counts)."""
    true_volumes = fractions.reshape(3, -1).sum(axis=1) if fractions is not None else \
        np.array([(truth == label).sum() for label in (1, 2, 3)], np.float64)
    hard = 100.0 * (np.array(row["volumes"], np.float64) / true_volumes - 1.0)
    soft = 100.0 * (np.array(row["fraction_sums"]) / true_volumes - 1.0) if "fraction_sums" in row else None
    return hard, soft


def two_tissue_reference(image, truth, fractions):
    """The reference row of a data set with true fractions (K x shape, 0 outside the brain truth > 0): the pure
    intensities mu fitted to the true fractions by least squares (intensity ~ sum_k f_k mu_k), then each voxel's
    fractions from its intensity alone, linear between the two adjacent pure intensities it lies between (all of
    the darkest tissue below mu_1, all of the brightest above mu_K): the fractions of a partial-volume model with
    two tissues per voxel, the true pure intensities and no noise model. Returns the row (Dice and volumes of the
    largest fraction, fraction sums, fractions) and mu."""
    brain = truth > 0
    x = image[brain].astype(np.float64)
    true = fractions[:, brain].T.astype(np.float64)
    mu = np.linalg.lstsq(true, x, rcond=None)[0]
    K = len(mu)
    if not np.all(np.diff(mu) > 0):
        raise ValueError("pure intensities fitted to the fractions do not ascend: %s" % mu)
    estimate = np.zeros_like(true)
    segment = np.clip(np.searchsorted(mu, x) - 1, 0, K - 2)  # the pair of tissues (j, j + 1) around x
    upper = np.clip((x - mu[segment]) / (mu[segment + 1] - mu[segment]), 0.0, 1.0)
    rows = np.arange(len(x))
    estimate[rows, segment] = 1.0 - upper
    estimate[rows, segment + 1] = upper
    result = np.zeros(fractions.shape, np.float64)
    result[:, brain] = estimate.T
    labels = np.where(brain, np.argmax(result, axis=0) + 1, 0).astype(np.uint8)
    row = {"method": "reference: two-tissue fractions at the true pure intensities %s" %
                     " / ".join("%.0f" % m for m in mu),
           "dice": dice(labels, truth), "volumes": label_volumes(labels), "fraction_sums": list(estimate.sum(axis=0)),
           "fractions": result, "seconds": None, "processor_seconds": None, "iterations": ""}
    return row, mu


def best(a, b):
    """The same method's two runs: the smaller time of each kind (Dice and iterations do not change)."""
    assert a["method"] == b["method"]
    return dict(a, seconds=min(a["seconds"], b["seconds"]),
                processor_seconds=min(a["processor_seconds"], b["processor_seconds"]))


def save(array, path, affine=np.eye(4)):
    nib.save(nib.Nifti1Image(array, affine), path)


def run_module(program, image_path, truth_path, beta, iterations, fixed_iterations, directory, pve_beta):
    output = subprocess.run([program, image_path, truth_path, str(beta), str(iterations), str(fixed_iterations),
                             directory, str(pve_beta)], check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    # The fraction maps of the rows that have them: gmm-accuracy numbers its last three rows 0, 1, 2.
    for number, row in enumerate(rows[-3:]):
        path = os.path.join(directory, "%d.nii.gz" % number)
        if "fraction_sums" in row and os.path.exists(path):
            row["fractions"] = np.moveaxis(np.squeeze(np.asarray(nib.load(path).dataobj)), -1, 0)
            os.remove(path)
    return rows


def run_sklearn(image, truth):
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    brain = truth > 0
    samples = image[brain].astype(np.float64).reshape(-1, 1)
    rows = []
    for name, model in (("scikit-learn KMeans", KMeans(n_clusters=3, n_init=1, random_state=0)),
                        ("scikit-learn GaussianMixture", GaussianMixture(n_components=3, random_state=0))):
        start, processor_start = time.perf_counter(), time.process_time()
        model.fit(samples)
        predicted = model.predict(samples)
        seconds, processor_seconds = time.perf_counter() - start, time.process_time() - processor_start
        means = model.cluster_centers_.ravel() if hasattr(model, "cluster_centers_") else model.means_.ravel()
        rank = np.empty(3, np.uint8)
        rank[np.argsort(means)] = np.arange(1, 4)
        labels = np.zeros(image.shape, np.uint8)
        labels[brain] = rank[predicted]
        iterations = getattr(model, "n_iter_", 0)
        rows.append({"method": name, "dice": dice(labels, truth), "volumes": label_volumes(labels), "seconds": seconds,
                     "processor_seconds": processor_seconds, "iterations": iterations})
    return rows


def run_dipy(image, truth, beta, iterations):
    from dipy.segment.tissue import TissueClassifierHMRF

    inside = np.argwhere(truth > 0)
    low = np.maximum(inside.min(axis=0) - 2, 0)
    high = np.minimum(inside.max(axis=0) + 3, truth.shape)
    box = tuple(slice(a, b) for a, b in zip(low, high))
    classifier = TissueClassifierHMRF(verbose=False)
    start, processor_start = time.perf_counter(), time.process_time()
    _, final, _ = classifier.classify(image[box].astype(np.float64), 3, beta, tolerance=0.0, max_iter=iterations)
    seconds, processor_seconds = time.perf_counter() - start, time.process_time() - processor_start
    labels = np.zeros(truth.shape, np.uint8)
    labels[box] = final
    labels[truth == 0] = 0
    return {"method": "DIPY TissueClassifierHMRF (beta %g)" % beta, "dice": dice(labels, truth),
            "volumes": label_volumes(labels),
            "seconds": seconds, "processor_seconds": processor_seconds, "iterations": iterations}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--program", required=True, help="the gmm-accuracy program")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "../../../shared/data/mni152-2009a"),
                        help="directory with the MNI152 t1.nii.gz, gm.nii.gz, wm.nii.gz")
    parser.add_argument("--beta", type=float, default=0.6, help="Potts weight of GMM + MRF (default 0.6)")
    parser.add_argument("--dipy-beta", type=float, default=0.1, help="DIPY's beta (default 0.1, its example's)")
    parser.add_argument("--mrf-iterations", type=int, default=10,
                        help="largest number of MRF iterations of GMM + MRF (default 10)")
    parser.add_argument("--dipy-iterations", type=int, default=3,
                        help="ICM iterations of DIPY's HMRF, also run by GMM + MRF for timing (default 3)")
    parser.add_argument("--pve-beta", type=float, default=0.6, help="Potts weight of the PVE rows (default 0.6)")
    parser.add_argument("--skip-dipy", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of every method; each time column gives the best (default 1)")
    arguments = parser.parse_args()

    datasets = []
    with tempfile.TemporaryDirectory() as directory:
        for noise in (3, 9):
            image, truth = make_phantom(noise, 20)
            name = "phantom %d %% noise, 20 %% bias" % noise
            datasets.append((name, image, truth, None))
        for noise in (3, 9):
            image, truth, fractions = make_partial_volume_phantom(noise, 20)
            name = "PV phantom %d %% noise, 20 %% bias" % noise
            datasets.append((name, image, truth, fractions))
        mni = os.path.abspath(arguments.data)
        if os.path.exists(os.path.join(mni, "t1.nii.gz")):
            t1 = nib.load(os.path.join(mni, "t1.nii.gz"))
            image = np.asarray(t1.dataobj).astype(np.float32)
            gm = np.asarray(nib.load(os.path.join(mni, "gm.nii.gz")).dataobj).astype(np.float64)
            wm = np.asarray(nib.load(os.path.join(mni, "wm.nii.gz")).dataobj).astype(np.float64)
            csf = 255.0 - gm - wm
            truth = (np.argmax(np.stack([csf, gm, wm]), axis=0) + 1).astype(np.uint8)
            truth[image <= 0] = 0
            fractions = np.stack([csf, gm, wm]) / 255.0 * (image > 0)
            datasets.append(("MNI152 2009a", image, truth, fractions))
        else:
            print("MNI152 template not found in %s: skipped" % mni, file=sys.stderr)

        print("| data | method | Dice CSF | GM | WM | volume error % (hard) CSF | GM | WM | volume error % "
              "(fractions) CSF | GM | WM | fraction MAE CSF | GM | WM | time (s) | processor time (s) | iterations |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        speedups = []
        for name, image, truth, fractions in datasets:
            image_path = os.path.join(directory, "image.nii.gz")
            truth_path = os.path.join(directory, "truth.nii.gz")
            save(image, image_path)
            save(truth, truth_path)
            rows = None
            for _ in range(max(1, arguments.repeat)):
                runs = run_module(arguments.program, image_path, truth_path, arguments.beta,
                                  arguments.mrf_iterations, arguments.dipy_iterations, directory, arguments.pve_beta)
                runs += run_sklearn(image, truth)
                if not arguments.skip_dipy:
                    runs.append(run_dipy(image, truth, arguments.dipy_beta, arguments.dipy_iterations))
                rows = runs if rows is None else [best(a, b) for a, b in zip(rows, runs)]
            if fractions is not None:
                rows.append(two_tissue_reference(image, truth, fractions)[0])
            brain = truth > 0
            for row in rows:
                hard, soft = volume_errors(row, truth, fractions)
                cells = ["%.1f" % v for v in hard] + (["%.1f" % v for v in soft] if soft is not None else ["", "", ""])
                if "fractions" in row and fractions is not None:
                    cells += ["%.3f" % np.abs(row["fractions"][k][brain] - fractions[k][brain]).mean() for k in range(3)]
                else:
                    cells += ["", "", ""]
                times = ["" if row[key] is None else "%.2f" % row[key] for key in ("seconds", "processor_seconds")]
                print("| %s | %s | %.3f | %.3f | %.3f | %s | %s | %s | %s |" % (
                    name, row["method"], *row["dice"], " | ".join(cells), *times, row["iterations"]), flush=True)
            fixed = [row for row in rows if row["method"].endswith("exactly %d iterations" % arguments.dipy_iterations)]
            dipy = [row for row in rows if row["method"].startswith("DIPY")]
            if fixed and dipy:
                speedups.append((name, fixed[0], dipy[0]))
        if speedups:
            print()
            print("| data | GMM + MRF, %d it.: time (s) | processor time (s) | DIPY HMRF, %d it.: time (s) | "
                  "processor time (s) | speed-up, time | speed-up, processor time |"
                  % (arguments.dipy_iterations, arguments.dipy_iterations))
            print("|---|---|---|---|---|---|---|")
            for name, ours, theirs in speedups:
                print("| %s | %.3f | %.3f | %.2f | %.2f | %.1fx | %.1fx |" % (
                    name, ours["seconds"], ours["processor_seconds"], theirs["seconds"],
                    theirs["processor_seconds"], theirs["seconds"] / ours["seconds"],
                    theirs["processor_seconds"] / ours["processor_seconds"]))


if __name__ == "__main__":
    main()
