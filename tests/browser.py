"""Open report pages in a real headless Chromium and say what a reader would hit: page errors, failed loads,
console errors, and content that runs off the page. Talks the DevTools protocol over a pipe (no port, no
network), so it needs nothing but Debian's `chromium`.

    python tests/browser.py runs/demo/report/index.html ... [--shots DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from base64 import b64decode
from dataclasses import dataclass, field
from pathlib import Path

WIDTH = 1280

# Run in the page after it loads: whatever sticks out past the viewport's right edge without a box that scrolls
# it. A table in a box with `overflow-x: auto` may be wider than the box: the reader scrolls it there.
OVERFLOW = """(() => {
  const width = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > width) out.push(`page is ${document.documentElement.scrollWidth}px wide`);
  for (const el of document.querySelectorAll('table, img, pre')) {
    let box = el.parentElement, clipped = false;
    for (; box && box !== document.body; box = box.parentElement) {
      const style = getComputedStyle(box).overflowX;
      if (style === 'auto' || style === 'scroll') { clipped = box.getBoundingClientRect().right <= width + 1; break; }
    }
    const right = el.getBoundingClientRect().right;
    if (right > width + 1 && !clipped) out.push(`${el.tagName.toLowerCase()} ends at ${Math.round(right)}px`);
  }
  return out;
})()"""


@dataclass
class PageCheck:
    url: str
    problems: list[str] = field(default_factory=list)  # errors, failed loads, overflow: empty when the page is fine
    height: int = 0
    value: object = None  # what `evaluate` returned in the loaded page


class Chromium:
    """A headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, executable: str = "chromium"):
        self.profile = tempfile.mkdtemp(prefix="report-browser-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds() -> None:
            # Copies first: a pipe end may already be fd 3 or 4, and dup2 onto itself would keep it close-on-exec.
            # dup2 makes 3 and 4 inheritable; every other fd of ours is not (PEP 446).
            read, write = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False,
            preexec_fn=fds)  # close_fds would close 3 and 4 after preexec_fn ran
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer, self.next_id, self.events = b"", 0, []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send a command and return its result, keeping the events that arrive meanwhile."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._receive())

    def _receive(self) -> dict:
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def check(self, url: str, screenshot: Path | None = None, evaluate: str | None = None) -> PageCheck:
        """Load `url` at WIDTH px and report its problems; save a full-page screenshot if asked; with `evaluate`,
        run that expression in the loaded page and keep its (JSON) value, to read a link to follow, say."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=1000, deviceScaleFactor=1,
                  mobile=False)
        self.events.clear()
        self.send("Page.navigate", session, url=url)
        self.wait_for("Page.loadEventFired")
        result = PageCheck(url)
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                thrown = details.get("exception", {}).get("description") or details.get("text")
                result.problems.append(f"page error: {thrown}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                result.problems.append(f"console: {params['entry']['text']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
                result.problems.append(f"console.error: {params['args']}")
            elif method == "Network.loadingFailed":
                result.problems.append(f"failed load: {params.get('errorText')}")
        overflow = self.send("Runtime.evaluate", session, expression=OVERFLOW, returnByValue=True)
        result.problems += overflow["result"].get("value", [])
        if evaluate is not None:
            answer = self.send("Runtime.evaluate", session, expression=evaluate, returnByValue=True)
            if "exceptionDetails" in answer:
                result.problems.append(f"evaluate: {answer['exceptionDetails'].get('text')}")
            result.value = answer["result"].get("value")
        metrics = self.send("Page.getLayoutMetrics", session)
        result.height = int(metrics["cssContentSize"]["height"])
        if screenshot is not None:
            shot = self.send("Page.captureScreenshot", session, format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": 0, "width": WIDTH, "height": result.height, "scale": 1})
            screenshot.write_bytes(b64decode(shot["data"]))
        self.send("Target.closeTarget", targetId=target)
        return result

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_browser, self.from_browser):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_pages(pages: list[Path], shots: Path | None = None) -> list[PageCheck]:
    """Check each page (a file); with `shots`, save `<shots>/<folder>-<page>.png` for each."""
    with Chromium() as browser:
        return [browser.check(page.resolve().as_uri(),
                              shots / f"{page.parent.parent.name}-{page.stem}.png" if shots else None)
                for page in pages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--shots", type=Path, help="folder for full-page screenshots")
    args = parser.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    failed = False
    for check in check_pages(args.pages, args.shots):
        print(f"{check.url}: {check.height}px tall, " + ("; ".join(check.problems) or "no problem"))
        failed |= bool(check.problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
