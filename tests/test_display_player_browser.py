"""The transcript player in a real browser: an exported page opened from disk, and JupyterLab.

Debian's Chromium, driven by Selenium through Debian's chromedriver (nothing
is downloaded), opens

* pages written by ``indexer export EP --format html`` from a hand-built
  archive (tests/helpers/player.py: timed words, a generated WAV), as
  ``file://`` URLs: no server, no network;
* notebook 02 and a small notebook of this test in a real JupyterLab server
  whose root holds the archive (so its audio comes from the ``files/`` route,
  while notebook 02, working on a temporary copy, gets an inlined clip).

It plays a few seconds and checks the highlighted word against the audio's
time, clicks words, selects words and reads the citation and the Python line,
adds a quote to the basket through the kernel, and renders a synthetic
two-hour transcript (the time is printed). Screenshots go to
``tests/.artifacts/player/`` (ignored by git).

There is no time budget: every wait has a generous limit only so that a hang
fails with a message naming what hung.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from helpers import browser as browser_tests  # the JupyterLab server, browser flags and page probes
from helpers.player import HOSTILE, PANEL, build_player_archive, long_transcript

from indexer import Archive

pytestmark = pytest.mark.browser  # starts Chromium (make test-fast leaves it out)

REPO = Path(__file__).resolve().parent.parent
# Audio plays in these tests without a click first.
CHROMIUM_FLAGS = [*browser_tests.CHROMIUM_FLAGS, "--autoplay-policy=no-user-gesture-required"]
HANG = 240.0          # seconds before a wait is declared hung (not a budget: a loaded machine is slow)
TOLERANCE = 0.3       # seconds between the audio's time and the highlighted word's timing

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    browser_tests.require_browser()
    yield from browser_tests.chromium_session(tmp_path_factory, CHROMIUM_FLAGS, HANG)


@pytest.fixture(scope="module")
def artifacts():
    return browser_tests.artifacts_folder("player")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    archive = Archive(build_player_archive(tmp_path_factory.mktemp("player") / "archive"))
    archive.reindex(progress=False)
    archive.correct(PANEL, 5, "Une communauté se gère chaque jour.")
    archive.correct(HOSTILE, 1, "Une phrase </script><script>window.injected = 3</script> corrigée.")
    return archive


def wait_for(driver, condition, what: str, timeout: float = HANG):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        pytest.fail(f"hung: no {what} after {timeout:.0f} s")


# --- driving one player -----------------------------------------------------------------------------

STATE_JS = """
const root = arguments[0], audio = root.querySelector('audio');
return {time: audio ? audio.currentTime + root.indexerPlayer.offset : null, current: Number(root.dataset.current),
        paused: audio ? audio.paused : null};
"""


def player_root(driver, scope: str = ""):
    from selenium.webdriver.common.by import By

    return wait_for(driver, lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, f"{scope}.indexer-player")
                                       if r.get_attribute("data-rendered") == "true"],
                    "rendered .indexer-player")[0]


def words_of(driver, root) -> list[dict]:
    return driver.execute_script("return arguments[0].indexerPlayer.words", root)


def word_span(root, i: int):
    from selenium.webdriver.common.by import By

    return root.find_element(By.CSS_SELECTOR, f".w[data-i='{i}']")


def check_highlight_follows_audio(driver, root, seconds: float = 3.0, start: float = 0.0) -> list[tuple[float, str]]:
    """Play from ``start`` for a few seconds; sample (time, highlighted word) and check each sample."""
    words = words_of(driver, root)
    driver.execute_script("const a = arguments[0].querySelector('audio'); a.currentTime = arguments[1]; a.play();",
                          root, start)
    wait_for(driver, lambda d: d.execute_script(STATE_JS, root)["time"] > start + 0.2,
             f"audio playing (currentTime > {start + 0.2:.1f} s)")
    samples = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(0.35)
        state = driver.execute_script(STATE_JS, root)
        samples.append((state["time"], state["current"]))
    driver.execute_script("arguments[0].querySelector('audio').pause()", root)
    assert samples[-1][0] > start + 1.5, f"the audio did not play: {samples}"
    for t, i in samples:
        expected = max((k for k, w in enumerate(words) if w["start"] <= t), default=-1)
        assert i is not None and i >= 0, f"nothing highlighted at {t:.2f} s"
        w = words[i]
        following = words[i + 1]["start"] if i + 1 < len(words) else float("inf")
        # The highlighted word is the one being spoken at t, give or take TOLERANCE.
        assert w["start"] - TOLERANCE <= t < following + TOLERANCE, \
            f"at {t:.2f} s the highlight is on {w['text']!r} ({w['start']}–{w['end']}), expected " \
            f"{words[expected]['text']!r} ({words[expected]['start']})"
    return [(round(t, 2), words[i]["text"]) for t, i in samples]


def click_word_seeks(driver, root, text: str) -> float:
    words = words_of(driver, root)
    i = next(k for k, w in enumerate(words) if w["text"] == text)
    span = word_span(root, i)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", span)
    span.click()
    state = driver.execute_script(STATE_JS, root)
    assert abs(state["time"] - words[i]["start"]) < 1e-3, f"click on {text!r}: currentTime {state['time']}"
    assert state["current"] == i
    return state["time"]


SELECT_JS = """
const [root, first, last] = arguments;
const a = root.querySelector(`.w[data-i='${first}']`), b = root.querySelector(`.w[data-i='${last}']`);
const range = document.createRange();
range.setStart(a.firstChild, 0);
range.setEnd(b.firstChild, b.firstChild.length);
const selection = window.getSelection();
selection.removeAllRanges();
selection.addRange(range);
"""

QUOTE_JS = """
const panel = arguments[0].querySelector('.ip-quote');
return {hidden: panel.hidden, words: panel.querySelector('.ip-words').textContent,
        citation: panel.querySelector('.ip-citation').textContent, python: panel.querySelector('.ip-python').textContent};
"""


def select_words(driver, root, first: int, last: int, drag: bool = False) -> dict:
    """Select words first..last (a real mouse drag, or a DOM range) and read the quote panel."""
    from selenium.webdriver.common.action_chains import ActionChains

    driver.execute_script("window.getSelection().removeAllRanges(); arguments[0].querySelector('.ip-quote')"
                          ".hidden = true;", root)
    if drag:
        a, b = word_span(root, first), word_span(root, last)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", a)
        width = b.size["width"]
        ActionChains(driver).move_to_element_with_offset(a, -a.size["width"] // 2 + 1, 0).click_and_hold() \
            .move_to_element_with_offset(b, width // 2 - 1, 0).release().perform()
    else:
        driver.execute_script(SELECT_JS, root, first, last)
    return wait_for(driver, lambda d: (lambda q: q if not q["hidden"] else None)(d.execute_script(QUOTE_JS, root)),
                    f"quote panel after selecting words {first}–{last}")


def expected_quote(archive, episode, words, first, last):
    start, end = words[first]["start"], words[last]["end"]
    quote = archive.quote(episode, start, end)
    return quote, f"archive.quote({json.dumps(episode)}, {float(start)!r}, {float(end)!r})"


# --- the exported page, from disk ----------------------------------------------------------------------

@pytest.mark.smoke   # in `make test`: a real Chromium plays, follows, seeks and quotes
def test_exported_page_plays_follows_seeks_and_quotes_from_disk(browser, archive, artifacts, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = tmp_path / "site" / "panel.html"
    archive.export_page(PANEL, "html", out=page)
    browser.get(page.as_uri())
    root = player_root(browser)
    # Nothing was loaded from elsewhere: the page, and its audio by a relative path.
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith("file://") for url in resources), resources
    assert not root.find_elements(By.CSS_SELECTOR, ".ip-static")  # the no-script message is gone
    audio_src = browser.execute_script("return arguments[0].querySelector('audio').currentSrc", root)
    assert audio_src == (archive.layout.audio_dir / f"{PANEL}.wav").as_uri()

    samples = check_highlight_follows_audio(browser, root)
    print(f"\nexported page, (time, highlighted word) while playing: {samples}")
    click_word_seeks(browser, root, "modération")

    words = words_of(browser, root)
    for first, last, drag in [(4, 8, True), (13, 17, False), (8, 14, False)]:  # within, across turns and chapters
        shown = select_words(browser, root, first, last, drag)
        quote, python = expected_quote(archive, PANEL, words, first, last)
        assert shown == {"hidden": False, "words": quote.text, "citation": quote.citation, "python": python}
    assert shown["citation"] == "Alice Martin, « Débat : la modération des communautés », 2011-05-12, 00:00:06–00:00:15"
    browser.find_element(By.CSS_SELECTOR, ".ip-copy-citation").click()
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".ip-feedback").text, "copy feedback")
    assert browser.find_element(By.CSS_SELECTOR, ".ip-feedback").text == "citation copiée"
    assert not browser.find_element(By.CSS_SELECTOR, ".ip-add").is_displayed()  # no kernel here
    browser.execute_script("window.getSelection().removeAllRanges()")

    # Marks: low confidence, suspect segment with its flags on hover.
    low = [s.text for s in root.find_elements(By.CSS_SELECTOR, ".w.low")]
    assert low == ["bienvenue.", "changent"]
    assert [s.text for s in root.find_elements(By.CSS_SELECTOR, ".w.corr")] == ["chaque", "jour."]
    suspect = root.find_element(By.CSS_SELECTOR, ".segment.suspect")
    assert suspect.get_attribute("title") == "phrase fantôme, suspect" and suspect.text == "Merci d'avoir regardé."
    browser.save_screenshot(str(artifacts / "page-panel.png"))

    # Keyboard: space plays and pauses, arrows move by a word, shift + arrows by a segment.
    click_word_seeks(browser, root, "parle")
    root.send_keys(Keys.SPACE)
    wait_for(browser, lambda d: not d.execute_script(STATE_JS, root)["paused"], "play after Space")
    root.send_keys(Keys.SPACE)
    wait_for(browser, lambda d: d.execute_script(STATE_JS, root)["paused"], "pause after Space")
    click_word_seeks(browser, root, "parle")
    root.send_keys(Keys.ARROW_RIGHT)
    assert browser.execute_script(STATE_JS, root)["time"] == pytest.approx(5.1)      # "de"
    root.send_keys(Keys.SHIFT, Keys.ARROW_RIGHT)
    assert browser.execute_script(STATE_JS, root)["time"] == pytest.approx(8.2)      # next segment: "Merci"
    root.send_keys(Keys.ARROW_LEFT)
    assert browser.execute_script(STATE_JS, root)["time"] == pytest.approx(6.5)      # "aujourd'hui."
    assert root.get_attribute("aria-label") == "Lecteur de transcription : Débat : la modération des communautés"
    assert browser.execute_script("return arguments[0].querySelector('audio').getAttribute('aria-label')", root)
    element = artifacts / "player-panel.png"  # the one in docs/editing.md (docs/player.png)
    click_word_seeks(browser, root, "modération")
    select_words(browser, root, 13, 17)
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", root)
    root.screenshot(str(element))
    print(f"screenshots: {artifacts / 'page-panel.png'} {element}")


def test_markup_in_a_title_or_a_correction_shows_as_text(browser, archive, artifacts, tmp_path):
    from selenium.webdriver.common.by import By

    page = tmp_path / "hostile.html"
    archive.export_page(HOSTILE, "html", out=page)
    browser.get(page.as_uri())
    root = player_root(browser)
    assert browser.execute_script("return window.injected") is None
    title = "Titre </script><script>window.injected = 1</script> <b>gras</b>"
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == title
    assert browser.title == title
    text = root.find_element(By.CSS_SELECTOR, ".ip-transcript").text
    assert "<img src=x onerror=window.injected=2>" in text
    assert "Une phrase </script><script>window.injected = 3</script> corrigée." in text
    corrected = [s.get_attribute("textContent") for s in root.find_elements(By.CSS_SELECTOR, ".w.corr")]
    assert corrected == ["</script><script>window.injected =", "3</script>", "corrigée."]  # "=" joins its word
    words = words_of(browser, root)
    shown = select_words(browser, root, 5, len(words) - 1)
    quote, python = expected_quote(archive, HOSTILE, words, 5, len(words) - 1)
    assert shown["citation"] == quote.citation and title in shown["citation"] and shown["python"] == python
    assert not root.find_elements(By.CSS_SELECTOR, ".ip-transcript img, .ip-transcript script, h1 b")
    assert browser.execute_script("return window.injected") is None
    browser.save_screenshot(str(artifacts / "page-hostile.png"))


def write_long_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    """A quiet tone of ``seconds`` as 8-bit WAV (58 MB for two hours), written in a moment."""
    import math
    import wave

    tone = bytes(128 + int(20 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(rate))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(tone * int(seconds))


def test_a_two_hour_transcript_renders(browser, artifacts, tmp_path):
    from selenium.webdriver.common.by import By

    from indexer.display.page import render_page
    from indexer.display.player_data import AudioSource

    transcript, meta = long_transcript()
    write_long_wav(tmp_path / "long.wav", transcript.duration)
    page = tmp_path / "long.html"
    page.write_text(render_page(transcript, meta, "html", audio=AudioSource("long.wav")), encoding="utf-8")
    browser.get(page.as_uri())
    root = player_root(browser)
    timing = browser.execute_script("""
        const root = arguments[0], nav = performance.getEntriesByType('navigation')[0];
        return {render_ms: Number(root.dataset.renderMs), longest_chunk_ms: Number(root.dataset.longestChunkMs),
                first_words_ms: Number(root.dataset.firstWordsMs), dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                rendered_at_ms: Number(root.dataset.renderedAtMs), words: root.querySelectorAll('.w').length,
                html_mb: nav.decodedBodySize / 1e6};
    """, root)
    jump = browser.execute_script("""
        const player = arguments[0].indexerPlayer, t0 = performance.now();
        player.seekWord(player.words.length - 1);
        return performance.now() - t0;
    """, root)
    assert timing["words"] == len(transcript.words)
    last = root.find_element(By.CSS_SELECTOR, f".w[data-i='{len(transcript.words) - 1}']")
    assert last.is_displayed() and "now" in last.get_attribute("class")
    # The audio is linked, never inlined: playing near the end follows the words there,
    # and the transcript, scrolled back to the top, follows the word being spoken.
    browser.execute_script("arguments[0].querySelector('.ip-transcript').scrollTop = 0", root)
    samples = check_highlight_follows_audio(browser, root, seconds=2.0, start=transcript.duration - 60)
    in_view = browser.execute_script("""
        const box = arguments[0].querySelector('.ip-transcript').getBoundingClientRect();
        const word = arguments[0].querySelector('.w.now').getBoundingClientRect();
        return word.top >= box.top && word.bottom <= box.bottom;
    """, root)
    assert in_view, "the transcript did not follow the word being spoken"
    browser.save_screenshot(str(artifacts / "page-two-hours.png"))
    print(f"\ntwo-hour transcript ({timing['words']} words, {timing['html_mb']:.1f} MB of HTML): "
          f"DOMContentLoaded at {timing['dom_content_loaded_ms']:.0f} ms; the player showed its first words "
          f"{timing['first_words_ms']:.0f} ms and all of them {timing['render_ms']:.0f} ms after it started; "
          f"longest rendering task {timing['longest_chunk_ms']:.0f} ms; every word on the page "
          f"{timing['rendered_at_ms']:.0f} ms after navigation began; jump to the last word {jump:.1f} ms; "
          f"near the end: {samples}")


# --- JupyterLab ----------------------------------------------------------------------------------------

FILES_NOTEBOOK = "player-files.ipynb"
LONG_NOTEBOOK = "player-two-hours.ipynb"
CLIPS_NOTEBOOK = "hit-clips.ipynb"


def write_notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, archive):
    """JupyterLab over a folder holding the archive, notebook 02 (pointed at it) and a player notebook."""
    browser_tests.require_browser()
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    shutil.copytree(archive.root, root / "archive")
    nb = nbformat.read(REPO / "notebooks" / "02-quotes.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = re.sub(r"^ARCHIVE\s*=.*$", 'ARCHIVE = "archive"', params.source, flags=re.M)
    nbformat.write(nb, root / "02-quotes.ipynb")
    write_notebook(root / FILES_NOTEBOOK, "from indexer import Archive\nfrom indexer.quotes import QuoteBasket\n"
                   f"basket = QuoteBasket()\nArchive('archive').player({PANEL!r}, 4.2, 7.6, basket=basket)")
    write_notebook(root / CLIPS_NOTEBOOK, "from indexer import Archive\n"
                   "Archive('archive').search('communauté', limit=3)")
    write_notebook(root / LONG_NOTEBOOK, f"import sys\nsys.path.insert(0, {str(REPO / 'tests')!r})\n"
                   "from helpers.player import long_transcript\nfrom indexer.display.player import context_player\n"
                   "from indexer.quotes import EpisodeContext\n"
                   "transcript, meta = long_transcript()",
                   # The clock starts when the cell that shows the player starts (imports done).
                   "import time\nstarted = time.time()\nprint(f'cell started at {started * 1000:.0f}')\n"
                   "context_player(EpisodeContext.build(transcript, meta))")
    server = browser_tests.Lab(root, home)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


ERRORS_JS = """
return [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
    .filter(el => /Traceback|Error:/.test(el.textContent) && !el.closest('.indexer-player'))
    .map(el => el.textContent.slice(0, 1500));
"""


def run_notebook(driver, lab, notebook: str) -> None:
    """Open ``notebook``, Run → Run All Cells from the menu, wait until every cell ran."""
    from selenium.webdriver.common.by import By

    driver.get(lab.url(notebook, workspace=f"player-{notebook.split('.')[0]}"))

    def opened(d):
        for button in d.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-Dialog-button.jp-mod-accept"):
            button.click()  # a kernel choice dialog, if any
        indicators = d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator")
        return (d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-CodeCell") and indicators
                and all(i.get_attribute("data-status") == "idle" for i in indicators) and lab.kernel_ready(notebook))

    wait_for(driver, opened, f"{notebook} open with an idle kernel")
    run_menu = "//li[contains(@class,'lm-MenuBar-item')][.//div[normalize-space()='Run']]"
    wait_for(driver, lambda d: d.find_elements(By.XPATH, run_menu), "the Run menu")[0].click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".lm-Menu-item[data-command='runmenu:run-all']"),
             "Run All Cells in the menu")[0].click()

    def done(d):
        prompts = d.execute_script(browser_tests.PROMPTS_JS)
        return prompts and (all(re.fullmatch(r"\[\d+\]:", p) for p in prompts) or d.execute_script(ERRORS_JS))

    wait_for(driver, done, f"end of Run All in {notebook}")
    errors = driver.execute_script(ERRORS_JS)
    assert not errors, f"{notebook} shows errors:\n" + "\n---\n".join(errors)


def check_player_in_lab(driver, archive, root, artifacts, stem: str, expected_count: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", root)
    samples = check_highlight_follows_audio(driver, root)
    print(f"\n{stem}: (time, highlighted word) while playing: {samples}")
    words = words_of(driver, root)
    episode = driver.execute_script("return arguments[0].indexerPlayer.data.episode", root)
    click_word_seeks(driver, root, words[5]["text"])
    root.send_keys(Keys.SPACE)  # JupyterLab's own shortcuts must not take it
    wait_for(driver, lambda d: not d.execute_script(STATE_JS, root)["paused"], "play after Space in JupyterLab")
    root.send_keys(Keys.SPACE)
    wait_for(driver, lambda d: d.execute_script(STATE_JS, root)["paused"], "pause after Space in JupyterLab")
    shown = select_words(driver, root, 13, 17, drag=True)
    quote, python = expected_quote(archive, episode, words, 13, 17)
    assert shown == {"hidden": False, "words": quote.text, "citation": quote.citation, "python": python}
    add = root.find_element(By.CSS_SELECTOR, ".ip-add")
    wait_for(driver, lambda d: add.is_displayed(), "the 'add to basket' button (kernel bridge)")
    status = driver.find_element(By.CSS_SELECTOR, ".indexer-basket-status")  # the bridge, under the player
    add.click()
    feedback = wait_for(driver, lambda d: (lambda t: t if t.startswith("ajoutée") or t.startswith("refusée") else None)(
        root.find_element(By.CSS_SELECTOR, ".ip-feedback").text), "the kernel's answer to 'add to basket'")
    # The count is len(basket) in the kernel after basket.add(archive.quote(...)).
    count = int(re.fullmatch(r"ajoutée au panier \((\d+)\)", feedback).group(1))
    assert count == expected_count
    wait_for(driver, lambda d: status.text == f"panier : {count} citation(s)", "the basket count to update")
    root.screenshot(str(artifacts / f"{stem}.png"))


def test_notebook_02_player_in_jupyterlab(lab, browser, archive, artifacts):
    run_notebook(browser, lab, "02-quotes.ipynb")
    root = player_root(browser, ".jp-NotebookPanel ")
    # The notebook works on a temporary copy, outside the server's folder: the audio is inlined.
    src = browser.execute_script("return arguments[0].querySelector('audio').currentSrc", root)
    assert src.startswith("data:audio/"), src[:80]
    marked = [w["text"] for w in words_of(browser, root) if w["marked"]]
    assert marked and all(re.sub(r"\W", "", m).lower() == "communauté" for m in marked)
    # Run All also added the notebook's two quotes to the basket the player was given.
    check_player_in_lab(browser, archive, root, artifacts, "lab-02-quotes", expected_count=3)


def test_player_audio_comes_from_the_files_route_in_jupyterlab(lab, browser, archive, artifacts):
    from selenium.webdriver.common.by import By

    run_notebook(browser, lab, FILES_NOTEBOOK)
    root = player_root(browser, ".jp-NotebookPanel ")
    src = browser.execute_script("return arguments[0].querySelector('audio').currentSrc", root)
    assert re.match(rf"{re.escape(lab.base)}/files/archive/audio/{re.escape(PANEL)}\.wav(\?|$)", src), src
    wait_for(browser, lambda d: d.execute_script("return arguments[0].querySelector('audio').readyState", root) >= 1,
             "audio metadata from the files route")
    start = browser.execute_script(STATE_JS, root)
    assert start["time"] == pytest.approx(4.2) and words_of(browser, root)[start["current"]]["text"] == "On"
    in_range = [s.get_attribute("textContent") for s in root.find_elements(By.CSS_SELECTOR, ".w.range")]
    assert in_range == ["On", "parle", "de", "modération", "aujourd'hui."]
    check_player_in_lab(browser, archive, root, artifacts, "lab-player-files", expected_count=1)


def test_a_two_hour_player_in_jupyterlab(lab, browser, artifacts):
    """The kernel builds the two-hour player, JupyterLab renders its 3 MB output: the time is printed."""
    from selenium.webdriver.common.by import By

    run_notebook(browser, lab, LONG_NOTEBOOK)
    root = player_root(browser, ".jp-NotebookPanel ")
    timing = browser.execute_script("""
        const root = arguments[0];
        const started = [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
            .map(el => /cell started at (\\d+)/.exec(el.textContent)).find(m => m);
        return {words: root.querySelectorAll('.w').length, render_ms: Number(root.dataset.renderMs),
                cell_to_rendered_ms: performance.timeOrigin + Number(root.dataset.renderedAtMs) - Number(started[1]),
                longest_chunk_ms: Number(root.dataset.longestChunkMs)};
    """, root)
    assert timing["words"] == 20_160
    browser.execute_script("arguments[0].indexerPlayer.seekWord(20159)", root)
    assert "now" in root.find_element(By.CSS_SELECTOR, ".w[data-i='20159']").get_attribute("class")
    root.screenshot(str(artifacts / "lab-two-hours.png"))
    print(f"\nJupyterLab, two-hour player: the cell starts → every word rendered {timing['cell_to_rendered_ms']:.0f} ms "
          f"(the kernel building the data, the output's transfer and JupyterLab's rendering included), "
          f"of which the player's own rendering {timing['render_ms']:.0f} ms, longest task "
          f"{timing['longest_chunk_ms']:.0f} ms")


CLIP_JS = """
const cell = arguments[0], audio = cell.querySelector('audio');
return {src: audio.currentSrc, time: audio.currentTime, duration: audio.duration, paused: audio.paused,
        hidden: audio.hidden, note: cell.querySelector('.ix-clip-note').textContent};
"""


def test_a_hit_tables_clip_is_cut_when_it_is_played_in_jupyterlab(lab, browser, archive, artifacts):
    """Before: the length on each player, nothing loaded. A click: the kernel cuts that clip, it plays."""
    from selenium.webdriver.common.by import By

    run_notebook(browser, lab, CLIPS_NOTEBOOK)
    table = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel table.indexer-hits"),
                     "the hit table")[0]
    cells = table.find_elements(By.CSS_SELECTOR, ".indexer-clip")
    hits = archive.search("communauté", limit=3)
    assert len(cells) == len(hits) >= 2
    buttons = [c.find_element(By.CSS_SELECTOR, ".ix-play") for c in cells]
    lengths = [b.text for b in buttons]
    assert lengths == [f"▶ 0:{h.end + 1.0 - max(0.0, h.start - 1.0):02.0f}" for h in hits]
    assert all(browser.execute_script(CLIP_JS, c)["src"] == "" for c in cells)  # nothing loaded yet
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", table)
    buttons[1].click()
    state = wait_for(browser, lambda d: (lambda s: s if s["time"] > 0.3 or s["note"].strip() not in ("", "découpe…")
                                         else None)(d.execute_script(CLIP_JS, cells[1])),
                     "the clip playing after its button was clicked")
    assert state["note"] == "" and state["src"].startswith("blob:") and not state["hidden"], state
    hit = hits[1]
    assert state["duration"] == pytest.approx(hit.end + 1.0 - max(0.0, hit.start - 1.0), abs=0.3)
    assert browser.execute_script(CLIP_JS, cells[0])["src"] == ""  # only the clip played was cut
    table.screenshot(str(artifacts / "lab-hit-clips.png"))

