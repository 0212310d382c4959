"""Executes examples/KMeansSegmentationNotebook.ipynb (subsampled by 2) with nbconvert's ExecutePreprocessor."""
import os
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
preprocessors = pytest.importorskip("nbconvert.preprocessors")

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "KMeansSegmentationNotebook.ipynb"


@pytest.mark.parametrize("series", ["data", "synthetic"])
def test_notebook_runs_and_reports_volumes(series, output_dir, monkeypatch):
    # The kernel inherits this environment: the itk package on PYTHONPATH, a quick run, no display (the kernel
    # draws with matplotlib's inline backend, which needs none). "data" reads the MPRAGE series of the data
    # directory (the synthetic one when it is absent); "synthetic" writes one.
    monkeypatch.setenv("KMEANS_NOTEBOOK_SUBSAMPLE", "2")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # ctest's Agg would leave the notebook without pictures
    monkeypatch.setenv("KMEANS_PYTHON_TEST_OUTPUT_DIR", str(output_dir))
    if series == "synthetic":
        monkeypatch.setenv("KMEANS_DICOM_DIR", str(output_dir / "no-such-series"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    executor = preprocessors.ExecutePreprocessor(timeout=900, kernel_name="python3")
    executor.preprocess(notebook, {"metadata": {"path": str(NOTEBOOK.parent)}})
    nbformat.write(notebook, output_dir / f"KMeansSegmentationNotebook.{series}.ipynb")

    text = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))
    assert "ITK exact K-means" in text
    assert text.count(" mL") == 4
    assert "ITK labels identical on a second run: True" in text
    images = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the histogram and the slices
