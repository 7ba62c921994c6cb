"""What the browser tests share: one headless Chromium for the whole test session (the ``browser``
fixture in ``conftest.py`` starts it with :func:`launch`), a served dashboard for a module's tests,
where screenshots go, the skip mark when there is no Chromium, and waits on the page's own state.

Waits: ``page.wait_for_function(JS)`` runs the probe inside the page on every animation frame
until it is truthy, so a test waits for what the page shows, however long a loaded machine takes,
within a bound that only catches a page that never gets there (:data:`PAGE_WAIT_MS`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from dashboard_server import Server, stop_server
from served_page import CHROMIUM, CHROMIUM_ARGS, dashboard_argv, start_server

ARGS = CHROMIUM_ARGS
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PAGE_WAIT_MS = 600_000  # the bound of a wait on the page: a page that never gets there, not a slow one
# (a first page beside two un-niced CPU burners, the tests nice'd, took over 240 s to start its kernel)

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason=f"no Chromium at {CHROMIUM} (scripts/install.sh --test installs it)")


@contextmanager
def launch():
    """Playwright's headless Chromium (``$ADAFT_CHROMIUM``, default ``/usr/bin/chromium``) while the block runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served_dashboard(tmp_path: Path, runs: Path, *args: str, env: dict | None = None):
    """``adaft dashboard --runs RUNS ARGS`` running in ``tmp_path`` while the block runs; yields its URL."""
    server: Server = start_server(dashboard_argv("--runs", str(runs), *args), cwd=tmp_path, env=env)
    try:
        yield server.url
    finally:
        stop_server(server)


@contextmanager
def new_page(browser, **kw):
    """A page in its own browser context (its own cookies and storage), closed after the block."""
    page = browser.new_page(**kw)
    try:
        yield page
    finally:
        page.close()


def wait_in_page(page, probe: str, arg=None, timeout_ms: int = PAGE_WAIT_MS):
    """The first truthy value of the JavaScript function ``probe(arg)``, polled in the page on every
    animation frame (``page.wait_for_function``)."""
    return page.wait_for_function(probe, arg=arg, timeout=timeout_ms).json_value()
