"""The course website in a real browser: Debian's Chromium via Playwright, over HTTP.

Builds the site (recorded runs cached by content hash), serves its folder on a free
127.0.0.1 port and opens every page, landing page and player page included: no console error,
no failed or outside request (every request is checked, anything not under the site's address
is aborted and reported), every internal link resolves to a page and an anchor that exist.
Every step player starts at the notebook's step, steps both ways and plays to its last step
(timers run on Playwright's clock). Every control of every dashboard is switched to each of
its values: the counts and the picture become those of the recorded run of that combination,
whose counts equal a direct ``run_scenario``; notebook 11's playground (recorded over a named
subset, its frames in a compressed file the page loads) also lists what it holds, greys what
it does not, and shows no run for a combination it lacks. Screenshots of the landing page, the
first dashboard and the playground go to ``test-artifacts/``. Needs /usr/bin/chromium; never
``playwright install``.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from eoslib.site.build import build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking"]
ARTIFACTS = REPO / "test-artifacts"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict]]:
    """(base URL, site folder, site.json) of a freshly built site served over HTTP."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium (apt-get install chromium)")
    out = tmp_path_factory.getbasetemp() / "eoslib-site" / "site"  # one build a session
    if not (out / "site.json").exists():
        build(REPO, out)
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (f"http://127.0.0.1:{server.server_address[1]}/", out,
               json.loads((out / "site.json").read_text()))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def chromium(served: tuple[str, Path, dict]) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Watch:
    """A browser context whose pages report console errors, failed and outside requests."""

    def __init__(self, browser: object, base: str, size: tuple[int, int] = (1280, 900)) -> None:
        self.base = base
        self.problems: list[str] = []
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        self.context.route("**/*", self._route)

    def _route(self, route: object) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "about:")):
            route.continue_()
        else:
            self.problems.append(f"request outside the site: {url}")
            route.abort()

    def page(self) -> object:
        page = self.context.new_page()
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"{page.url}: console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"{page.url}: {e}"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"{r.url}: HTTP {r.status}"))
        return page

    def open(self, page: object, url: str) -> None:
        page.goto(url)
        page.wait_for_selector("body[data-eos-ready='1']", timeout=20_000)
        page.wait_for_function("""() => [...document.querySelectorAll('iframe.eos-player')]
                                  .every(f => f.dataset.ready === '1')""", timeout=30_000)


def _page_urls(base: str, manifest: dict) -> list[str]:
    return [base + p for p in ["index.html", "exercises/index.html",
                               *(p["page"] for p in manifest["pages"])]]


def test_every_page_opens_clean_and_every_internal_link_resolves(chromium, served) -> None:
    base, site, manifest = served
    watch = Watch(chromium, base)
    page = watch.page()
    anchors: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    steps = {base + pl["file"]: pl["steps"] for p in manifest["pages"] for pl in p["players"]}
    players = list(steps)
    for url in _page_urls(base, manifest) + players:
        if url in players:
            page.goto(url)
            page.wait_for_function("document.body.dataset.step !== undefined")
        else:
            watch.open(page, url)
        anchors[url] = set(page.eval_on_selector_all(
            "[id], a[name]", "els => els.map(e => e.id || e.getAttribute('name'))"))
        links += [(url, h) for h in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.href)")]
        assert (url, base + "index.html") in links, f"{url}: no way back to the index"
        if url == base + "index.html":
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "site-landing.png"))
    checked = 0
    for src, href in links:
        if not href.startswith(base):
            assert urlparse(href).scheme in ("http", "https", "mailto"), (src, href)
            continue
        target, frag = urldefrag(href)
        path = site / target[len(base):]
        assert path.is_file(), f"{src}: link to {href}: no such page"
        if frag.startswith("step=") and target in steps:  # a player opened at step N
            assert 1 <= int(frag[5:]) <= steps[target], f"{src}: {href}: no such step"
        elif frag:
            if target not in anchors:
                watch.open(page, target)
                anchors[target] = set(page.eval_on_selector_all(
                    "[id]", "els => els.map(e => e.id)"))
            # a browser matches the fragment as written, then percent-decoded
            assert {frag, unquote(frag)} & anchors[target], f"{src}: {href}: no such anchor"
        checked += 1
    watch.context.close()
    assert not watch.problems, "\n".join(watch.problems[:20])
    assert checked > 100


def test_every_player_starts_where_the_notebook_does_steps_and_plays_to_its_end(
        chromium, served) -> None:
    base, _, manifest = served
    watch = Watch(chromium, base)
    played = 0
    for p in manifest["pages"]:
        if not p["players"]:
            continue
        page = watch.page()
        page.clock.install()
        watch.open(page, base + p["page"])
        for pl in p["players"]:
            frame = page.query_selector(f"iframe#{pl['id']}").content_frame()

            def step(frame=frame) -> int:
                return int(frame.evaluate("document.body.dataset.step"))

            assert step() == pl["start"], (p["page"], pl)
            # the frame is as tall as its content: neither cut nor a blank band under it
            gap = page.evaluate("""f => f.getBoundingClientRect().height - f.contentDocument
                .body.getBoundingClientRect().bottom""", page.query_selector(f"iframe#{pl['id']}"))
            assert 0 <= gap < 60, (p["page"], pl["id"], gap)
            if pl["start"] + 1 < pl["steps"]:
                frame.click("#next")
                assert step() == pl["start"] + 1
                frame.click("#prev")
                assert step() == pl["start"]
            frame.click("#play")
            page.clock.run_for((pl["steps"] + 2) * 600)
            assert frame.evaluate("document.body.dataset.done") == "1", (p["page"], pl)
            assert step() == pl["steps"] - 1
            played += 1
        page.close()
    watch.context.close()
    assert not watch.problems, "\n".join(watch.problems[:20])
    assert played == sum(len(p["players"]) for p in manifest["pages"]) > 0


def _shown(box: object) -> tuple[str, dict[str, float], list[str]]:
    """(combination key, counts, picture ids) as the dashboard shows them now."""
    key = box.get_attribute("data-combination")
    counts = {s.get_attribute("data-key"): json.loads(s.get_attribute("data-value"))
              for s in box.query_selector_all(".eos-counts .eos-count")}
    pics = [i.get_attribute("data-svg") for i in box.query_selector_all("img.eos-picture")]
    return key, counts, pics


def _direct(data: dict, idx: list[int]) -> dict[str, float]:
    """The counts of a direct ``run_scenario`` of combination ``idx`` ({} if refused)."""
    from eoslib.scenarios import run_scenario
    from eoslib.viz.params import split_params

    values = {c["name"]: c["values"][i] for c, i in zip(data["controls"], idx, strict=True)}
    config, faults, kwargs = split_params({**data["fixed"], **values})
    try:
        return run_scenario(data["scenario"], config=config, faults=faults, **kwargs).counts
    except Exception:
        return {}


_DRAWN = """(box) => {  // every picture drawn, from its recorded SVG
    const D = box.eosData;
    return [...box.querySelectorAll("img.eos-picture")].every(i =>
        i.complete && i.naturalWidth > 0 &&
        i.src === "data:image/svg+xml;charset=utf-8," + encodeURIComponent(D.svgs[+i.dataset.svg]));
}"""


def _expect(page: object, box: object, data: dict, idx: list[int], where: str) -> tuple:
    """Check the dashboard shows the recorded run of ``idx``, equal to a direct run."""
    key = ".".join(map(str, idx))
    frame = data["frames_list"][data["frames"][key]]
    shown_key, counts, pics = _shown(box)
    assert shown_key == key, where
    assert counts == frame["counts"], where
    assert pics == [str(pic["svg"]) for pic in frame["pictures"]], where
    page.wait_for_function(_DRAWN, arg=box, timeout=5_000)
    run = _direct(data, idx)
    assert counts == {k: run[k] for k in counts}, (where, key)
    return counts, pics


def _data(box: object) -> dict:
    """The dashboard's data as its page holds it (a subset's, unpacked from its pack file),
    without the SVG text."""
    return box.evaluate("""b => { const D = b.eosData; return {scenario: D.scenario,
        controls: D.controls, fixed: D.fixed, frames: D.frames, frames_list: D.frames_list,
        subset: D.subset || null}; }""")


def _set(control: object, value: int) -> None:
    if control.get_attribute("type") == "checkbox":
        control.set_checked(bool(value))
    else:
        # by position: Playwright matches value= against labels too ("1" is seed 1's label)
        at = control.evaluate("(s, v) => [...s.options].findIndex(o => o.value === v)",
                              str(value))
        assert at >= 0 and control.select_option(index=at) == [str(value)]


def test_every_dashboard_control_shows_the_recorded_run_of_its_combination(
        chromium, served) -> None:
    base, _, manifest = served
    watch = Watch(chromium, base)
    switched = 0
    for p in manifest["pages"]:
        recorded = [d for d in p["dashboards"] if not d["too_many"]]
        if not recorded:
            continue
        page = watch.page()
        watch.open(page, base + p["page"])
        for d in recorded:
            where = f"{p['page']} {d['id']}"
            box = page.query_selector(f"#{d['id']}")
            data = _data(box)
            defaults = [c["values"].index(c["default"]) for c in data["controls"]]
            _, base_pics = _expect(page, box, data, defaults, where)
            if switched == 0:
                ARTIFACTS.mkdir(exist_ok=True)
                box.screenshot(path=str(ARTIFACTS / "site-dashboard.png"))
            changed = False
            for k, c in enumerate(data["controls"]):
                control = box.query_selector(f"[data-control='{c['name']}']")
                for v in range(len(c["values"])):
                    if v != defaults[k]:
                        _set(control, v)
                        idx = [*defaults[:k], v, *defaults[k + 1:]]
                        _, pics = _expect(page, box, data, idx, f"{where} {c['name']}")
                        changed |= pics != base_pics
                        switched += 1
                _set(control, defaults[k])
                _expect(page, box, data, defaults, where)
            assert changed, f"{where}: no control changes the picture"
        page.close()
    watch.context.close()
    assert not watch.problems, "\n".join(watch.problems[:20])
    assert switched >= 20


def test_the_playground_says_what_is_recorded_greys_the_rest_never_a_wrong_frame(
        chromium, served) -> None:
    """Notebook 11's playground, recorded over a named subset: the page lists every control
    with its recorded values, each menu greys what the notebook offers besides, switching
    several controls at once shows the recorded run (equal to a direct run), and a missing
    combination shows no run at all."""
    import random

    base, _, manifest = served
    entry, d = next((p, d) for p in manifest["pages"] for d in p["dashboards"]
                    if d.get("subset"))
    watch = Watch(chromium, base)
    page = watch.page()
    watch.open(page, base + entry["page"])
    box = page.query_selector(f"#{d['id']}")
    data = _data(box)
    where = f"{entry['page']} {d['id']}"
    text = box.text_content()
    assert f"{data['subset']['combinations']} combinations" in text
    assert "bash scripts/course" in text and entry["source"] in text
    rows = box.query_selector_all(".eos-subset-table tbody tr")
    assert [r.query_selector("th code").text_content() for r in rows] == \
        [c["name"] for c in data["controls"]]
    greyed = 0
    for c in data["controls"]:
        control = box.query_selector(f"[data-control='{c['name']}']")
        if control.get_attribute("type") == "checkbox":
            assert c["values"] == [False, True], where
            continue
        shown = control.evaluate("s => [...s.options].map(o => [o.textContent, o.disabled])")
        assert shown == [[o["label"], o["index"] is None] for o in c["options"]], c["name"]
        greyed += sum(1 for o in c["options"] if o["index"] is None)
    assert greyed >= 5 and set(d["added"]) == {"client"}
    box.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    box.screenshot(path=str(ARTIFACTS / "site-playground.png"))

    controls = [box.query_selector(f"[data-control='{c['name']}']") for c in data["controls"]]
    rng = random.Random(21)
    for n in range(10):  # several controls switched at once
        idx = [rng.randrange(len(c["values"])) for c in data["controls"]]
        for control, i in zip(controls, idx, strict=True):
            _set(control, i)
        _expect(page, box, data, idx, f"{where} sample {n}")
    # a combination the page does not hold: no run of other settings, a line saying so
    key = box.get_attribute("data-combination")
    box.evaluate("(b, k) => { delete b.eosData.frames[k]; }", key)
    controls[0].dispatch_event("change")
    assert box.get_attribute("data-recorded") == "0"
    assert "not recorded" in box.query_selector(".eos-error").text_content()
    assert not box.query_selector_all("img.eos-picture")
    assert not box.query_selector_all(".eos-counts .eos-count")
    # ...and its value is greyed in the menu once another value is chosen
    k = next(k for k, c in enumerate(data["controls"]) if len(c["values"]) > 2)
    was = int(key.split(".")[k])
    _set(controls[k], (was + 1) % len(data["controls"][k]["values"]))
    assert box.get_attribute("data-recorded") == "1"
    assert controls[k].evaluate("(s, v) => [...s.options].find(o => o.value === String(v))"
                                ".disabled", was)
    page.close()
    watch.context.close()
    assert not watch.problems, "\n".join(watch.problems[:20])


def test_on_a_phone_the_page_comes_first_and_pictures_keep_their_notebook_width(
        chromium, served) -> None:
    """At 390x844 (a phone) the landing page's first screen says what the course is and where
    to start, the list of lessons comes after the page (one link away); a lesson's dashboard
    and step-player pictures keep the width they have in a notebook column (at most 880 px,
    so their text stays >= 11 px) and scroll sideways in their box, never the page. At
    1280 px the list stands beside the page and the phone's link is hidden."""
    base, _, manifest = served
    watch = Watch(chromium, base, size=(390, 844))
    page = watch.page()
    watch.open(page, base + "index.html")
    first = manifest["pages"][0]["page"]
    start = page.query_selector("a.eos-start-here")
    for el in (page.query_selector("main h1"), start):
        box = el.bounding_box()
        assert box["y"] + box["height"] <= 844 and box["x"] >= 0, el.text_content()
    assert start.get_attribute("href") == first
    assert page.query_selector("a.eos-to-nav").is_visible()
    main, nav = (page.query_selector(s).bounding_box() for s in ("main", "#eos-nav"))
    assert nav["y"] >= main["y"] + main["height"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "site-phone-landing.png"))

    entry = next(p for p in manifest["pages"] if p["dashboards"] and p["players"])
    watch.open(page, base + entry["page"])
    assert page.evaluate("document.documentElement.scrollWidth") == 390, entry["page"]
    cut = page.evaluate("""() => [...document.querySelectorAll('main *')].filter(e =>
        e.scrollWidth > e.clientWidth + 2 && e.clientWidth > 0 &&
        ['hidden', 'clip'].includes(getComputedStyle(e).overflowX)).map(e => e.className)""")
    assert not cut, f"{entry['page']}: code or outputs cut at 390 px (not scrolling): {cut[:5]}"
    link, prose = page.evaluate("""() => [document.querySelector('.eos-banner a'),
        document.querySelector('.eos-banner')].map(e => getComputedStyle(e).color)""")
    assert link != prose, "the banner's links look like its text"
    widths = page.evaluate("""() => [...document.querySelectorAll('img.eos-picture')]
        .map(i => [i.getBoundingClientRect().width, i.naturalWidth])""")
    frames = [f.content_frame() for f in page.query_selector_all("iframe.eos-player")]
    for frame in frames:
        widths += frame.evaluate("""() => [...document.querySelectorAll('.pic svg')]
            .map(s => [s.getBoundingClientRect().width, s.width.baseVal.value])""")
    assert len(widths) >= 3 and frames
    hints = page.evaluate("""() => [...document.querySelectorAll('.eos-pictures')]
        .map(p => getComputedStyle(p, '::before').content)""") + [f.evaluate(
        """() => getComputedStyle(document.querySelector('.pic'), '::before').content""")
        for f in frames]
    assert hints and all("sideways" in h for h in hints), hints  # the picture goes on
    for shown, natural in widths:
        assert abs(shown - min(natural, 880)) < 1, (entry["page"], shown, natural)
    page.query_selector(".eos-player-box").screenshot(path=str(ARTIFACTS / "site-phone-player.png"))
    page.goto(base + entry["players"][0]["file"])  # a player opened on its own page
    page.wait_for_function("document.body.dataset.step !== undefined")
    assert page.evaluate("document.querySelector('meta[name=viewport]') !== null")
    alone = page.evaluate("""() => [...document.querySelectorAll('.pic svg')]
        .map(s => [s.getBoundingClientRect().width, s.width.baseVal.value])""")
    assert alone and all(abs(w - min(n, 880)) < 1 for w, n in alone), alone
    playground = next(p for p in manifest["pages"] if any(d.get("subset") for d in p["dashboards"]))
    for where in (entry["page"], playground["page"]):
        if where != entry["page"]:
            watch.open(page, base + where)
        covers = page.evaluate("""() => [...document.querySelectorAll('.eos-head')]
            .filter(h => getComputedStyle(h).position === 'sticky')
            .map(h => h.getBoundingClientRect().height)""")
        assert all(h < 844 / 4 for h in covers), (where, "a sticky head covers", covers)
        wide = page.evaluate("""() => { document.querySelectorAll('details')
            .forEach(d => { d.open = true; }); return document.documentElement.scrollWidth; }""")
        assert wide == 390, (where, "wider than the phone with its details open", wide)
    page.close()
    watch.context.close()
    assert not watch.problems, "\n".join(watch.problems[:20])

    wide = Watch(chromium, base)
    page = wide.page()
    wide.open(page, base + "index.html")
    assert not page.query_selector("a.eos-to-nav").is_visible()
    main, nav = (page.query_selector(s).bounding_box() for s in ("main", "#eos-nav"))
    assert nav["x"] + nav["width"] <= main["x"] and nav["y"] < main["y"] + 100
    wide.context.close()


def test_every_prediction_marks_a_pick_against_the_notebooks_own_answer(chromium, served) -> None:
    """Each prediction box answers a pick as the notebook's widget does: right for the run's
    answer, else what the run says and the notebook's explanation of that wrong guess; the
    answer is the one the page's recorded reveal prints ("The run says: ...")."""
    base, _, manifest = served
    watch = Watch(chromium, base)
    page = watch.page()
    boxes = typed = 0
    for entry in (p for p in manifest["pages"] if p["predictions"]):
        watch.open(page, base + entry["page"])
        said = page.evaluate("() => document.querySelector('main').innerText")
        for box in page.query_selector_all(".eos-prediction"):
            where = f"{entry['page']} #{box.get_attribute('id')}"
            answer, actual = box.get_attribute("data-answer"), box.get_attribute("data-actual")
            assert answer is not None, f"{where}: no recorded answer"
            assert f"The run says: {actual}" in said, where
            why = json.loads(box.get_attribute("data-why"))
            picks = box.evaluate("""b => [...b.querySelectorAll('.eos-choice')].map(c => {
                c.click();
                const a = b.querySelector('.eos-answer');
                return [c.textContent, b.dataset.right === '1', a.textContent,
                        a.getBoundingClientRect().height > 0]; })""")
            if not picks:  # a typed answer
                box.query_selector(".eos-guess").fill(answer)
                box.query_selector(".eos-guess").dispatch_event("change")
                picks = [[answer, box.get_attribute("data-right") == "1",
                          box.query_selector(".eos-answer").text_content(), True]]
                typed += 1
            assert sum(right for _, right, _, _ in picks) == 1, (where, picks)
            for label, right, shown, visible in picks:
                assert visible and f"You predicted {label}: " in shown, (where, shown)
                if right:
                    assert "right" in shown, (where, shown)
                else:
                    assert "not what happened" in shown, (where, shown)
                    assert why.get(label, why.get("*", "")) in shown, (where, label, shown)
            boxes += 1
    watch.context.close()
    assert not watch.problems, "\n".join(watch.problems[:20])
    assert boxes >= 40
