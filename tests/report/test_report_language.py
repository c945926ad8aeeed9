"""The report in the analyst's language: every heading, note, table header and chart label
from the catalogue, numbers in the locale's way, codebook labels in the language, `lang` on
the page, answers in any script shown in their own direction; still one file, no script."""

import re
from html import unescape

import numpy as np
import pandas as pd
import pytest

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.evaluate import code_metrics
from criteria_nlp.report.html import render_report

from .ui_strings import english_ui_strings

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
ARABIC = "أريد سكنا بسعر معقول قرب عملي"


def answers():
    rows = [
        ("m1", "avoir un logement décent", "fr", "A03", "Mulhouse", "wellbeing", "A03"),
        ("m2", "des loyers trop chers", "fr", "A03", "Mulhouse", "illbeing", "A03"),
        ("m3", ARABIC, "ar", "A03", "Mulhouse", "wellbeing", "A03"),
        ("m4", "trouver un travail", "fr", "A06", "Mulhouse", "wellbeing", "A06"),
        ("b1", "een betaalbare woning", "nl", "A03", "Braine-l'Alleud", "wellbeing", "A03"),
        ("b2", "werk vinden", "nl", "A06", "Braine-l'Alleud", "wellbeing", "A00"),
        ("b3", "geen werk", "nl", "A06", "Braine-l'Alleud", "illbeing", "A06"),
        ("b4", "weet niet", "nl", "", "Braine-l'Alleud", "wellbeing", ""),
    ]
    frame = pd.DataFrame(rows, columns=["id", "text", "language", "code", "city", "question", "manual_code"])
    frame["status"] = np.where(frame["id"] == "b4", "non_answer", "answer")
    frame["cluster"] = frame["code"].map({"A03": 0, "A06": 1, "": -1})
    frame["confidence"] = [0.9, 0.8, 0.7, 0.6, 0.9, 0.5, 0.7, np.nan]
    return frame


@pytest.fixture(scope="module")
def reports():
    frame = answers()
    rows = frame[frame["status"] == "answer"]
    coords = pd.DataFrame({"id": rows["id"], "x": np.linspace(0, 1, len(rows)), "y": np.linspace(1, 0, len(rows))})
    metrics = code_metrics(rows["manual_code"].tolist(), rows["code"].tolist(), rows["language"].tolist())
    codebook = load_codebook("spiral")
    manifest = {"created": "2026-03-05T14:30:00+00:00", "parameters": {"codebook": "spiral", "min_confidence": 0.25}}
    return {language: render_report(frame, codebook=codebook, coords=coords, metrics=metrics, gold_col="manual_code",
                                    manifest=manifest, language=language) for language in ("en", "fr", "nl", "it")}


def visible_text(html: str) -> str:
    """What a reader sees of the page's own words: markup, citizen answers and the parts
    marked as English data (lang="en") taken out."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.DOTALL)
    html = re.sub(r'<[^>]+lang="en"[^>]*>.*?</(p|span)>', " ", html, flags=re.DOTALL)
    html = re.sub(r'<(blockquote|td) class="answer"[^>]*>.*?</\1>', " ", html, flags=re.DOTALL)
    html = re.sub(r"<title>.*?</title>", " ", html, flags=re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", "\n", html))


def test_the_french_report_has_french_headings_and_no_english_ui_string(reports):
    html = reports["fr"]
    assert '<html lang="fr">' in html
    assert re.findall(r"<h2>(.*?)</h2>", html) == [
        "Vue d'ensemble", "Couverture de la grille", "Bien-être et mal-être par code",
        "Codes, groupes de critères et projets d'indicateurs", "Comparaison\u00a0: ce qui compte, et où",
        "Carte des réponses", "Évaluation par rapport au codage manuel (manual_code)"]
    text = visible_text(html)
    leftovers = sorted(s for s in english_ui_strings("fr") if s in text)
    assert not leftovers, leftovers
    # Codebook labels and numbers in French.
    assert "A03 · Logement et ameublement" in html
    assert "IC 95\u00a0%" in text and re.search(r"\d+,\d\u00a0%", text)
    assert "créé le" in text and "5 mars 2026" in text


def test_the_dutch_report_is_dutch(reports):
    html = reports["nl"]
    assert '<html lang="nl">' in html
    assert "<h2>Overzicht</h2>" in html and "<h2>Codes, criteriagroepen en ontwerpindicatoren</h2>" in html
    assert "A03 · Huisvesting en inrichting" in html or "A03 · " in html
    leftovers = sorted(s for s in english_ui_strings("nl") if s in visible_text(html))
    assert not leftovers, leftovers


def test_a_partly_translated_report_says_so_at_the_top(reports):
    headers = {lang: re.search(r"<header>(.*?)</header>", html, flags=re.DOTALL).group(1) for lang, html in reports.items()}
    assert "il resto è mostrato in inglese" in headers["it"] and "Nessun madrelingua" in headers["it"]
    assert headers["it"].count("<p>") == 2
    assert all(headers[lang].count("<p>") == 1 for lang in ("en", "fr", "nl"))  # complete: no note


def test_the_english_report_is_unchanged_in_substance(reports):
    html = reports["en"]
    assert '<html lang="en">' in html and "<h2>Overview</h2>" in html and "A03 · Housing" in html


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
def test_every_language_stays_one_safe_file_with_answers_in_their_own_direction(reports, language):
    html = reports[language]
    assert f'content="{CSP}"' in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    # The Arabic answer keeps its own (right-to-left) direction inside the page's language.
    assert re.search(rf'<(blockquote|td) class="answer" dir="auto">{ARABIC}</\1>', html)
