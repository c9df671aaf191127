#!/usr/bin/python3
"""Checks zoneplane's /metrics with a real Prometheus parser (prometheus_client).

  scrape_check.py server SERVER_BINARY
      Starts a real zoneplane-server (plain HTTP, one node that never
      answers, a private data dir), makes a viewer and an operator token offline, scrapes /metrics
      with the viewer token, submits a workload (no node: it waits
      Pending/Unschedulable) and checks that the metrics moved: the
      submissions counter +1, the Pending workloads and the Unschedulable
      gauge +1, the HTTP counter of POST /workloads 201 +1, a viewer's
      refused POST counted under 403.

  scrape_check.py url URL [NAME{LABELS}>=VALUE ...]
      Scrapes URL (no token) and checks each given sample is at least VALUE
      (the agent's listener; tests/agent/agent_metrics_test.cc).

Both modes parse every scrape with
prometheus_client.parser.text_string_to_metric_families and check what the
format promises: each family typed, histogram buckets cumulative with a +Inf
bucket equal to _count. Exit status 0 when everything holds, 1 otherwise.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def request(url, token=None, method="GET", body=None):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers.get("Content-Type"), res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def parse(text):
    """{(sample name, frozenset(labels)): value} and {family: type}, checked."""
    samples, types = {}, {}
    for family in text_string_to_metric_families(text):
        if family.type not in ("counter", "gauge", "histogram"):
            fail(f"family {family.name} has type {family.type}")
        types[family.name] = family.type
        buckets = {}
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            if key in samples:
                fail(f"duplicate sample {s.name} {s.labels}")
            samples[key] = s.value
            if s.name.endswith("_bucket"):
                rest = frozenset((k, v) for k, v in s.labels.items() if k != "le")
                buckets.setdefault(rest, []).append((float(s.labels["le"]), s.value))
        for rest, series in buckets.items():
            values = [v for _, v in sorted(series)]
            if values != sorted(values):
                fail(f"{family.name} {dict(rest)}: buckets not cumulative: {series}")
            if sorted(series)[-1][0] != float("inf"):
                fail(f"{family.name} {dict(rest)}: no +Inf bucket")
            count = samples.get((family.name + "_count", rest))
            if count != values[-1]:
                fail(f"{family.name} {dict(rest)}: +Inf bucket {values[-1]} != _count {count}")
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(url, token=None):
    status, content_type, text = request(url, token)
    if status != 200:
        fail(f"GET {url}: {status} {text[:200]}")
    if content_type != CONTENT_TYPE:
        fail(f"GET {url}: Content-Type {content_type!r}")
    return parse(text)


def make_token(binary, data_dir, name, role):
    out = subprocess.run(
        [binary, "tokens", "create", "--name", name, "--role", role, "--data-dir", data_dir],
        check=True, capture_output=True, text=True)
    return out.stdout.split("\n", 1)[0].strip()


def check_server(binary):
    work = tempfile.mkdtemp(prefix="zp-metrics-")
    server = None
    try:
        data_dir = os.path.join(work, "data")
        os.makedirs(data_dir)
        viewer = make_token(binary, data_dir, "prometheus", "viewer")
        operator = make_token(binary, data_dir, "ops", "operator")
        # One node that never answers (nothing listens on port 1): it offers
        # "native" from the configuration and stays NotReady, so a workload
        # is accepted and waits Pending/Unschedulable.
        config = os.path.join(work, "server.toml")
        with open(config, "w") as f:
            f.write('default_trust = "internal"\n'
                    '[[nodes]]\nid = "node-down"\naddress = "127.0.0.1:1"\n'
                    'runtime_classes = ["native"]\n')
        log = open(os.path.join(work, "server.log"), "w")
        server = subprocess.Popen(
            [binary, "--config", config, "--listen", "127.0.0.1:0", "--data-dir", data_dir,
             "--insecure-http", "--insecure-plaintext"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        where = None
        deadline = time.monotonic() + 30
        while where is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            match = re.match(r"zoneplane-server listening on (\S+)", line)
            if match:
                where = match.group(1)
        if where is None:
            fail("the server did not start; see " + log.name)
        base = "http://" + where
        url = base + "/metrics"

        status, _, _ = request(url)
        if status != 401:
            fail(f"GET /metrics without a token: {status}, want 401")
        before, types = scrape(url, viewer)
        for family, kind in [("zoneplane_workload_submissions", "counter"),
                             ("zoneplane_workloads", "gauge"),
                             ("zoneplane_http_requests", "counter"),
                             ("zoneplane_http_request_duration_seconds", "histogram"),
                             ("zoneplane_agent_rpc_duration_seconds", "histogram"),
                             ("zoneplane_status_push_delay_seconds", "histogram"),
                             ("zoneplane_nodes", "gauge"),
                             ("process_resident_memory_bytes", "gauge"),
                             ("process_open_fds", "gauge"),
                             ("zoneplane_process_threads", "gauge")]:
            if types.get(family) != kind:
                fail(f"family {family}: type {types.get(family)}, want {kind}")
        if value(before, "process_resident_memory_bytes") <= 0:
            fail("process_resident_memory_bytes is not positive")
        if value(before, "zoneplane_process_threads") < 1:
            fail("zoneplane_process_threads below 1")
        if value(before, "zoneplane_nodes", state="NotReady") != 1:
            fail("zoneplane_nodes{state=NotReady} is not 1")

        spec = {"id": "w-scrape", "image": "busybox:1.36", "memory_mb": 64}
        status, _, text = request(base + "/workloads", operator, "POST", spec)
        if status != 201:
            fail(f"POST /workloads: {status} {text[:300]}")
        status, _, _ = request(base + "/workloads", viewer, "POST", spec)
        if status != 403:
            fail(f"POST /workloads as a viewer: {status}, want 403")
        after, _ = scrape(url, viewer)

        record = json.loads(request(base + "/workloads/w-scrape", viewer)[2])
        runtime_class = record["spec"].get("runtime_class", "")
        checks = [
            ("zoneplane_workload_submissions_total", {}, 1),
            ("zoneplane_workloads", {"state": "Pending", "runtime_class": runtime_class}, 1),
            ("zoneplane_workloads_unschedulable", {}, 1),
            ("zoneplane_http_requests_total",
             {"method": "POST", "route": "/workloads", "code": "201"}, 1),
            ("zoneplane_http_requests_total",
             {"method": "POST", "route": "/workloads", "code": "403"}, 1),
            ("zoneplane_http_request_duration_seconds_count",
             {"method": "POST", "route": "/workloads"}, 2),
            ("zoneplane_http_requests_total",
             {"method": "GET", "route": "/metrics", "code": "200"}, 1),
        ]
        for name, labels, delta in checks:
            moved = value(after, name, **labels) - value(before, name, **labels)
            if moved != delta:
                fail(f"{name}{labels} moved by {moved}, want {delta}")
        print(f"ok: {len(after)} samples parsed; the metrics moved with the workload")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


def check_url(url, expectations):
    samples, _ = scrape(url)
    for expectation in expectations:
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?>=(\S+)", expectation)
        if not match:
            fail("malformed expectation " + expectation)
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(3) or ""))
        got = value(samples, match.group(1), **labels)
        if not got >= float(match.group(4)):
            fail(f"{match.group(1)}{labels} is {got}, want at least {match.group(4)}")
    print(f"ok: {len(samples)} samples parsed")


def main(argv):
    if len(argv) >= 3 and argv[1] == "server":
        check_server(argv[2])
    elif len(argv) >= 3 and argv[1] == "url":
        check_url(argv[2], argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
