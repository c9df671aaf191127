"""The cluster tests/ui/dashboard_test.py drives: zoneplane-server (HTTPS, a
throw-away cluster CA made with its own `ca init` / `certs issue`, an
operator token from `tokens create`) and one zoneplane-agent on the runtime
stack's containerd (scripts/stack), each a process with its log in the test's
directory."""

import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


class Daemon:
    """A daemon process whose output goes to a log file; started() waits for
    the line that says it listens and returns the address from it."""

    def __init__(self, name, argv, log):
        self.name, self.log = name, Path(log)
        self.handle = open(self.log, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.handle, stderr=subprocess.STDOUT)

    def started(self, marker, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            match = re.search(re.escape(marker) + r"(\S+)", text)
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start; log:\n{self.tail()}")

    def tail(self, lines=40):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        """SIGTERM, then waits; raises unless it exited 0 (a sanitizer's
        report, a crash or a hang fails the test)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop within 20 s of SIGTERM")
        if not self.handle.closed:
            self.handle.close()
        if self.proc.returncode != 0:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}; log:\n{self.tail()}")


class Cluster:
    """zoneplane-server + one zoneplane-agent in a private directory."""

    def __init__(self, bin_dir, work):
        self.bin = Path(bin_dir)
        self.work = Path(work)
        self.suffix = secrets.token_hex(4)
        self.node = f"ui-{self.suffix}"
        self.data = self.work / "server"
        self.server = self.agent = None
        self.url = ""
        self.token = ""
        self.viewer_token = ""
        self.context = None

    def run(self, *args):
        out = subprocess.run([str(self.bin / "zoneplane-server"), *args], check=True,
                             capture_output=True, text=True)
        return out.stdout

    def start(self):
        endpoint = os.environ["ZONEPLANE_CRI_ENDPOINT"]
        registry = os.environ["ZONEPLANE_TEST_REGISTRY"]
        # The cluster CA, the server's certificate and the node's.
        self.run("ca", "init", "--data-dir", str(self.data))
        self.run("certs", "issue", "--server", "--data-dir", str(self.data))
        tls = self.work / "agent-tls"
        self.run("certs", "issue", "--node", self.node, "--data-dir", str(self.data), "--out", str(tls))
        # An operator: reads, submits, deletes and reads logs.
        self.token = self.run("tokens", "create", "--name", "ui-test", "--role", "operator",
                              "--data-dir", str(self.data)).splitlines()[0].strip()
        assert self.token.startswith("zp_"), "tokens create printed no token"
        # A viewer: reads, but no logs and no changes.
        self.viewer_token = self.run("tokens", "create", "--name", "ui-viewer", "--role", "viewer",
                                     "--data-dir", str(self.data)).splitlines()[0].strip()

        agent_port = free_port()
        classes = f'[runtime_classes.native]\nendpoint = "{endpoint}"\nhandler = "runc"\n' \
                  'isolation = "shared-kernel"\n'
        offered = ['"native"']
        gvisor = os.environ.get("ZONEPLANE_GVISOR_HANDLER", "")
        if gvisor:
            classes += f'\n[runtime_classes.gvisor]\nendpoint = "{endpoint}"\nhandler = "{gvisor}"\n' \
                       'isolation = "application-kernel"\n'
            offered.append('"gvisor"')
        probe = os.environ.get("ZONEPLANE_PROBE_IMAGE", "")
        agent_toml = self.work / "agent.toml"
        agent_toml.write_text(
            f'node_id = "{self.node}"\nlisten = "127.0.0.1:{agent_port}"\n'
            f'data_dir = "{self.work / "agent"}"\n\n'
            f'[capacity]\nmemory_mb = 2048\ncpu_millicores = 2000\n\n'
            + (f'[probe]\nimage = "{probe}"\n\n' if probe else "") + classes)
        self.agent = Daemon("zoneplane-agent", [
            str(self.bin / "zoneplane-agent"), "--config", str(agent_toml),
            "--tls-cert", str(tls / f"{self.node}.crt"), "--tls-key", str(tls / f"{self.node}.key"),
            "--tls-ca", str(tls / "ca.crt")], self.work / "agent.log")
        self.agent.started("zoneplane-agent listening on ")

        # A fixed port: the server keeps its address across restart_server().
        server_toml = self.work / "server.toml"
        server_toml.write_text(
            f'listen = "127.0.0.1:{free_port()}"\ndata_dir = "{self.data}"\ndefault_trust = "internal"\n'
            f'allowed_registries = ["{registry}"]\n\n'
            f'[[nodes]]\nid = "{self.node}"\naddress = "127.0.0.1:{agent_port}"\n'
            f'runtime_classes = [{", ".join(offered)}]\n')
        self.start_server()
        self.context = ssl.create_default_context(cafile=str(self.data / "pki" / "ca.crt"))
        if probe:
            self.wait_for_probes(len(offered))

    def wait_for_probes(self, classes, timeout=300):
        """Waits until the agent's first isolation probe of every class has
        ended (verified or failed; one at a time, each up to 120 s with its
        image pull). A probe runs a sandbox, and the host's interfaces change
        as its network device comes and goes: a browser loading the page
        meanwhile can lose a request to ERR_NETWORK_CHANGED."""
        deadline = time.monotonic() + timeout
        body = None
        while time.monotonic() < deadline:
            status, body = self.api("GET", f"/nodes/{self.node}")
            settled = [c for c in (body or {}).get("isolation", []) if c.get("verified_at") or c.get("error")]
            if status == 200 and len(settled) >= classes:
                return
            time.sleep(0.2)
        raise AssertionError(f"the agent's isolation probes did not end within {timeout} s: "
                             f"{json.dumps((body or {}).get('isolation'))}")

    def start_server(self):
        self.server = Daemon("zoneplane-server", [str(self.bin / "zoneplane-server"), "--config",
                                                  str(self.work / "server.toml")],
                             self.work / f"server-{time.monotonic_ns()}.log")
        address = self.server.started("zoneplane-server listening on ")
        self.url = f"https://{address}"

    def api(self, method, path, body=None):
        """(status, JSON body) of one request with the operator token."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def workload_ids(self):
        status, body = self.api("GET", "/workloads")
        assert status == 200, body
        return [w["spec"]["id"] for w in body["items"]]

    def delete_all(self):
        """Deletes every workload through the server (their sandboxes with
        them), waiting until each is gone; returns what is left. A server
        that is not running (the test failed while it was down) is started
        again for this: its database knows the workloads."""
        if not self.server or not self.agent or self.agent.proc.poll() is not None:
            return []  # nothing was placed, or no agent left to remove anything
        if self.server.proc.poll() is not None:
            self.start_server()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ids = self.workload_ids()
            if not ids:
                return []
            for wid in ids:
                self.api("DELETE", f"/workloads/{wid}?grace_seconds=0")
            time.sleep(0.5)
        return self.workload_ids()

    def stop(self):
        """Stops both daemons; returns what went wrong ([] when both exited 0)."""
        problems = []
        for daemon in (self.server, self.agent):
            if daemon:
                try:
                    daemon.stop()
                except AssertionError as e:
                    problems.append(str(e))
        return problems


def free_port():
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
