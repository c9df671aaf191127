#!/usr/bin/python3
"""The web dashboard (GET /ui) in a real browser against a real cluster.

Starts zoneplane-server and one zoneplane-agent on the runtime stack's
containerd (cluster.py: HTTPS with a throw-away CA, an operator token), and
drives headless Chromium (Debian's chromium + chromium-driver, through
python3-selenium) like an operator:

  sign in (a wrong token first) -> the node is listed with its capacity and
  its classes verified by the probe -> a form with a missing image and one the
  server refuses shows the validation messages -> a workload submitted through
  the form reaches Running and its log line appears in the workload view ->
  the list updates live from the watch and filters -> a deletion is cancelled,
  another confirmed -> the server restarts and the page reconnects by itself
  -> sign out forgets the token -> a viewer's submission and log view are
  refused with the server's message. The browser's console must show no script
  error, CSP violation or failed dashboard file throughout.

Screenshots go to --screenshots (scripts/test keeps them under
build/<tree>/ui-screenshots/). Every workload the test makes is deleted, also
on failure, and the daemons are stopped.

Exit 0 passed, 1 failed, 77 skipped (no stack environment, or no Chromium /
Selenium; with ZONEPLANE_REQUIRE_STACK=1 a missing stack or browser fails).
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from cluster import Cluster  # noqa: E402  (after the line above on purpose)

SKIP = 77
REQUIRE = os.environ.get("ZONEPLANE_REQUIRE_STACK") == "1"


def skip_or_fail(why):
    print(("FAILED: " if REQUIRE else "SKIPPED: ") + why, file=sys.stderr)
    sys.exit(1 if REQUIRE else SKIP)


try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:
    skip_or_fail("python3-selenium is not installed (scripts/setup installs it)")


def browser(profile_dir):
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        skip_or_fail("chromium and chromium-driver are not installed (scripts/setup installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                 "--disable-dev-shm-usage", "--window-size=1440,1000", "--force-device-scale-factor=1",
                 f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    # The server's certificate is from the test's own CA, which this fresh
    # profile does not know.
    options.accept_insecure_certs = True
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


class DashboardTest:
    def __init__(self, cluster, driver, shots):
        self.c, self.d, self.shots = cluster, driver, Path(shots)
        self.wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        self.held_log = []  # problems logged by page loads that were retried (load())

    # ---- helpers ----
    def shot(self, name, full_page=False):
        """Saves <name>.png: the window, or with full_page the whole page
        (the window is made as tall as the page for the moment)."""
        path = self.shots / f"{name}.png"
        size = self.d.get_window_size()
        if full_page:
            height = self.d.execute_script("return document.documentElement.scrollHeight")
            self.d.set_window_size(size["width"], max(size["height"], height + 140))
        try:
            self.d.save_screenshot(str(path))
        finally:
            if full_page:
                self.d.set_window_size(size["width"], size["height"])
        print(f"screenshot: {path}")

    def q(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def load(self, url, attempts=5):
        """Opens the page and waits for its sign-in form. Chromium abandons a
        request with ERR_NETWORK_CHANGED when the host's interfaces change
        (the runtime adds and removes sandboxes' network devices): the whole
        page, or one of its modules, which leaves the page without its
        script. Either way the page is loaded again, a few times, and each
        failed attempt is described."""
        for attempt in range(1, attempts + 1):
            self.d.get(url)
            try:  # the form, or at once Chromium's error page for the whole page
                WebDriverWait(self.d, 20, poll_frequency=0.2).until(
                    lambda d: self.visible("#signin-form") or d.current_url.startswith("chrome-error:")
                    or "ERR_NETWORK_CHANGED" in d.page_source)
            except TimeoutException:
                pass
            if self.visible("#signin-form"):
                return
            print(f"page load {attempt}: no sign-in form; {self.describe_page()}", file=sys.stderr)
        raise AssertionError(f"the sign-in form did not appear in {attempts} page loads")

    def describe_page(self):
        """The address, title, start of the text and the console's messages."""
        body = self.d.execute_script("return document.body ? document.body.innerText : ''") or ""
        entries = self.d.get_log("browser")
        # What a load that went wrong (lost files) logged is not judged, but a
        # CSP violation or a script error still is (console_problems()).
        self.held_log += [e for e in entries if re.search(r"Content Security Policy|Uncaught", e.get("message", ""))]
        console = [e.get("message", "") for e in entries]
        return (f"url {self.d.current_url!r}, title {self.d.title!r}, text {body[:300]!r}, "
                f"console {console}")

    def until(self, what, condition, timeout=60):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.2).until(lambda d: condition())
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}") from None

    # Reads run as one script in the page: the live list re-renders while
    # the test looks, so no element is held across two calls.
    def visible(self, css):
        return self.d.execute_script(
            "const e = document.querySelector(arguments[0]); return !!e && e.checkVisibility();", css)

    def text(self, css):
        return self.d.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css)

    def attr(self, css, name):
        return self.d.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
            css, name)

    def exists(self, css):
        return bool(self.d.find_elements(By.CSS_SELECTOR, css))

    def click(self, css):
        """Clicks the element `css` names, finding it again if the page
        replaced it meanwhile."""
        for _ in range(20):
            try:
                self.q(css).click()
                return
            except StaleElementReferenceException:
                time.sleep(0.1)
        raise AssertionError(f"{css} kept being replaced")

    def fill(self, element_id, value):
        field = self.q(f"#{element_id}")
        field.clear()
        if value:
            field.send_keys(value)

    def console_problems(self, server_down=False):
        """Script errors, CSP violations and dashboard files that failed to
        load, logged since the last call; the API's 4xx answers the scenario
        provokes (a wrong token, a refused spec) are logged by the browser too
        and are expected, and so are failed API requests while the server is
        down (server_down)."""
        failures = r"the server responded with a status of 4\d\d"
        if server_down:
            failures += r"|net::ERR_\w+"
        expected = re.compile(r"^https://[^/]+/(?!ui)\S* - Failed to load resource: (" + failures + ")")
        # Chromium drops what is in flight when the host's interfaces change,
        # which they do as the runtime creates and removes sandboxes' network
        # devices; the page retries or reconnects (checked elsewhere).
        network_changed = re.compile(r"^https://\S+ - Failed to load resource: net::ERR_NETWORK_CHANGED$")
        problems = []
        entries, self.held_log = self.held_log + self.d.get_log("browser"), []
        for entry in entries:
            message = entry.get("message", "")
            if "Content Security Policy" in message or (
                    entry.get("level") == "SEVERE" and not expected.match(message)
                    and not network_changed.match(message)):
                problems.append(message)
        return problems

    # ---- the scenario ----
    def run(self):
        c, d = self.c, self.d
        wid = f"ui-web-{c.suffix}"
        line = f"hello from {wid}"

        self.load(c.url + "/ui")
        self.shot("01-signin")

        # A wrong token is refused with the server's message.
        self.fill("token", "zp_notatoken")
        self.q("#signin-button").click()
        self.until("the refusal", lambda: "refused" in self.text("#signin-error"))

        self.fill("token", c.token)
        self.q("#signin-button").click()
        self.until("the dashboard", lambda: self.visible("#dashboard-view"))
        assert c.token not in d.current_url, "the token must never be in the URL"

        # The node: Ready, capacity bars, each class verified by the probe.
        node_css = f'article.node[data-id="{c.node}"]'
        self.until("the node Ready", lambda: "Ready" in self.text(node_css + " .badge"))
        self.until("the native class verified by the probe", lambda: self.text(
            node_css + ' .chip[data-class="native"] .chip-level') not in ("", "unverified"), timeout=120)
        assert self.exists(node_css + " .bar"), "no capacity bars"
        assert "2000 m" in self.text(node_css), self.text(node_css)
        self.until("the live indicator", lambda: self.text("#live-text") == "live")

        # Validation: the form's own check, then the server's (shown at the field).
        self.q("#new-workload").click()
        self.until("the form", lambda: self.visible("#create-dialog"))
        self.q("#create-submit").click()
        self.until("the missing image message", lambda: "image is required" in self.text("#e-image"))
        self.fill("f-image", os.environ["ZONEPLANE_TEST_IMAGE"])
        self.fill("f-memory", "4")
        self.q("#create-submit").click()
        self.until("the server's memory_mb message",
                   lambda: "memory_mb must be between 8" in self.text("#e-memory_mb"))
        assert self.attr("#f-memory", "aria-invalid") == "true"
        self.shot("02-validation")

        # A workload through the form: Running, then its log line in the view.
        self.fill("f-id", wid)
        self.fill("f-memory", "64")
        self.fill("f-cpu", "100")
        self.fill("f-command", f"echo '{line}'; i=0; while true; do i=$((i+1)); echo tick $i; sleep 2; done")
        Select(self.q("#f-class")).select_by_value("native")
        self.q("#create-submit").click()
        self.until("the workload view", lambda: self.visible("#detail-view") and self.text("#detail-title") == wid)
        self.until("Running", lambda: self.text("#detail-state") == "Running")
        self.until("the log line", lambda: line in self.text("#logs"))
        self.until("the history to show Running", lambda: "Running" in self.text("#detail-history"))
        assert '"image"' in self.text("#detail-spec"), self.text("#detail-spec")
        self.shot("03-workload", full_page=True)

        # More workloads, made through the API: the list follows the watch.
        done_id, pending_id = f"ui-done-{c.suffix}", f"ui-big-{c.suffix}"
        image = os.environ["ZONEPLANE_TEST_IMAGE"]
        specs = [{"id": done_id, "image": image, "runtime_class": "native", "memory_mb": 32,
                  "cpu_millicores": 100, "command": ["sh", "-c", "echo done"]},
                 {"id": pending_id, "image": image, "memory_mb": 4096, "command": ["sleep", "600"]},
                 # A failing one and one that keeps restarting, for the picture.
                 {"id": f"ui-fail-{c.suffix}", "image": image, "runtime_class": "native", "memory_mb": 32,
                  "cpu_millicores": 100, "command": ["sh", "-c", "echo cannot start >&2; exit 3"]},
                 {"id": f"ui-flaky-{c.suffix}", "image": image, "runtime_class": "native", "memory_mb": 64,
                  "cpu_millicores": 250, "restart_policy": "Always",
                  "command": ["sh", "-c", "echo up; sleep 1; exit 1"]}]
        if os.environ.get("ZONEPLANE_GVISOR_HANDLER"):
            specs.append({"id": f"ui-sandboxed-{c.suffix}", "image": image, "runtime_class": "gvisor",
                          "memory_mb": 128, "cpu_millicores": 500,
                          "command": ["sleep", "600"]})
        for spec in specs:
            status, body = c.api("POST", "/workloads", spec)
            assert status == 201, body
        self.click("a.back")
        row = 'tr[data-id="{}"]'
        self.until("the finished workload", lambda: self.attr(row.format(done_id), "data-state") == "Succeeded")
        self.until("the unschedulable one", lambda: "Unschedulable" in self.text(row.format(pending_id)))
        self.until("the failed one", lambda: "Failed" in self.text(row.format(f"ui-fail-{c.suffix}")))
        self.until("a restart counted", lambda: (self.text(row.format(f"ui-flaky-{c.suffix}") + " td.num.warn-text")
                                                 or "0") != "0")
        if os.environ.get("ZONEPLANE_GVISOR_HANDLER"):
            self.until("the gVisor workload Running",
                       lambda: self.attr(row.format(f"ui-sandboxed-{c.suffix}"), "data-state") == "Running")
        assert self.text(row.format(wid)).find("Running") >= 0
        # The node's allocation follows the workloads (refreshed after watch events).
        self.until("the node to count the running workloads",
                   lambda: re.search(r"\b[2-9] workload\(s\)", self.text(node_css)))
        self.shot("04-dashboard", full_page=True)

        # Filters: Running only.
        Select(self.q("#filter-state")).select_by_value("Running")
        self.until("the filter", lambda: not self.exists(row.format(done_id)))
        assert self.exists(row.format(wid))
        Select(self.q("#filter-state")).select_by_value("")

        # Delete with confirmation: cancel first (nothing happens), then confirm.
        self.until("the row", lambda: self.exists(row.format(pending_id)))
        self.click(row.format(pending_id) + " button")
        self.until("the confirmation", lambda: self.visible("#delete-dialog"))
        assert self.text("#delete-name") == pending_id
        self.q("#delete-cancel").click()
        assert pending_id in c.workload_ids(), "cancel must not delete"
        self.click(row.format(wid) + " button")
        self.until("the confirmation", lambda: self.visible("#delete-dialog"))
        self.fill("f-grace", "1")
        self.shot("05-delete-confirm")
        self.q("#delete-confirm").click()
        self.until("the row to go", lambda: not self.exists(row.format(wid)))
        assert wid not in c.workload_ids()

        # The server restarts: the page says so, reconnects by itself and
        # lists the workloads again (they are in the server's database).
        problems = self.console_problems()
        assert not problems, "browser console:\n" + "\n".join(problems)
        c.server.stop()
        self.until("the watch to notice", lambda: "reconnecting" in self.text("#live-text"))
        assert "may be out of date" in self.text("#banner"), self.text("#banner")
        self.shot("06-reconnecting")
        c.start_server()
        self.until("the watch to come back", lambda: self.text("#live-text") == "live", timeout=90)
        self.until("the list again", lambda: self.exists(row.format(done_id)))
        assert not self.visible("#banner")
        assert not self.exists(row.format(wid))
        problems = self.console_problems(server_down=True)
        assert not problems, "browser console:\n" + "\n".join(problems)

        # Sign out: the token is gone from the tab.
        self.q("#sign-out").click()
        self.until("the sign-in form", lambda: self.visible("#signin-form"))
        assert d.execute_script("return sessionStorage.getItem('zoneplane.token')") is None

        # A viewer sees the workloads; what its role may not do, the server
        # refuses and the page says so.
        self.fill("token", c.viewer_token)
        self.q("#signin-button").click()
        self.until("the list as a viewer", lambda: self.exists(row.format(done_id)))
        self.q("#new-workload").click()
        self.until("the form", lambda: self.visible("#create-dialog"))
        self.fill("f-image", image)
        self.fill("f-command", "true")
        self.q("#create-submit").click()
        self.until("the refusal", lambda: "PermissionDenied" in self.text("#create-error"))
        self.q("#create-cancel").click()
        self.click(f'{row.format(done_id)} a')
        self.until("the log refusal", lambda: "403" in self.text("#logs-status"))
        self.q("#sign-out").click()
        self.until("the sign-in form", lambda: self.visible("#signin-form"))

        problems = self.console_problems()
        assert not problems, "browser console:\n" + "\n".join(problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default=os.environ.get("ZONEPLANE_BIN_DIR", "build/dev/bin"))
    parser.add_argument("--screenshots", default="build/ui-screenshots")
    args = parser.parse_args()

    for name in ("ZONEPLANE_CRI_ENDPOINT", "ZONEPLANE_TEST_IMAGE", "ZONEPLANE_TEST_REGISTRY"):
        if not os.environ.get(name):
            skip_or_fail(f"{name} is not set (eval \"$(scripts/stack env)\")")
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):  # only this run's pictures
        old.unlink()

    work = Path(tempfile.mkdtemp(prefix="zp-ui-"))
    cluster = Cluster(args.bin_dir, work)
    driver = None
    failed = False
    try:
        cluster.start()
        driver = browser(work / "chromium-profile")
        DashboardTest(cluster, driver, shots).run()
    except Exception:  # report, then clean up either way
        failed = True
        traceback.print_exc()
        if driver:
            try:
                driver.save_screenshot(str(shots / "failure.png"))
                print(f"screenshot: {shots / 'failure.png'}", file=sys.stderr)
            except Exception:
                pass
        for daemon in (cluster.server, cluster.agent):
            if daemon:
                print(f"---- {daemon.name} log (last lines)\n{daemon.tail()}", file=sys.stderr)
    finally:
        if driver:
            driver.quit()
        try:
            left = cluster.delete_all()
            if left:
                failed = True
                print(f"FAILED: workloads not deleted: {left}", file=sys.stderr)
        except Exception:
            failed = True
            traceback.print_exc()
        for problem in cluster.stop():
            failed = True
            print(f"FAILED: {problem}", file=sys.stderr)
        if not failed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} for inspection", file=sys.stderr)
    print("FAILED" if failed else "PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
