"""Open the report of a real run in headless Chromium (Debian's, driven by Playwright):
it renders with no console error and no network request, the heatmap and the map are
drawn, the map's hover text is the answer. Screenshots go to the test's tmp dir.

Skipped where /usr/bin/chromium or playwright is missing; `.ci/run` installs both.
Never run `playwright install` (it downloads a browser build)."""

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.config import RunConfig
from criteria_nlp.pipeline.run import run_pipeline

from .ui_strings import english_ui_strings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = '<script>alert("x")</script><img src="https://example.org/x.png">'

pytestmark = [pytest.mark.browser, pytest.mark.model]


@pytest.fixture(scope="module")
def playwright_api():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright from PyPI (the test extra)")
    return sync_api


@pytest.fixture(scope="module")
def report_run(tmp_path_factory, e5_embedder):
    """A real run (e5, from the session's converted model) on demo answers from three
    cities in three languages, with the manual codes evaluated, and one hostile answer."""
    folder = tmp_path_factory.mktemp("report-run")
    demo = pd.read_csv(Path(__file__).parents[2] / "corpora" / "demo" / "answers.csv", dtype=str, keep_default_na=False)
    sample = demo[demo["city"].isin(["Mulhouse", "Salaspils", "Kavala"])].groupby("city", group_keys=False).head(50).copy()
    sample.loc[sample.index[0], "text"] = HOSTILE
    source = folder / "answers.csv"
    sample.to_csv(source, index=False)
    result = run_pipeline(RunConfig(input=source, outdir=folder / "out", embedder="e5", analyst_language="en",
                                      cache_dir=e5_embedder.cache_dir, show_progress=False, gold_col="manual_code"))
    return result


def test_report_renders_offline_in_chromium(playwright_api, report_run, tmp_path):
    report = report_run.outdir / "report.html"
    answers = report_run.answers
    n_answers = int((answers["status"] == "answer").sum())
    city_table = report_run.comparison.query("by == 'city' and level == 'code'")
    requests, blocked, console_errors, page_errors = [], [], [], []

    def route(route_, request):
        requests.append(request.url)
        if request.url.startswith(("file://", "data:")):
            route_.continue_()
        else:
            blocked.append(request.url)
            route_.abort()

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(report.resolve().as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")

            assert page.title().startswith("criteria-nlp report")
            page.screenshot(path=str(tmp_path / "report-top.png"))
            # The city × code heatmap: one cell per (code, city), laid out with a real size.
            heatmap = page.locator("svg.heatmap-city")
            assert heatmap.count() == 1
            assert heatmap.locator("g.cell rect").count() == len(city_table)
            box = heatmap.bounding_box()
            assert box["width"] > 300 and box["height"] > 400
            assert page.locator("svg.distinctive-city g.bar").count() > 0
            # The map: every answer is a point, hover text is the answer.
            points = page.locator("svg.map circle.point")
            assert points.count() == n_answers
            assert page.locator("svg.map").bounding_box()["width"] > 300
            titles = points.locator("title").all_text_contents()
            assert any(HOSTILE in t for t in titles)  # shown as text, not markup
            assert any(answers["text"].iloc[5] in t for t in titles)
            points.nth(0).hover()
            # Escaped citizen text never became markup.
            assert page.locator("img").count() == 0
            assert page.locator("script").count() == 0
            assert page.locator("#evaluation svg.confusion").count() == 1

            page.mouse.move(0, 0)
            heatmap.screenshot(path=str(tmp_path / "report-heatmap.png"))
            page.locator("svg.map").screenshot(path=str(tmp_path / "report-map.png"))
            page.screenshot(path=str(tmp_path / "report-full.png"), full_page=True)
        finally:
            browser.close()

    assert not blocked, f"the report asked the network for {blocked}"
    assert all(url.startswith(("file://", "data:")) for url in requests) and requests
    assert not console_errors and not page_errors, console_errors + page_errors
    for name in ("report-top.png", "report-heatmap.png", "report-map.png", "report-full.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    keep = os.environ.get("CRITERIA_NLP_SCREENSHOTS")
    if keep:  # opt-in: a folder where to keep the screenshots for a look
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("report-top.png", "report-heatmap.png", "report-map.png", "report-full.png"):
            shutil.copy(tmp_path / name, Path(keep) / name)


ARABIC = "أريد سكنا بسعر معقول قرب عملي"
FRENCH_SECTIONS = ["Vue d'ensemble", "Couverture de la grille", "Bien-être et mal-être par code",
                   "Codes, groupes de critères et projets d'indicateurs", "Comparaison\u00a0: ce qui compte, et où",
                   "Carte des réponses", "Évaluation par rapport au codage manuel (manual_code)"]


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    """A run (tfidf: no model needed) on demo answers from Mulhouse, Mechelen and Botkyrka,
    written for a French-speaking analyst, with one answer in Arabic."""
    folder = tmp_path_factory.mktemp("report-fr")
    demo = pd.read_csv(Path(__file__).parents[2] / "corpora" / "demo" / "answers.csv", dtype=str, keep_default_na=False)
    sample = demo[demo["city"].isin(["Mulhouse", "Mechelen", "Botkyrka"])].groupby("city", group_keys=False).head(40).copy()
    # The language column of the form (the city's language): an answer typed in Arabic on the
    # French form stays in the analysis, and so on the map and in its table.
    sample["language"] = sample["gold_language"]
    sample.loc[sample.index[1], "text"] = ARABIC
    source = folder / "answers.csv"
    sample.to_csv(source, index=False)
    return run_pipeline(RunConfig(input=source, outdir=folder / "out", embedder="tfidf", analyst_language="fr",
                                  show_progress=False, gold_col="manual_code"))


def test_a_french_report_reads_french_in_chromium(playwright_api, french_run, tmp_path):
    """What a French-speaking reader sees: French headings, navigation, table headers and
    notes, no English word of the interface, the Arabic answer right-to-left; still no
    request and no script."""
    english = english_ui_strings("fr")
    requests = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto((french_run.outdir / "report.html").resolve().as_uri(), wait_until="load")
            assert page.locator("html").get_attribute("lang") == "fr"
            assert page.title().startswith("Rapport criteria-nlp")
            assert page.locator("h2").all_inner_texts() == FRENCH_SECTIONS
            assert page.locator("nav a").all_inner_texts()[:2] == ["Vue d'ensemble", "Couverture de la grille"]
            # The interface as rendered (answers and the parts marked English data left out).
            interface = page.evaluate("""() => {
                const clone = document.body.cloneNode(true);
                clone.querySelectorAll('.answer, [lang=en], svg, style').forEach(e => e.remove());
                return clone.innerText; }""")
            leftovers = sorted(phrase for phrase in english if phrase in interface)
            assert not leftovers, leftovers
            assert "IC 95\u00a0%" in interface and "Réponses représentatives" in interface
            # Right-to-left answer inside a left-to-right French page.
            arabic = page.locator(".answer", has_text=ARABIC).first
            assert arabic.evaluate("e => getComputedStyle(e).direction") == "rtl"
            assert page.locator("html").evaluate("e => getComputedStyle(e).direction") == "ltr"
            assert page.locator("script").count() == 0
            page.screenshot(path=str(tmp_path / "report-fr.png"), full_page=False)
        finally:
            browser.close()
    assert all(url.startswith(("file://", "data:")) for url in requests)
    assert (tmp_path / "report-fr.png").stat().st_size > 10_000
    keep = os.environ.get("CRITERIA_NLP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "report-fr.png", Path(keep) / "report-fr.png")
