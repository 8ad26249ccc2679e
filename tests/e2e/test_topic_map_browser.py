"""The topic map as a reader sees it, in Debian's headless chromium: labels drawn on the map at the default zoom
are visible, readable and never overlap, the legend's areas open into their topics (and zoom the map there, with
labels still apart), and the search box highlights a topic.

The map is the one `paperscope topics` builds on the 17k arXiv cs corpus (bench/.cache/web-cs.db, the stored
all-MiniLM-L6-v2 vectors of 17,172 papers). The first run builds it once (a few minutes on two cores) into
bench/.cache/web-cs-map.db, later runs load that copy. Without the benchmark cache the test runs on a real
subset instead (five days of the arXiv cs listings, embedded with the packaged model) and says so; its map has
a few topics, where the area labels take much of the room, so at least half of its topics must be named (on the
17k corpus: at least five).

The map, its labels and its search box (matched in the page) never reach the search backend, so the test searches on
the embedded indexes in every run and carries no search_backend mark: CI does not build its map again on Milvus Lite.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, shared_path
from tests.e2e.test_browser import CHROMIUM, LAUNCH_ARGS, _shot, playwright_api, serving

pytestmark = [pytest.mark.e2e]

CACHE = REPO / "bench" / ".cache"
CORPUS = CACHE / "web-cs.db"  # written by bench/bench_web_load.py
MAP = CACHE / "web-cs-map.db"  # the corpus with its topic map, built by the first run of this test
SUBSET_DAYS = 5


def _with_map(source: Path, target: Path, env: dict[str, str]) -> None:
    """Copy `source` to `target` and build its topic map there, as `paperscope topics` does."""
    building = target.with_suffix(".building")
    shutil.copyfile(source, building)
    subprocess.run([sys.executable, "-m", "paperscope", "--db", str(building), "topics"], env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=1800)
    building.replace(target)


def _subset(folder: Path, env: dict[str, str]) -> Path:
    """A real subset: the first SUBSET_DAYS days of the arXiv cs listings, embedded with the packaged model."""
    db = folder / "subset.db"
    days = sorted(shared_path("data", "arxiv", "cs").glob("*.jsonl"))[:SUBSET_DAYS]
    for command in (["ingest", *map(str, days)], ["index"], ["topics"]):
        subprocess.run([sys.executable, "-m", "paperscope", "--db", str(db), *command], env=env, check=True,
                       stdout=subprocess.DEVNULL, timeout=1800)
    return db


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`paperscope serve` over the 17k corpus with its map (or the real subset); yields (base URL, which)."""
    folder = tmp_path_factory.mktemp("topic-map")
    env = {**os.environ, "PAPERSCOPE_BACKGROUND_JOBS": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    env.pop("PAPERSCOPE_SEARCH_URL", None)  # the embedded indexes, whatever PAPERSCOPE_TEST_SEARCH says
    if CORPUS.exists():
        env["PAPERSCOPE_EMBEDDING_MODEL"] = "minilm"
        if not MAP.exists() or MAP.stat().st_mtime < CORPUS.stat().st_mtime:
            _with_map(CORPUS, MAP, env)
        db, which = folder / "map.db", "the 17k arXiv cs corpus"
        shutil.copyfile(MAP, db)
    else:  # the packaged model embeds the subset in seconds; hashing vectors would give a map of a few topics
        env["PAPERSCOPE_EMBEDDING_MODEL"] = "minilm"
        db, which = _subset(folder, env), f"a real subset ({SUBSET_DAYS} days of arXiv cs; {CORPUS} is absent)"
    with pytest.MonkeyPatch.context() as patch:  # serving() passes this process's environment on
        patch.delenv("PAPERSCOPE_SEARCH_URL", raising=False)
        with serving(folder, str(db), model=env["PAPERSCOPE_EMBEDDING_MODEL"], timeout=120) as base:
            print(f"topic map test on {which}")
            yield base, which


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


LABELS_JS = """() => {
  const box = document.querySelector("#topic-map");
  const frame = box.getBoundingClientRect();
  return {frame: [frame.left, frame.top, frame.right, frame.bottom], placements: Number(box.dataset.placements),
    labels: Array.from(box.querySelectorAll("g.annotation")).map(node => {
      const r = node.getBoundingClientRect(), text = node.querySelector("text");
      const style = getComputedStyle(text);
      return {text: Array.from(text.querySelectorAll("tspan.line")).map(t => t.textContent).join(", ")
                    || text.textContent,
              box: [r.left, r.top, r.right, r.bottom], size: parseFloat(style.fontSize),
              opacity: parseFloat(getComputedStyle(node).opacity), visibility: style.visibility,
              border: parseFloat(getComputedStyle(node.querySelector("rect.bg")).strokeWidth) || 0};
    })};
}"""


def _labels(page: Any) -> dict[str, Any]:
    return page.evaluate(LABELS_JS)  # type: ignore[no-any-return]


def _assert_readable_and_apart(drawn: dict[str, Any]) -> None:
    left, top, right, bottom = drawn["frame"]
    labels = drawn["labels"]
    for label in labels:
        x0, y0, x1, y1 = label["box"]
        assert x1 - x0 > 10 and y1 - y0 > 8 and label["text"].strip(), label  # drawn, with text
        assert left - 1 <= x0 and x1 <= right + 1 and top - 1 <= y0 and y1 <= bottom + 1, label  # on the map
        assert label["size"] >= 10 and label["opacity"] == 1 and label["visibility"] == "visible", label
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            apart = a["box"][2] <= b["box"][0] or b["box"][2] <= a["box"][0] or \
                a["box"][3] <= b["box"][1] or b["box"][3] <= a["box"][1]
            assert apart, f"labels overlap: {a['text']!r} {a['box']} and {b['text']!r} {b['box']}"


def _placed_again(page: Any, before: int, timeout: float = 30) -> None:
    """Wait until the map has placed its labels again (polled: wait_for_function evaluates a string, which the
    page's CSP refuses)."""
    deadline = time.monotonic() + timeout
    while page.evaluate("() => Number(document.querySelector('#topic-map').dataset.placements)") <= before:
        assert time.monotonic() < deadline, "the map did not place its labels again"
        page.wait_for_timeout(100)


def test_map_labels_legend_and_search(map_server: tuple[str, str], browser: Any) -> None:
    server, which = map_server
    data = httpx.get(f"{server}/api/topics/map", timeout=60).json()
    topics, areas = data["topics"], data["areas"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/topics")
    page.wait_for_selector("#topic-map[data-ready=true]", timeout=90_000)
    _shot(page, "topic-map-default-zoom")

    drawn = _labels(page)
    _assert_readable_and_apart(drawn)
    texts = [label["text"] for label in drawn["labels"]]
    # At the default zoom every area is named, and more topics besides (the largest ones the map has room for).
    assert {a["label"].upper() for a in areas} <= set(texts), (which, texts)
    topic_labels = {t["label"] for t in topics}
    named_topics = [t for t in texts if t in topic_labels]
    least = 5 if CORPUS.exists() else math.ceil(len(topics) / 2)
    assert len(named_topics) >= min(least, len(topics)), (which, texts)
    sizes = [max(label["size"] for label in drawn["labels"] if label["text"] == t) for t in named_topics]
    assert max(sizes) > min(sizes) or len(set(t["size"] for t in topics)) == 1  # font size follows topic size

    # The legend: an area opens into its topics, the map zooms to it, and its topics are labelled, still apart.
    legend = page.locator(".topic-legend details[data-area]")
    assert legend.count() == len(areas)
    swatch = page.locator(".topic-legend summary .swatch").first
    assert swatch.evaluate("s => getComputedStyle(s).backgroundColor") != \
        page.locator(".topic-legend").evaluate("l => getComputedStyle(l).color")  # coloured like the map
    first = areas[0]
    before = drawn["placements"]
    legend.first.locator("summary").click()
    _placed_again(page, before)
    assert legend.first.locator("li[data-topic]").count() == len(first["topic_ids"])
    zoomed = _labels(page)
    _assert_readable_and_apart(zoomed)
    inside = {t["label"] for t in topics if t["id"] in first["topic_ids"]}
    assert len(inside & {label["text"] for label in zoomed["labels"]}) >= min(3, len(inside)), zoomed["labels"]
    _shot(page, "topic-map-area-opened")
    before = zoomed["placements"]
    legend.first.locator("summary").click()  # closing it zooms back out
    _placed_again(page, before)

    # Search: a keyword of a small topic highlights that topic (its points and its label, drawn with a border).
    target = min(topics, key=lambda t: (t["size"], t["id"]))
    word = next((k for k in target["keywords"] if len(k) >= 4 and
                 sum(k.lower() in (t["label"] + " " + " ".join(t["keywords"])).lower() for t in topics) == 1),
                target["label"])
    before = _labels(page)["placements"]
    page.fill("#topic-search", word)
    _placed_again(page, before)
    highlighted = page.locator("#topic-map").get_attribute("data-highlighted") or ""
    assert highlighted.split(",") == [str(target["id"])], (word, highlighted)
    assert "1 topic matches" in page.locator("#topic-search-status").inner_text()
    found = _labels(page)
    _assert_readable_and_apart(found)
    marked = [label for label in found["labels"] if label["border"] > 0]
    assert [label["text"] for label in marked] == [target["label"]], found["labels"]
    opacities = page.evaluate("""() => Object.fromEntries(document.querySelector('#topic-map').data
        .map(trace => [trace.name, trace.marker.opacity]))""")
    assert opacities[target["label"] + (" (emerging)" if target["emerging"] else "")] > 0.9
    assert sorted(opacities.values())[-2] < 0.1  # every other topic is dimmed
    assert page.locator(f".topic-legend li.match[data-topic='{target['id']}']").count() == 1
    _shot(page, "topic-map-search")
    page.fill("#topic-search", "")
    _placed_again(page, found["placements"])
    assert (page.locator("#topic-map").get_attribute("data-highlighted") or "") == ""
    context.close()
