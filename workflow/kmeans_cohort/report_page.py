"""The cohort QC page `group/report.html`: one self-contained file (styles inline, thumbnails as data URIs, no
script, no network) with the failed scans, the outliers, the volume table and every scan's preview."""
import base64
import html
import os

from .table import NA, OUTLIER_Z

STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td.t,th.t{text-align:left}tr.failed td{background:#fde0dc}tr.outlier td{background:#fff3c4}
.summary span{display:inline-block;margin-right:1.5em;font-weight:bold}
.grid{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #bbb;width:330px;padding:4px;font-size:.8em}
.card img{width:320px;display:block;background:#000}.card.failed{background:#fde0dc}
.card.outlier{border:3px solid #e0a800}.err{color:#b00020;font-family:monospace}
"""


def data_uri(path):
    if not path or not os.path.isfile(path):
        return ""
    mime = "image/jpeg" if path.endswith((".jpg", ".jpeg")) else "image/png"
    with open(path, "rb") as handle:
        return f"data:{mime};base64," + base64.b64encode(handle.read()).decode("ascii")


def _number(value, digits=1):
    """Volumes and means with `digits` decimals on the page (the table file keeps more)."""
    try:
        return f"{float(value):.{digits}f}"
    except ValueError:
        return value


def _cells(values, classes=None):
    classes = classes or [""] * len(values)
    return "".join(f'<td class="{c}">{html.escape(str(v))}</td>' for v, c in zip(values, classes))


def _row_class(row):
    if row["status"] != "ok":
        return "failed"
    return "outlier" if row["outlier"] != NA else ""


def volume_table(rows, labels):
    head = ["scan", "status"] + [f"{label} mL" for label in labels] + ["total mL"] + \
           [f"{label} mean" for label in labels] + ["outlier", "time s"]
    out = ['<table id="volumes"><thead><tr>']
    out += [f'<th class="{"t" if i < 2 else ""}">{html.escape(h)}</th>' for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        values = [row["scan_id"], row["status"]] + [_number(row[f"{label}_ml"]) for label in labels] + \
                 [_number(row["total_ml"])] + [_number(row[f"{label}_mean"]) for label in labels] + \
                 [row["outlier"], _number(row["time_s"], 2)]
        kinds = ["t", "t"] + [""] * (len(values) - 4) + ["t", ""]
        out.append(f'<tr class="{_row_class(row)}">{_cells(values, kinds)}</tr>')
    out.append("</tbody></table>")
    return "".join(out)


def failed_section(rows):
    failed = [row for row in rows if row["status"] != "ok"]
    if not failed:
        return '<h2 id="failed">Failed scans: none</h2>'
    out = [f'<h2 id="failed">Failed scans: {len(failed)}</h2><table id="failed-table"><tr><th class="t">scan</th>'
           '<th class="t">error</th><th class="t">source</th></tr>']
    for row in failed:
        out.append(f'<tr class="failed">{_cells([row["scan_id"], row["error"], row["source"]], ["t", "t err", "t"])}'
                   "</tr>")
    return "".join(out) + "</table>"


def outlier_section(rows, labels):
    flagged = [row for row in rows if row["status"] == "ok" and row["outlier"] != NA]
    title = f"Outliers (robust z-score of a class fraction beyond {OUTLIER_Z}): {len(flagged) or 'none'}"
    if not flagged:
        return f'<h2 id="outliers">{html.escape(title)}</h2>'
    out = [f'<h2 id="outliers">{html.escape(title)}</h2><table id="outlier-table"><tr><th class="t">scan</th>']
    out += [f"<th>{html.escape(label)} fraction</th>" for label in labels] + ['<th class="t">flags</th></tr>']
    for row in flagged:
        values = [f'{row["scan_id"]}'] + [row[f"{label}_fraction"] for label in labels] + [row["outlier"]]
        out.append(f'<tr class="outlier">{_cells(values, ["t"] + [""] * len(labels) + ["t"])}</tr>')
    return "".join(out) + "</table>"


def scan_card(row, labels, thumbnail):
    kind = _row_class(row)
    out = [f'<div class="card {kind}" id="scan-{html.escape(row["scan_id"])}">']
    uri = data_uri(thumbnail) if row["status"] == "ok" else ""
    if uri:
        out.append(f'<img alt="preview of {html.escape(row["scan_id"])}" src="{uri}">')
    out.append(f'<b>{html.escape(row["scan_id"])}</b> {html.escape(row["status"])}<br>')
    if row["status"] == "ok":
        volumes = ", ".join(f"{label} {_number(row[f'{label}_ml'])} mL" for label in labels)
        out.append(f"{html.escape(volumes)}; total {_number(row['total_ml'])} mL")
        if row["outlier"] != NA:
            out.append(f"<br><b>outlier: {html.escape(row['outlier'])}</b>")
    else:
        out.append(f'<span class="err">{html.escape(row["error"])}</span>')
    return "".join(out) + "</div>"


def render(rows, labels, thumbnails, title, details):
    """The page's HTML. thumbnails: {scan id: image path}; details: one line on the model and version."""
    n_failed = sum(row["status"] != "ok" for row in rows)
    n_outliers = sum(row["status"] == "ok" and row["outlier"] != NA for row in rows)
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>{html.escape(details)}</p>",
             f'<p class="summary"><span id="n-scans">{len(rows)} scans</span>'
             f'<span id="n-ok">{len(rows) - n_failed} segmented</span><span id="n-failed">{n_failed} failed</span>'
             f'<span id="n-outliers">{n_outliers} outliers</span></p>',
             failed_section(rows), outlier_section(rows, labels),
             '<h2 id="scans">Scans</h2><div class="grid">']
    parts += [scan_card(row, labels, thumbnails.get(row["scan_id"])) for row in rows]
    parts += ['</div><h2 id="table">Volumes</h2>', volume_table(rows, labels), "</body></html>\n"]
    return "".join(parts)
