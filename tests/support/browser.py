"""A real headless Chromium for tests, driven over the DevTools protocol (a websocket, through aiohttp).

::

    with Chromium.launch() as browser:
        page = browser.open(Path("run.html").as_uri())
        page.evaluate("document.title")
        page.click("details.run > summary")        # a real mouse click at the element's centre
        page.screenshot(Path("shot.png"))
        page.wait_for("document.querySelector('details.run').open")
        assert page.problems == []                 # console errors and uncaught exceptions seen so far

``CHROMIUM`` is the executable (``chromium`` from the Debian packages) or None when it is not installed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
START_TIMEOUT_S = 30.0  # a cold Chromium on a busy 2-core box takes a few seconds
CALL_TIMEOUT_S = 30.0
VIEWPORT = (1100, 760)


class Chromium:
    """One headless browser process with one page; ``close`` (or the context manager) ends it."""

    def __init__(self, proc: subprocess.Popen[bytes], profile: tempfile.TemporaryDirectory[str], port: int):
        self.proc = proc
        self.profile = profile
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="cdp", daemon=True)
        self.thread.start()

    @classmethod
    def launch(cls) -> Chromium:
        if CHROMIUM is None:
            raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
        profile = tempfile.TemporaryDirectory(prefix="ra-chromium-")
        proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--remote-debugging-port=0",
             f"--user-data-dir={profile.name}", f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                profile.cleanup()
                raise RuntimeError(f"chromium did not start (exit {proc.poll()})")
            time.sleep(0.05)
        return cls(proc, profile, int(port_file.read_text().split()[0]))

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT_S + 5)

    def open(self, url: str) -> Page:
        page = Page(self)
        self._run(page.connect())
        page.navigate(url)
        return page

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """A page target: ``navigate``, ``evaluate``, ``click``, ``screenshot``; ``problems`` lists console errors."""

    def __init__(self, browser: Chromium):
        self.browser = browser
        self.problems: list[str] = []
        self._ids = iter(range(1, 1 << 30))
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._events: dict[str, asyncio.Event] = {}

    async def connect(self) -> None:
        self.session = aiohttp.ClientSession()
        base = f"http://127.0.0.1:{self.browser.port}"
        async with self.session.get(f"{base}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.reader = asyncio.ensure_future(self._read())
        for domain in ("Page", "Runtime", "Log"):
            await self._send(f"{domain}.enable")
        await self._send("Emulation.setDeviceMetricsOverride", width=VIEWPORT[0], height=VIEWPORT[1],
                         deviceScaleFactor=1, mobile=False)

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                self.problems.append(f"exception: {details.get('exception', {}).get('description') or details['text']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                self.problems.append("console." + params["type"] + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                self.problems.append(f"log: {params['entry']['text']}")
            if method in self._events:
                self._events[method].set()

    async def _send(self, method: str, **params: Any) -> Any:
        number = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self.ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, CALL_TIMEOUT_S)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def send(self, method: str, **params: Any) -> Any:
        return self.browser._run(self._send(method, **params))

    def navigate(self, url: str) -> float:
        """Load ``url`` and wait for its load event; returns the seconds it took."""

        async def go() -> float:
            loaded = self._events["Page.loadEventFired"] = asyncio.Event()
            t0 = time.perf_counter()
            await self._send("Page.navigate", url=url)
            await asyncio.wait_for(loaded.wait(), CALL_TIMEOUT_S)
            return time.perf_counter() - t0

        self.load_seconds = self.browser._run(go())
        return self.load_seconds

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 5.0) -> Any:
        """Poll ``expression`` until it is truthy (the page builds some parts in event handlers); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.02)

    def click(self, selector: str) -> None:
        """Scroll ``selector`` into view and click its centre with real mouse events."""
        box = self.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: "center"}}); const r = e.getBoundingClientRect();
            return [r.left + Math.min(r.width / 2, 40), r.top + r.height / 2]; }})()""")
        if box is None:
            raise AssertionError(f"no element matches {selector!r}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        async def shut() -> None:
            await self.ws.close()
            self.reader.cancel()
            await self.session.close()

        self.browser._run(shut())
