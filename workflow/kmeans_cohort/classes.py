"""Class names, abbreviations and colours of a K-class segmentation, as kmeans-segment uses them
(include/itkKMeansClassColors.h: 3D Slicer's GenericAnatomyColors, tissue colours for CSF, GM, WM)."""

GENERIC = ((128, 174, 128), (241, 214, 145), (177, 122, 101), (111, 184, 210), (216, 101, 79), (221, 130, 101),
           (144, 238, 144), (192, 104, 88), (220, 245, 20), (78, 63, 0), (255, 250, 220), (230, 220, 70))
TISSUES = (("CSF", "CSF", (85, 188, 255)), ("Grey matter", "GM", (200, 200, 235)),
           ("White matter", "WM", (250, 250, 210)))


def class_table(k, tissues):
    """[(index, name, abbreviation, '#rrggbb')] for labels 1..k."""
    rows = []
    for i in range(k):
        if tissues and k == 3:
            name, abbreviation, rgb = TISSUES[i]
        else:
            name, abbreviation, rgb = f"Class {i + 1}", f"class{i + 1}", GENERIC[i % len(GENERIC)]
        rows.append((i + 1, name, abbreviation, "#%02x%02x%02x" % rgb))
    return rows


def abbreviations(k, tissues):
    return [row[2] for row in class_table(k, tissues)]


def dseg_tsv(k, tissues):
    """The BIDS `_dseg.tsv` label table (index, name, abbreviation, color)."""
    lines = ["index\tname\tabbreviation\tcolor"]
    lines += ["\t".join(str(v) for v in row) for row in class_table(k, tissues)]
    return "\n".join(lines) + "\n"
