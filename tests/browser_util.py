"""Headless Chromium for tests that look at HTML the way a person does (docs site, HTML screens).

Generic on purpose (the docs-site tests and the desk's screen tests share it):

* :func:`serve` — a local HTTP server on a directory (127.0.0.1, a free port), in a thread;
* :class:`Browser` — Debian's ``chromium`` driven by Debian's ``chromedriver`` through Selenium: load a URL,
  wait for a JavaScript condition, evaluate JavaScript, collect the console's errors, write screenshots;
* :func:`require_browser` — skip with a reason when Chromium is absent, fail under ``CI=true``
  (scripts/setup.d/40-chromium.sh installs it for ``make test``).

Screenshots go to ``build/screenshots/`` (gitignored): artefacts of the run, never committed.

Usage::

    from browser_util import Browser, require_browser, serve

    require_browser()
    with serve(site_dir) as base, Browser() as b:
        b.load(f"{base}/index.html")
        assert b.console_errors() == []
        b.screenshot("accueil")
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Where screenshots are written (``build/`` is gitignored).
SCREENSHOTS = ROOT / "build" / "screenshots"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: Flags Chromium needs on these machines: as root (no sandbox), without a GPU, and with nothing that
#: reaches out to the network (the machine's closed network refuses those connections, and they are noise).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--hide-scrollbars",
    "--lang=fr-FR",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromedriver_path() -> str | None:
    return shutil.which("chromedriver")


def missing_reason() -> str | None:
    """Why a browser test cannot run here, or ``None`` when it can."""
    if chromium_path() is None or chromedriver_path() is None:
        return ("Chromium absent (paquets Debian chromium et chromium-driver, "
                "installés par scripts/setup.d/40-chromium.sh)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium absent (extra dev : pip install -e '.[dev]')"
    return None


def require_browser() -> None:
    """Skip the calling test when no browser can run; under ``CI=true`` that is a failure."""
    reason = missing_reason()
    if reason is None:
        return
    if CI:
        pytest.fail(f"navigateur requis sous CI : {reason}")
    pytest.skip(reason)


# -- a local HTTP server -------------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; remembers every request that failed instead of printing to stderr."""

    failures: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).isdigit() and int(str(code)) >= 400:
            self.failures.append(f"{code} {self.path}")

    def do_GET(self) -> None:
        # the browser asks for /favicon.ico on its own: not the page's fault when a directory has none
        if self.path == "/favicon.ico" and not (Path(self.directory) / "favicon.ico").is_file():
            self.send_response(204)
            self.end_headers()
            return
        super().do_GET()

    def end_headers(self) -> None:
        # pages under test change between runs: never let the browser answer from its cache
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class Served(str):
    """The base URL (``http://127.0.0.1:PORT``), with ``.failures``: requests answered 4xx/5xx."""

    failures: list[str]


@contextlib.contextmanager
def serve(directory: Path | str) -> Iterator[Served]:
    """Serve ``directory`` on 127.0.0.1 (a free port) for the duration of the block."""
    failures: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"failures": failures})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, name="browser-util-http", daemon=True)
    thread.start()
    base = Served(f"http://127.0.0.1:{server.server_address[1]}")
    base.failures = failures
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- the browser ---------------------------------------------------------------------------------------
class Browser:
    """One headless Chromium window of ``width`` × ``height`` CSS pixels; a context manager."""

    def __init__(self, *, width: int = 1280, height: int = 900, screenshots: Path | None = None,
                 timeout: float = 30.0) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        reason = missing_reason()
        if reason is not None:
            raise RuntimeError(reason)
        self.width, self.height, self.timeout = width, height, timeout
        self.screenshots = SCREENSHOTS if screenshots is None else screenshots
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium_path() or ""
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self._profile.name}")
        options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # an explicit driver path: Selenium then never tries to download one
        service = Service(executable_path=chromedriver_path() or "")
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.set_page_load_timeout(timeout)
        self.driver.set_script_timeout(timeout)
        # the viewport, not the window, must be width × height (headless windows have no chrome, but be sure)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self._console: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()
        self._profile.cleanup()

    # -- pages -------------------------------------------------------------------------------------------
    def load(self, url: str, *, ready: str | None = None) -> None:
        """Open ``url`` and wait until the document is loaded (and ``ready``, a JS expression, is truthy)."""
        self._drain()
        self._console.clear()
        self.driver.get(url)
        self.wait_for("document.readyState === 'complete'")
        if ready is not None:
            self.wait_for(ready)

    def js(self, script: str, *args: Any) -> Any:
        """Run ``script`` (a function body: use ``return``) in the page and give back its result."""
        return self.driver.execute_script(script, *args)

    def wait_for(self, expression: str, timeout: float | None = None) -> Any:
        """Wait until the JavaScript ``expression`` is truthy; its value. TimeoutError with the expression."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.1).until(
                lambda d: d.execute_script(f"return ({expression});"))
        except TimeoutException:
            raise TimeoutError(f"toujours faux après {timeout or self.timeout} s : {expression}") from None

    def _drain(self) -> None:
        with contextlib.suppress(Exception):
            self._console.extend(self.driver.get_log("browser"))  # type: ignore[no-untyped-call]

    def console(self) -> list[dict[str, Any]]:
        """Every console entry since the last :meth:`load` (``level``, ``message``, ``source``)."""
        self._drain()
        return list(self._console)

    def console_errors(self) -> list[str]:
        """Console errors (uncaught exceptions, ``console.error``, failed resources) since the last load."""
        return [e["message"] for e in self.console() if e.get("level") == "SEVERE"]

    def horizontal_overflow(self) -> int:
        """By how many CSS pixels the page is wider than the viewport (0: no horizontal scrolling)."""
        width: int = self.js("return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                             " - document.documentElement.clientWidth;")
        return max(0, width)

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """Write ``<screenshots>/<name>.png`` (the whole page by default) and return its path."""
        import base64

        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        if full_page:
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot",
                                               {"format": "png", "captureBeyondViewport": True})
            path.write_bytes(base64.b64decode(shot["data"]))
        else:
            self.driver.save_screenshot(str(path))
        return path
