"""The web page end to end, in a real browser: headless Chromium (Debian's package,
installed by .ci/run) driven by Playwright, against ``matcalc serve`` started as a user
starts it. Skipped where Playwright or Chromium is missing.

The tests type the paper's examples, pick the variable and the layout, wait for the
typeset result, check that KaTeX reported no error, expand the steps, press Prove,
switch the code tabs, copy the LaTeX, and reload the page from its permalink. Every
test keeps a screenshot in test-artifacts/web/ (MATCALC_ARTIFACTS to put them
elsewhere); the console must stay free of errors (a CSP violation is one).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("MATCALC_CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
if CHROMIUM is None:
    pytest.skip("no Chromium (Debian: apt-get install chromium)", allow_module_level=True)

ARTIFACTS = Path(os.environ.get("MATCALC_ARTIFACTS", ROOT / "test-artifacts" / "web"))
# Chromium as this machine's closed network needs it: no sandbox (root), no GPU, and
# none of the background connections it would try at start
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 30_000  # ms: a first derivation includes the workers' warm caches


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen([sys.executable, "-m", "matcalc", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if not m:
        proc.kill()
        pytest.fail(f"matcalc serve did not start: {line}{proc.stderr.read()}")
    yield m.group(1)
    proc.send_signal(2)
    proc.wait(20)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server[:-1])
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    problems: list[str] = []
    # an error in the console fails the test (a CSP violation is one), but for
    # Chromium's note of each 4xx answer, which the error tests cause on purpose
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" and not
          re.match(r"Failed to load resource: the server responded with a status of 4\d\d",
                   m.text) else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.goto(server)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert problems == [], problems


def settled(pg) -> None:
    """Wait until the page has no request in flight and shows a result or an error."""
    # selectors, not wait_for_function: the page's CSP forbids the eval that needs
    pg.wait_for_selector("body[data-busy='0']", state="attached")
    pg.wait_for_selector("#result .derivative .equation .katex, #error:not([hidden])")


def no_katex_errors(pg) -> None:
    assert pg.locator(".katex-error").count() == 0, pg.locator(".katex-error").first.inner_text()


def type_expression(pg, text: str) -> None:
    box = pg.locator("#expression")
    box.fill("")
    box.type(text, delay=15)  # key by key: the live parse runs as it would for a person
    settled(pg)


def equation(pg, i: int = 0) -> str:
    """The LaTeX of the i-th typeset derivative (the page keeps it in data-tex)."""
    return pg.locator("#result .derivative .equation").nth(i).get_attribute("data-tex")


def choose_wrt(pg, *names: str) -> None:
    for row in pg.locator("#symbols tr[data-name]").all():
        box = row.locator("input.wrt")
        if box.is_checked() != (row.get_attribute("data-name") in names):
            box.click()
    settled(pg)


# ------------------------------------------------------------------------ tests

def test_paper_neuron_typed_key_by_key(page):
    type_expression(page, "max(0, dot(w, x) + b)")
    assert page.locator("#parsed .katex").count() == 1
    rows = {r.get_attribute("data-name"): r for r in page.locator("#symbols tr[data-name]").all()}
    assert set(rows) == {"w", "x", "b"}
    assert rows["w"].locator("input.shape").input_value() == "n"
    assert rows["b"].locator("input.shape").input_value() == "scalar"
    assert rows["w"].locator("input.wrt").is_checked()  # the first vector, by default
    tex = equation(page)
    assert "\\frac{\\partial f}{\\partial \\mathbf{w}}" in tex and "\\mathbf{x}" in tex
    no_katex_errors(page)
    # by b instead: the step function [w·x + b > 0]
    choose_wrt(page, "b")
    assert "\\partial b" in equation(page)
    no_katex_errors(page)


def test_paper_loss_with_a_declared_shape_and_the_layouts(page):
    type_expression(page, "mean((y - max(0, X@w + b))^2)")
    x = page.locator("#symbols tr[data-name=X] input.shape")
    x.fill("N,n")
    x.press("Enter")
    settled(page)
    choose_wrt(page, "w")
    assert "1×n" in page.locator("#result .derivative .meta").first.inner_text()
    page.locator("input[name=layout][value=denominator]").check()
    settled(page)
    shape = page.locator("#result .derivative .meta .result-shape").first.inner_text()
    assert shape == "n"  # a column, with the shape of w
    assert "Matrix Cookbook" in page.locator("#layout-note").inner_text()
    no_katex_errors(page)


@pytest.mark.parametrize("index", range(8))
def test_every_example_of_the_menu(page, index):
    options = page.locator("#examples option")
    values = [o.get_attribute("value") for o in options.all() if o.get_attribute("value")]
    assert len(values) == 8
    page.select_option("#examples", values[index])
    settled(page)
    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    assert page.locator("#result .derivative .equation .katex").count() >= 1
    no_katex_errors(page)
    # the steps, collapsed until opened, typeset without an error
    steps = page.locator("#result details.steps").first
    assert not steps.evaluate("d => d.open")
    steps.locator("summary").click()
    page.wait_for_selector("#result details.steps[open] .katex")
    no_katex_errors(page)


def test_prove(page):
    type_expression(page, "x'@A@x")
    page.click("#prove")
    page.locator("#proof", has_text="numeric").wait_for()
    proof = page.locator("#proof").inner_text()
    assert "symbolic (n=2): holds" in proof and "symbolic (n=3): holds" in proof
    assert "max rel err" in proof


def test_code_tabs_and_copy(page):
    type_expression(page, "tanh(W@x)")
    choose_wrt(page, "W")
    code = page.locator("#result .derivative pre.code").first
    for target, marker in (("jax", "import jax"), ("torch", "import torch"),
                           ("numpy", "import numpy")):
        page.locator(f"#result .derivative button.tab[data-target={target}]").first.click()
        assert marker in code.inner_text()
    page.locator("#result .derivative button.copy-latex").first.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == equation(page)
    page.locator("#result .derivative button.copy-code").first.click()
    assert "def " in page.evaluate("navigator.clipboard.readText()")


def test_kronecker_and_index_forms(page):
    type_expression(page, "inv(X)")
    assert page.locator("#result .derivative .kronecker .katex").count() == 1
    assert page.locator("#result .derivative .index .katex").count() == 1
    no_katex_errors(page)


def test_error_with_caret_then_recovery(page):
    type_expression(page, "sum(w*x +)")
    error = page.locator("#error")
    assert error.is_visible()
    text = error.inner_text()
    assert "sum(w*x +)" in text and "^" in text
    # the caret stands under column 10 (the ")")
    lines = text.splitlines()
    source = next(i for i, l in enumerate(lines) if "sum(w*x +)" in l)
    assert lines[source + 1].index("^") == lines[source].index(")")
    type_expression(page, "sum(w*x)")
    assert error.is_hidden()


def test_permalink_restores_the_whole_state(page, browser, server):
    page.select_option("#dialect", "matlab")
    type_expression(page, "x'*A*x")
    s = page.locator("#symbols tr[data-name=A] select.structure")
    s.select_option("sym")
    settled(page)
    page.locator("input[name=order][value='2']").check()
    settled(page)
    page.locator("input[name=layout][value=mixed]").check()
    settled(page)
    before = equation(page)
    link = page.locator("#permalink").get_attribute("href")
    assert "#" in link
    other = browser.new_page()
    try:
        other.set_default_timeout(TIMEOUT)
        other.goto(link)
        settled(other)
        assert other.locator("#expression").input_value() == "x'*A*x"
        assert other.locator("#dialect").input_value() == "matlab"
        assert other.locator("input[name=order][value='2']").is_checked()
        assert other.locator("input[name=layout][value=mixed]").is_checked()
        assert other.locator("#symbols tr[data-name=A] select.structure").input_value() == "sym"
        assert other.locator("#symbols tr[data-name=x] input.wrt").is_checked()
        assert equation(other) == before
        # and a reload of the same page keeps it
        other.reload()
        settled(other)
        assert equation(other) == before
    finally:
        other.close()


def test_narrow_screen(browser, server):
    pg = browser.new_page(viewport={"width": 400, "height": 800})
    try:
        pg.set_default_timeout(TIMEOUT)
        pg.goto(server + "#e=" + "sum(w*x%2Bb)" + "&wrt=w")
        settled(pg)
        assert pg.locator("#expression").input_value() == "sum(w*x+b)"
        # nothing wider than the screen but what scrolls on its own
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, width
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "narrow.png"), full_page=True)
    finally:
        pg.close()
