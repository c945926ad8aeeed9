"""The HTML report: one self-contained file an analyst can e-mail.

`render_report(...)` takes plain DataFrames (answers, comparison, clusters, indicators,
2-D coordinates, evaluation metrics) and returns the HTML text; sections whose input is
missing say so instead of failing. Charts are static inline SVG (see charts.py); every
chart has a table alternative; citizen text is escaped by jinja2's autoescape and by
markupsafe in the SVG; a Content-Security-Policy forbids any network request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp import __version__
from criteria_nlp.config import DEFAULT_ALPHA, DEFAULT_CORRECTION
from criteria_nlp.describe.drafting import STATUS_NAMES as INDICATOR_STATUSES
from criteria_nlp.i18n import Localiser, localiser
from criteria_nlp.io.outputs import write_text_atomic
from criteria_nlp.prepare.questions import question_kind
from criteria_nlp.report import charts
from criteria_nlp.report.compare import (
    NO_CODE_ITEM,
    compare_all,
    distinctive_items,
    pivot_shares,
    shared_items,
    wilson_interval,
)

TEMPLATE = "report.html.j2"


MAX_MAP_POINTS = 5000


MAX_TABLE_ROWS = 2000


# Colour key of the comparison heatmaps: adjusted standardised residuals.
RESIDUAL_LEGEND = [(charts.diverging_colour(v), f"{v:+g}" if v else "0") for v in (-4, -2, 0, 2, 4)]


ENGLISH = Localiser("en")


def _(message: str) -> str:
    """Marks a message for extraction only; it is translated where it is shown."""
    return message


# Row reasons and dimensions, as the report names them (translated when shown).
DIMENSION_NAMES = {"language": _("language"), "city": _("city"), "group": _("group"), "question": _("question")}
SKIP_REASONS = {"empty answer": _("empty answer")}  # io.corpus's reasons
METRIC_COLUMNS = {"language": _("language"), "n": _("answers"), "accuracy": _("accuracy"), "macro_f1": _("macro-F1"),
                  "coverage": _("coverage"), "code": _("code"), "support": _("support"), "precision": _("precision"),
                  "recall": _("recall"), "f1": _("F1")}
QUESTION_KINDS = {"wellbeing": _("well-being"), "illbeing": _("ill-being"), "action": _("action")}


def render_report(
    answers: pd.DataFrame,
    *,
    comparison: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    indicators: pd.DataFrame | None = None,
    codebook=None,
    coords: pd.DataFrame | None = None,
    projection_note: str = "",
    metrics: dict | None = None,
    gold_col: str | None = None,
    manifest: dict | None = None,
    language: str = "en",
    label_language: str | None = None,
    title: str | None = None,
    alpha: float = DEFAULT_ALPHA,
    correction: str = DEFAULT_CORRECTION,
    seed: int = 0,
) -> str:
    """The report's HTML in `language` (headings, texts, numbers, codebook labels; the
    answers stay as written). `answers` is the answers table (one row per answer with id,
    text, language, code, cluster, status and optional city/group/question)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    loc = localiser(language)
    _ = loc.gettext
    answers = _normalised_answers(answers)
    labels = _code_labels(answers, codebook, label_language or language, loc)
    cluster_labels = _cluster_labels(clusters)
    if comparison is None:
        comparison = compare_all(answers, alpha=alpha, correction=correction, labels=labels, cluster_labels=cluster_labels)
    comparison = _relabelled(comparison, labels)
    families = _families(answers, codebook, label_language or language)
    context = {
        "title": title or _("criteria-nlp report"),
        "version": __version__,
        "lang": loc.language,
        "partial_note": loc.partial_translation_note(),
        "overview": _overview(answers, manifest, loc),
        "coverage": _coverage(answers, codebook, labels, families, loc),
        "balance": _balance(comparison, labels, loc),
        "codes": _code_sections(answers, comparison, clusters, indicators, codebook, labels, loc),
        "comparisons": _comparisons(comparison, labels, loc),
        "map": _map(answers, coords, projection_note, labels, families, seed, loc),
        "evaluation": _evaluation(metrics, gold_col, labels, loc) if metrics else None,
        "alpha": loc.decimal(alpha, 2),
        "correction": {"fdr_bh": _("Benjamini-Hochberg (false discovery rate)"),
                       "holm": _("Holm (family-wise error rate)")}.get(correction, correction),
    }
    env = Environment(loader=PackageLoader("criteria_nlp", "templates"), autoescape=select_autoescape(default=True, default_for_string=True),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(loc.catalogue, newstyle=True)
    env.filters["pct"] = lambda value, digits=1: _pct(value, digits, loc)
    env.filters["num"] = lambda value, digits=2: _num(value, digits, loc=loc)
    return env.get_template(TEMPLATE).render(**context)


def _relabelled(comparison: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """The comparison with the code rows labelled in the report's language (compare.csv keeps
    its English labels: it is read by programs)."""
    if comparison is None or comparison.empty or "level" not in comparison.columns:
        return comparison
    codes = comparison["level"] == "code"
    comparison = comparison.copy()
    comparison.loc[codes, "label"] = [labels.get(item, label) for item, label in zip(comparison.loc[codes, "item"], comparison.loc[codes, "label"])]
    return comparison


def write_report(path: Path, answers: pd.DataFrame, **kwargs) -> Path:
    path = Path(path)
    write_text_atomic(path, render_report(answers, **kwargs))
    return path


def _overview(answers: pd.DataFrame, manifest: dict | None, loc: Localiser = ENGLISH) -> dict:
    _ = loc.gettext
    manifest = manifest or {}
    counts = manifest.get("counts", {})
    status = answers["status"] if "status" in answers.columns else pd.Series("answer", index=answers.index)
    is_answer = status == "answer"
    coded = is_answer & (answers["code"] != "")
    skipped = counts.get("skipped_by_reason", {}) or {}
    not_coded = [{"reason": _(SKIP_REASONS[reason]) if reason in SKIP_REASONS else reason, "rows": int(n),
                  "note": _("row left out before analysis")} for reason, n in skipped.items()]
    if (status == "non_answer").any():
        examples = ", ".join(f"“{t}”" for t in answers.loc[status == "non_answer", "text"].value_counts().head(6).index)
        not_coded.append({"reason": _("non-answer"), "rows": int((status == "non_answer").sum()),
                          "note": _("kept in answers.csv without a code: %(examples)s") % {"examples": examples}})
    if (status == "other_language").any():
        not_coded.append({"reason": _("other language"), "rows": int((status == "other_language").sum()),
                          "note": _("in a language outside the configured ones: kept in answers.csv without a code")})
    if "duplicate_of" in answers.columns:
        # duplicate_of is a group id shared by the copies of one criterion (text.duplicate_groups).
        groups = answers.loc[is_answer, "duplicate_of"].astype(str)
        duplicates = int(groups[groups != ""].duplicated().sum())
        if duplicates:
            not_coded.append({"reason": _("duplicate (counted)"), "rows": duplicates,
                              "note": _("the same criterion written again; each copy counts, as in SPIRAL")})
    breakdowns = []
    for column in ("language", "city", "group", "question"):
        if column in answers.columns and answers[column].astype(str).ne("").any():
            values = answers.loc[is_answer, column].astype(str).replace("", _("(none)")).value_counts()
            rows = [{"value": k, "count": int(v), "share": v / max(1, is_answer.sum()),
                     "note": _(QUESTION_KINDS[question_kind(k)]) if column == "question" and question_kind(k) else ""} for k, v in values.items()]
            breakdowns.append({"name": column, "title": _(DIMENSION_NAMES[column]), "rows": rows})
    model = manifest.get("model", {})
    parameters = manifest.get("parameters", {})
    created = manifest.get("created", "")
    run = [(k, v) for k, v in [
        (_("criteria-nlp version"), manifest.get("version", __version__)),
        (_("embedding model"), model.get("model_id", "")),
        (_("codebook"), parameters.get("codebook", "")),
        (_("minimum confidence"), _num(parameters.get("min_confidence"), 2, loc=loc) if parameters.get("min_confidence") not in ("", None) else ""),
        (_("seed"), manifest.get("seed", "")),
        (_("input"), manifest.get("input", {}).get("path", "")),
        (_("input SHA-256"), manifest.get("input", {}).get("sha256", "")),
        (_("criteria groups"), loc.gettext_parts(manifest.get("clustering", {}).get("choice", ""))),
        (_("created"), loc.date(created) if created else ""),
    ] if v not in ("", None)]
    n_answers = int(is_answer.sum())
    return {
        "input_rows": counts.get("input_rows", len(answers) + sum(skipped.values())),
        "rows": len(answers),
        "answers": n_answers,
        "coded": int(coded.sum()),
        "abstained": int((is_answer & (answers["code"] == "")).sum()),
        "coded_share": coded.sum() / n_answers if n_answers else math.nan,
        "languages": answers.loc[is_answer, "language"].replace("", np.nan).nunique() if "language" in answers.columns else 0,
        "cities": answers["city"].replace("", np.nan).nunique() if "city" in answers.columns else 0,
        "groups": answers["group"].replace("", np.nan).nunique() if "group" in answers.columns else 0,
        "not_coded": not_coded,
        "breakdowns": breakdowns,
        "run": run,
    }


def _coverage(answers, codebook, labels, families, loc: Localiser = ENGLISH) -> dict:
    _ = loc.gettext
    rows = answers[answers["status"] == "answer"]
    n = len(rows)
    counts = rows["code"].replace("", NO_CODE_ITEM).value_counts()
    codable = [c.code for c in codebook.codable()] if codebook is not None else sorted(c for c in counts.index if c != NO_CODE_ITEM)
    order = codable + sorted(c for c in counts.index if c not in codable and c != NO_CODE_ITEM) + [NO_CODE_ITEM]
    table = []
    for code in order:
        count = int(counts.get(code, 0))
        table.append({"code": code, "label": labels.get(code, ""), "count": count, "share": count / n if n else math.nan,
                      "family": families["of"].get(code, ""), "colour": families["colour"].get(code, charts.GREY)})
    used = [r for r in table if r["count"] and r["code"] != NO_CODE_ITEM]
    low, high = wilson_interval([r["count"] for r in table], [n] * len(table)) if n else ([], [])
    for row, lo, hi in zip(table, low, high):
        row["ci_low"], row["ci_high"] = lo, hi
    chart_rows = [r for r in table if r["count"]]
    chart = charts.share_bars(
        [f"{r['code']} {r['label']}" if r["code"] != NO_CODE_ITEM else labels[NO_CODE_ITEM] for r in chart_rows],
        [r["share"] for r in chart_rows], [r["ci_low"] for r in chart_rows], [r["ci_high"] for r in chart_rows],
        titles=[_share_title(f"{r['code']} {r['label']}" if r["code"] != NO_CODE_ITEM else labels[NO_CODE_ITEM], r, loc) for r in chart_rows],
        colours=[r["colour"] for r in chart_rows], label=_("Share of answers per code, with 95 % Wilson intervals"),
        percent=lambda value, digits: _pct(value, digits, loc),
    ) if chart_rows else None
    unassigned = next(r for r in table if r["code"] == NO_CODE_ITEM)
    family_rows = []
    for family, name in families["names"].items():
        members = [r for r in table if r["family"] == family and r["code"] != NO_CODE_ITEM]
        family_rows.append({"family": family, "label": name, "count": sum(r["count"] for r in members),
                            "codes_used": sum(1 for r in members if r["count"]), "codes": len(members)})
    return {
        "n": n, "codable": len(codable), "used": len(used),
        "unused": [r for r in table if not r["count"] and r["code"] != NO_CODE_ITEM],
        "unassigned": unassigned, "table": [r for r in table if r["count"] or r["code"] != NO_CODE_ITEM],
        "families": family_rows, "chart": chart,
    }


def _share_title(name: str, row: dict, loc: Localiser) -> str:
    return loc.ngettext("%(name)s: %(count)s answer (%(share)s, 95 %% CI %(low)s–%(high)s)",
                        "%(name)s: %(count)s answers (%(share)s, 95 %% CI %(low)s–%(high)s)", row["count"]) % {
        "name": name, "count": loc.integer(row["count"]), "share": _pct(row["share"], 1, loc),
        "low": _pct(row["ci_low"], 1, loc), "high": _pct(row["ci_high"], 1, loc)}


def _balance(comparison: pd.DataFrame, labels, loc: Localiser = ENGLISH) -> dict | None:
    _ = loc.gettext
    rows = comparison[(comparison["by"] == "all") & (comparison["level"] == "code") & (comparison["item"] != NO_CODE_ITEM)]
    rows = rows[(rows["n_wellbeing"].fillna(0) + rows["n_illbeing"].fillna(0)) > 0]
    if rows.empty:
        return None
    total = rows["n_wellbeing"] + rows["n_illbeing"]
    score = (rows["n_wellbeing"] - rows["n_illbeing"]) / total
    clear = (rows["wellbeing_ci_low"] > 0.5) | (rows["wellbeing_ci_high"] < 0.5)
    table = [{"code": r.item, "label": r.label, "wellbeing": int(r.n_wellbeing), "illbeing": int(r.n_illbeing),
              "action": int(r.n_action), "share": r.wellbeing_share, "ci_low": r.wellbeing_ci_low, "ci_high": r.wellbeing_ci_high,
              "clear": bool(c)} for r, c in zip(rows.itertuples(), clear)]
    chart = charts.diverging_bars(
        [f"{r['code']} {r['label']}" for r in table], score.tolist(),
        titles=[_("%(code)s %(label)s: %(wellbeing)s well-being vs %(illbeing)s ill-being answers "
                  "(well-being share %(share)s, 95 %% CI %(low)s–%(high)s)") % {
                    "code": r["code"], "label": r["label"], "wellbeing": loc.integer(r["wellbeing"]), "illbeing": loc.integer(r["illbeing"]),
                    "share": _pct(r["share"], 1, loc), "low": _pct(r["ci_low"], 1, loc), "high": _pct(r["ci_high"], 1, loc)} for r in table],
        strong=clear.tolist(), limit=1.0, label=_("Well-being minus ill-being answers per code, as a share of both"),
        axis_label=_("← more ill-being answers · more well-being answers →"), css_class="bars balance",
        number=lambda value: _num(value, 2, loc=loc), not_significant=_("n.s."),
    )
    return {"table": table, "chart": chart}


def _code_sections(answers, comparison, clusters, indicators, codebook, labels, loc: Localiser = ENGLISH) -> list[dict]:
    rows = answers[(answers["status"] == "answer") & (answers["code"] != "")]
    overall = comparison[(comparison["by"] == "all") & (comparison["level"] == "code")].set_index("item")
    cluster_rows = comparison[(comparison["by"] == "all") & (comparison["level"] == "cluster")]
    order = [c.code for c in codebook.codable()] if codebook is not None else []
    codes = [c for c in order if c in set(rows["code"])] + sorted(set(rows["code"]) - set(order))
    clusters = clusters if clusters is not None and len(clusters) else None
    sections = []
    for code in codes:
        members = rows[rows["code"] == code]
        stats = overall.loc[code] if code in overall.index else None
        groups = []
        own = cluster_rows[cluster_rows["code"] == code]
        if clusters is not None and "code" in clusters.columns:
            own_ids = clusters.loc[clusters["code"].astype(str) == code, "cluster"].astype(str)
            own = cluster_rows[cluster_rows["item"].isin(set(own_ids))]
        for group in own.itertuples():
            info = _cluster_info(clusters, group.item)
            in_code = int((members["cluster"].astype(str) == group.item).sum())
            groups.append({"cluster": group.item, "label": group.label or info.get("cluster_label", ""), "size": int(group.count),
                           "in_code": in_code, "keyphrases": _keyphrases(info.get("keyphrases", "")),
                           "representatives": _split_list(info.get("representatives", ""))})
        keyphrases = _merge_keyphrases([g["keyphrases"] for g in groups])
        representatives = [r for g in groups for r in g["representatives"]][:8]
        if not representatives:
            best = members.assign(_c=pd.to_numeric(members["confidence"], errors="coerce")).sort_values("_c", ascending=False, kind="stable")
            representatives = best.drop_duplicates("language")["text"].head(6).tolist()
        code_info = codebook[code] if codebook is not None and code in codebook else None
        sections.append({
            "code": code,
            "label": labels.get(code, ""),
            "description": _description(code_info, loc.language),
            "count": int(len(members)),
            "share": None if stats is None else stats["share"],
            "ci_low": None if stats is None else stats["ci_low"],
            "ci_high": None if stats is None else stats["ci_high"],
            "wellbeing": None if stats is None or pd.isna(stats["n_wellbeing"]) else int(stats["n_wellbeing"]),
            "illbeing": None if stats is None or pd.isna(stats["n_illbeing"]) else int(stats["n_illbeing"]),
            "action": None if stats is None or pd.isna(stats["n_action"]) else int(stats["n_action"]),
            "languages": members["language"].replace("", "?").value_counts().to_dict(),
            "groups": groups,
            "keyphrases": keyphrases,
            "representatives": representatives,
            "indicators": _indicators_for(indicators, code, loc),
        })
    return sections


def _comparisons(comparison: pd.DataFrame, labels, loc: Localiser = ENGLISH) -> list[dict]:
    _ = loc.gettext
    out = []
    for dimension in ("city", "group", "question", "language"):
        rows = comparison[(comparison["by"] == dimension) & (comparison["level"] == "code")]
        if rows.empty:
            continue
        counts = pivot_shares(comparison, dimension, "code", "count")
        residual = pivot_shares(comparison, dimension, "code", "residual").to_numpy(dtype=float)
        flagged = pivot_shares(comparison, dimension, "code", "distinctive").fillna("").to_numpy() != ""
        indexed = rows.set_index(["item", "value"])
        titles = np.empty(counts.shape, dtype=object)
        text = np.empty(counts.shape, dtype=object)
        for i, item in enumerate(counts.index):
            for j, value in enumerate(counts.columns):
                cell = indexed.loc[(item, value)]
                text[i, j] = loc.integer(cell["count"])
                titles[i, j] = _cell_title(dimension, value, item, cell, loc)
        row_labels = [f"{item} {labels.get(item, '')}".strip() if item != NO_CODE_ITEM else labels[NO_CODE_ITEM] for item in counts.index]
        name = _(DIMENSION_NAMES[dimension])
        heatmap = charts.heatmap(
            residual, row_labels, list(counts.columns), cell_text=text, cell_titles=titles,
            colours=np.vectorize(charts.diverging_colour)(residual), outlined=flagged,
            label=_("%(dimension)s × code heatmap: answer counts, coloured by adjusted standardised residual") % {"dimension": name},
            css_class=f"heatmap heatmap-{dimension}", legend=RESIDUAL_LEGEND,
        )
        strongest = rows.dropna(subset=["residual"]).copy()
        strongest = strongest.assign(_flag=strongest["distinctive"] != "", _abs=strongest["residual"].abs())
        strongest = strongest[strongest["count"] > 0]
        strongest = strongest.sort_values(["_flag", "_abs"], ascending=[False, False], kind="stable").head(20)
        strongest = strongest.sort_values("residual", ascending=False, kind="stable")
        bars = charts.diverging_bars(
            [f"{r.value} · {r.item} {r.label}" for r in strongest.itertuples()], strongest["residual"].tolist(),
            titles=[_cell_title(dimension, r.value, r.item, r._asdict(), loc) for r in strongest.itertuples()],
            strong=strongest["_flag"].tolist(),
            label=_("Most distinctive criteria per %(dimension)s: adjusted standardised residuals") % {"dimension": name},
            axis_label=_("← under-represented · adjusted standardised residual · over-represented →"),
            css_class=f"bars distinctive distinctive-{dimension}", number=lambda value: _num(value, 2, loc=loc), not_significant=_("n.s."),
        ) if len(strongest) else None
        table = [{"item": item, "label": labels.get(item, "") if item != NO_CODE_ITEM else labels[NO_CODE_ITEM],
                  "cells": _count_cells(indexed, item, counts.columns, loc)} for item in counts.index]
        flagged_rows = distinctive_items(comparison, dimension, "code", direction="over")
        under_rows = distinctive_items(comparison, dimension, "code", direction="under")
        indicators = _indicator_table(comparison, dimension, loc)
        out.append({
            "dimension": dimension,
            "name": name,
            "column_values": list(counts.columns),
            "heatmap": heatmap,
            "bars": bars,
            "table": table,
            "strongest": [{**r, "verdict": _verdict(r["distinctive"], loc)} for r in strongest.drop(columns=["_flag", "_abs"]).to_dict("records")],
            "n_over": len(flagged_rows), "n_under": len(under_rows),
            "n_tests": int(rows["p_value"].notna().sum()),
            "shared": shared_items(comparison, dimension, "code").to_dict("records"),
            "indicators": indicators,
            "distinctive_by_value": [
                {"value": value, "criteria": [f"{r.item} {r.label}" for r in flagged_rows[flagged_rows["value"] == value].itertuples()]}
                for value in counts.columns if (flagged_rows["value"] == value).any()
            ],
        })
    return out


def _indicator_table(comparison: pd.DataFrame, dimension: str, loc: Localiser = ENGLISH) -> dict | None:
    """Answers per library indicator and value of `dimension` (the same indicator across
    cities and languages), with the distinctive cells marked."""
    rows = comparison[(comparison["by"] == dimension) & (comparison["level"] == "indicator")]
    if rows.empty:
        return None
    counts = pivot_shares(comparison, dimension, "indicator", "count")
    indexed = rows.set_index(["item", "value"])
    labels = dict(zip(rows["item"], rows["label"]))
    table = [{"item": item, "label": labels.get(item, ""), "cells": _count_cells(indexed, item, counts.columns, loc)}
             for item in counts.index]
    return {"column_values": list(counts.columns), "table": table}


def _count_cells(indexed: pd.DataFrame, item, values, loc: Localiser = ENGLISH) -> list[str]:
    """One table row's cells: count (share of the value's answers), ▲ over- / ▼ under-represented."""
    cells = []
    for value in values:
        cell = indexed.loc[(item, value)]
        mark = {"over": " ▲", "under": " ▼"}.get(cell["distinctive"], "")
        cells.append(f"{loc.integer(cell['count'])} ({_pct(cell['share'], 1, loc)}){mark}")
    return cells


def _map(answers, coords, note, labels, families, seed, loc: Localiser = ENGLISH) -> dict | None:
    _ = loc.gettext
    if coords is None or len(coords) == 0:
        return None
    rows = answers.merge(coords[["id", "x", "y"]].astype({"id": str}), on="id", how="inner")
    total = len(rows)
    if total > MAX_MAP_POINTS:
        rows = rows.sample(n=MAX_MAP_POINTS, random_state=seed).sort_index()
    codes = rows["code"].replace("", NO_CODE_ITEM)
    colours = [families["colour"].get(c, charts.GREY) for c in codes]
    titles = [f"{(c + ' ' + labels.get(c, '')) if c != NO_CODE_ITEM else labels[NO_CODE_ITEM]} · {lang}{(' · ' + city) if city else ''}\n{text}"
              for c, lang, city, text in zip(codes, rows["language"], rows.get("city", pd.Series("", index=rows.index)), rows["text"])]
    legend = [(f"{family} {name}", families["family_colour"][family]) for family, name in families["names"].items()
              if any(families["of"].get(c) == family for c in set(codes))]
    if (codes == NO_CODE_ITEM).any():
        legend.append((labels[NO_CODE_ITEM], charts.GREY))
    chart = charts.scatter(rows["x"].to_numpy(), rows["y"].to_numpy(), colours=colours, titles=titles, legend=legend,
                           label=_("2-D map of the answers, coloured by code family (shade = code); hover a point to read the answer"))
    table_rows = rows.head(MAX_TABLE_ROWS)
    return {
        "chart": chart, "note": note, "note_lang": "en", "shown": len(rows), "total": total,
        "table": [{"id": r.id, "language": r.language, "code": c, "x": r.x, "y": r.y, "text": r.text}
                  for r, c in zip(table_rows.itertuples(), codes.head(MAX_TABLE_ROWS))],
        "table_total": len(rows),
    }


def _evaluation(metrics: dict, gold_col: str | None, labels, loc: Localiser = ENGLISH) -> dict:
    _ = loc.gettext
    confusion = metrics.get("confusion")
    chart = table = None
    if isinstance(confusion, pd.DataFrame) and not confusion.empty:
        values = confusion.to_numpy(dtype=float)
        row_totals = values.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            recall = np.where(row_totals > 0, values / row_totals, 0.0)
        text = np.vectorize(lambda v: "" if v == 0 else loc.integer(v))(values).astype(object)
        titles = np.empty(values.shape, dtype=object)
        for i, gold in enumerate(confusion.index):
            for j, pred in enumerate(confusion.columns):
                titles[i, j] = loc.ngettext("manual %(gold)s → predicted %(pred)s: %(count)s answer (%(share)s of %(gold)s)",
                                            "manual %(gold)s → predicted %(pred)s: %(count)s answers (%(share)s of %(gold)s)",
                                            int(values[i, j])) % {"gold": gold, "pred": pred, "count": loc.integer(values[i, j]),
                                                                  "share": _pct(recall[i, j], 1, loc)}
        outlined = np.array([[str(g) == str(p) for p in confusion.columns] for g in confusion.index])
        chart = charts.heatmap(
            values, [f"{g} {labels.get(str(g), '')}".strip() for g in confusion.index], [str(c) for c in confusion.columns],
            cell_text=text, cell_titles=titles, colours=np.vectorize(lambda v: charts.sequential_colour(v, 1.0))(recall),
            outlined=outlined, label=_("Confusion matrix: manual codes (rows) against predicted codes (columns)"),
            cell=20, col_width=26, row_label_width=300, css_class="heatmap confusion", skip_empty=True,
        )
        table = {"columns": [str(c) for c in confusion.columns],
                 "rows": [{"gold": str(g), "cells": [int(v) for v in confusion.loc[g]]} for g in confusion.index]}
    frames, columns = {}, {}
    for key in ("per_language", "per_code"):
        frame = metrics.get(key)
        frames[key] = frame.to_dict("records") if isinstance(frame, pd.DataFrame) and not frame.empty else []
        columns[key] = [_(METRIC_COLUMNS[c]) if c in METRIC_COLUMNS else c for c in frame.columns] if frames[key] else []
    summary = [(name, metrics.get(key)) for name, key in [
        (_("answers with a manual code"), "n"), (_("coverage (answers given a code)"), "coverage"), (_("accuracy"), "accuracy"),
        (_("macro-F1"), "macro_f1"), (_("Cohen's κ"), "cohen_kappa"), (_("Krippendorff's α"), "krippendorff_alpha"),
    ]]
    return {"gold_col": gold_col or _("manual codes"), "summary": summary, "chart": chart, "table": table, "columns": columns, **frames}


def _normalised_answers(answers: pd.DataFrame) -> pd.DataFrame:
    from criteria_nlp.io.outputs import unneutralise_cell

    answers = answers.copy()
    for column in ("id", "text", "language", "code", "status", "city", "group", "question"):
        if column in answers.columns:
            answers[column] = answers[column].fillna("").astype(str)
    answers["text"] = answers["text"].map(unneutralise_cell)
    if "status" not in answers.columns:
        answers["status"] = "answer"
    if "code" not in answers.columns:
        answers["code"] = ""
    if "language" not in answers.columns:
        answers["language"] = ""
    if "cluster" not in answers.columns:
        answers["cluster"] = -1
    answers["cluster"] = pd.to_numeric(answers["cluster"], errors="coerce").fillna(-1).astype(int)
    if "confidence" not in answers.columns:
        answers["confidence"] = np.nan
    return answers


def _code_labels(answers: pd.DataFrame, codebook, language: str, loc: Localiser = ENGLISH) -> dict[str, str]:
    labels = {}
    if "code_label" in answers.columns:
        named = answers[(answers["code"] != "") & (answers["code_label"].fillna("") != "")]
        labels = named.groupby("code")["code_label"].agg(lambda s: s.mode().sort_values().iloc[0]).to_dict()
    if codebook is not None:
        labels.update({code.code: codebook.label(code.code, language) for code in codebook})
    labels[NO_CODE_ITEM] = loc.gettext("no code (left for review)")
    return labels


def _cluster_labels(clusters: pd.DataFrame | None) -> dict:
    if clusters is None or clusters.empty or "cluster_label" not in clusters.columns:
        return {}
    return {str(k): str(v) for k, v in zip(clusters["cluster"], clusters["cluster_label"].fillna(""))}


def _families(answers, codebook, language) -> dict:
    """Family of each code, a colour per family and a shade of it per code."""
    codes = sorted(set(answers["code"]) - {""})
    if codebook is not None:
        codes = [c.code for c in codebook.codable()] + [c for c in codes if c not in codebook]
        of = {c: (codebook.root(c) if c in codebook else c[:1]) for c in codes}
        names = {}
        for c in codes:
            family = of[c]
            names.setdefault(family, codebook.label(family, language) if family in codebook else family)
    else:
        of = {c: c[:1] for c in codes}
        names = {f: f for f in dict.fromkeys(of.values())}
    family_colour = {f: charts.FAMILY_COLOURS[i % len(charts.FAMILY_COLOURS)] for i, f in enumerate(names)}
    colour = {}
    for family in names:
        members = [c for c in codes if of[c] == family]
        for i, code in enumerate(members):
            amount = 0.0 if len(members) == 1 else -0.35 + 0.8 * i / (len(members) - 1)
            colour[code] = charts.shade(family_colour[family], amount)
    colour[NO_CODE_ITEM] = charts.GREY
    return {"of": of, "names": names, "family_colour": family_colour, "colour": colour}


def _cluster_info(clusters: pd.DataFrame | None, item: str) -> dict:
    if clusters is None:
        return {}
    match = clusters[clusters["cluster"].astype(str) == str(item)]
    return {k: ("" if pd.isna(v) else v) for k, v in match.iloc[0].to_dict().items()} if len(match) else {}


def _keyphrases(value) -> list[tuple[str, str]]:
    """(language, phrases) pairs from a JSON object {lang: [..]} / {lang: "..."} or
    'fr: a, b; nl: c' text; other text is kept whole under ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return []
    if isinstance(value, dict):
        parsed = value
    else:
        try:
            parsed = json.loads(str(value))
        except ValueError:
            parsed = None
    if isinstance(parsed, dict):
        return [(str(k), ", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in parsed.items()]
    pairs = []
    for part in str(value).split(" | " if " | " in str(value) else ";"):
        lang, sep, phrases = part.partition(":")
        if sep and 2 <= len(lang.strip()) <= 3 and lang.strip().isalpha():
            pairs.append((lang.strip(), phrases.strip()))
        else:
            return [("", str(value))]
    return pairs


def _merge_keyphrases(lists: Sequence[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    merged: dict[str, list[str]] = {}
    for pairs in lists:
        for lang, phrases in pairs:
            merged.setdefault(lang, []).append(phrases)
    return [(lang, "; ".join(dict.fromkeys(p for p in phrases if p))) for lang, phrases in sorted(merged.items())]


def _split_list(value) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        parsed = json.loads(str(value))
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    except ValueError:
        pass
    return [part.strip() for part in str(value).split(" | ") if part.strip()]


def _indicators_for(indicators: pd.DataFrame | None, code: str, loc: Localiser = ENGLISH) -> list[dict]:
    if indicators is None or indicators.empty or "code" not in indicators.columns:
        return []
    # object first: an empty column read as float64 cannot take "" (pandas 4 will raise).
    rows = indicators[indicators["code"].fillna("").astype(str) == code].astype(object).fillna("")
    out = []
    for row in rows.to_dict("records"):
        out.append({
            "id": row.get("indicator_id", ""), "name": row.get("name", ""), "language": row.get("language", ""),
            "status": loc.gettext(INDICATOR_STATUSES[row.get("status", "")]) if row.get("status", "") in INDICATOR_STATUSES else row.get("status", ""),
            "note": loc.gettext_parts(row.get("note", "")), "cluster": row.get("cluster", ""),
            "levels": [{"text": row.get(f"level_{i}", ""), "quotes": row.get(f"quotes_{i}", "")} for i in range(1, 6)],
            "unmatched": row.get("status", "") == "draft-unmatched",
            "answers": row.get("quotes_1", "") if row.get("status", "") == "draft-unmatched" else "",
        })
    return out


def _verdict(distinctive: str, loc: Localiser = ENGLISH) -> str:
    _ = loc.gettext
    return {"over": _("distinctive: over-represented"), "under": _("distinctive: under-represented")}.get(distinctive, _("not distinctive"))


def _cell_title(dimension, value, item, cell, loc: Localiser = ENGLISH) -> str:
    get = cell.get if hasattr(cell, "get") else cell.__getitem__
    return loc.gettext(
        "%(dimension)s %(value)s · %(item)s %(label)s: %(count)s of %(total)s answers (%(share)s, 95 %% CI %(low)s–%(high)s); "
        "expected %(expected)s; adjusted residual %(residual)s; adjusted p = %(p)s (%(verdict)s)") % {
        "dimension": loc.gettext(DIMENSION_NAMES.get(dimension, dimension)), "value": value, "item": item, "label": get("label") or "",
        "count": loc.integer(get("count")), "total": loc.integer(get("total")), "share": _pct(get("share"), 1, loc),
        "low": _pct(get("ci_low"), 1, loc), "high": _pct(get("ci_high"), 1, loc), "expected": _num(get("expected"), 1, loc=loc),
        "residual": _num(get("residual"), 2, signed=True, loc=loc), "p": _num(get("p_adjusted"), 3, loc=loc),
        "verdict": _verdict(get("distinctive"), loc)}


def _description(code, language: str) -> dict | None:
    """The codebook's description of a code (written in English) and its language."""
    text = getattr(code, "description", "") or ""
    return {"text": text, "lang": "en", "translated": language == "en"} if text else None


def _pct(value, digits: int = 1, loc: Localiser = ENGLISH) -> str:
    return loc.percent(value, digits)


def _num(value, digits: int = 2, signed: bool = False, loc: Localiser = ENGLISH) -> str:
    """A number in the locale's way; '–' when unknown."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return loc.gettext("yes") if value else loc.gettext("no")
    if isinstance(value, (int, np.integer)):
        return loc.integer(value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(value):
        return "–"
    if 0 < abs(value) < 10 ** -digits:
        return loc.scientific(value)
    return loc.decimal(value, digits, signed=signed)
