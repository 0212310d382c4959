"""Cohort segmentation with kmeans-segment: BIDS discovery, BIDS-derivatives naming, the per-scan step, the
cohort table and QC page, the kmeans-cohort command and a Nipype interface.

Only the standard library is needed to discover scans and drive Snakemake; nibabel (posterior maps) and Pillow
(thumbnails) are used when present.
"""
