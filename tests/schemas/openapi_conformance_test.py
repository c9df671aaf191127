#!/usr/bin/env python3
"""The running server against docs/api/openapi.json.

Starts a real zoneplane-server and zoneplane-agent (containerd from the
runtime stack, scripts/stack), calls every documented operation, for its
success and its main errors (400, 401, 403, 404, 409, 422), and checks each
answer: its status is documented for the operation, its content type is one
the response lists, and its body validates against that content's schema
(application/json: the body; application/x-ndjson: every line). Every
documented operation must have answered its success status once.

The API is plain HTTP and the agent link plain TCP (their TLS is tested by
the end-to-end tests; the shapes are the same).

Usage: openapi_conformance_test.py SERVER_BINARY AGENT_BINARY OPENAPI_JSON
Skips (exit 77) without the stack's environment unless ZONEPLANE_REQUIRE_STACK=1.
"""

import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import schema_tools

SKIP = 77

class Failures(list):
    def add(self, message):
        print("FAIL:", message, flush=True)
        self.append(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, prefix, log_path, timeout=90):
    """Starts a daemon; returns (process, port) once it printed prefix + HOST:PORT."""
    log = open(log_path, "ab")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline().decode(errors="replace")
        if not line:
            raise RuntimeError(f"{argv[0]} exited ({process.wait()}); see {log_path}")
        if line.startswith(prefix):
            return process, int(line[len(prefix):].strip().rsplit(":", 1)[1])
    process.kill()
    raise RuntimeError(f"{argv[0]} did not start in {timeout} s; see {log_path}")


class Checker:
    """Sends requests and checks every answer against the document."""

    def __init__(self, doc, port, failures):
        self.doc, self.port, self.failures = doc, port, failures
        self.seen = {}  # "METHOD /pattern" -> set of statuses answered

    def media_for(self, response, content_type):
        content = response.get("content", {})
        if content_type in content:
            return content_type
        base = content_type.split(";")[0].strip()
        for media in content:
            if media.split(";")[0].strip() == base:
                return media
        return "*/*" if "*/*" in content else None

    def check(self, name, method, pattern, status, content_type, body, headers=()):
        operation = self.doc["paths"].get(pattern, {}).get(method.lower())
        if operation is None:
            self.failures.add(f"{name}: {method} {pattern} is not documented")
            return
        responses = operation["responses"]
        if str(status) not in responses:
            self.failures.add(f"{name}: status {status} is not documented for {method} {pattern}: "
                              f"{body[:300]!r}")
            return
        base = schema_tools.pointer("paths", pattern, method.lower(), "responses", str(status))
        response = responses[str(status)]
        if "$ref" in response:
            base = response["$ref"]
            response = schema_tools.resolve(self.doc, base)
        sent = {key.lower() for key, _ in headers}
        for header, spec in response.get("headers", {}).items():
            if spec.get("required") and header.lower() not in sent:
                self.failures.add(f"{name}: {status} without its required header {header}")
        media = self.media_for(response, content_type)
        if media is None:
            self.failures.add(f"{name}: content type {content_type!r} is not documented for "
                              f"{status} ({sorted(response.get('content', {}))})")
            return
        ref = f"{base}/content/{media.replace('~', '~0').replace('/', '~1')}/schema"
        if media.startswith("application/json"):
            instances = [body]
        elif media.startswith("application/x-ndjson"):
            instances = [line for line in body.splitlines() if line]
        else:
            return  # text: any text
        for text in instances:
            try:
                instance = json.loads(text)
            except ValueError:
                self.failures.add(f"{name}: the {media} body is not JSON: {text[:200]!r}")
                continue
            for error in schema_tools.errors(self.doc, ref, instance):
                self.failures.add(f"{name}: {status} body: {error}")

    def call(self, method, pattern, target=None, token=None, body=None, expect=None,
             lines=None, headers=None):
        """One request; checks its answer; returns (status, parsed JSON or text).

        lines: for a stream that does not end, read this many lines and close."""
        name = f"{method} {target or pattern}"
        key = f"{method} {pattern}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (str, bytes)) else json.dumps(body)
            sent["Content-Type"] = "application/json"
        conn.request(method, target or pattern, body=data, headers=sent)
        res = conn.getresponse()
        if lines is not None and res.status == 200:
            text = b"".join(res.readline() for _ in range(lines)).decode()
        else:
            text = res.read().decode()
        conn.close()
        content_type = res.getheader("Content-Type", "")
        self.seen.setdefault(key, set()).add(res.status)
        if expect is not None and res.status not in (expect if isinstance(expect, tuple) else (expect,)):
            self.failures.add(f"{name}: expected {expect}, got {res.status}: {text[:300]}")
        self.check(name, method, pattern, res.status, content_type, text, res.getheaders())
        try:
            return res.status, json.loads(text)
        except ValueError:
            return res.status, text

    def call_oversized(self, method, pattern, target, token, expect=413):
        """A request whose Content-Length is over the body limit, without its
        body (the server answers from the header); checks the answer."""
        key = f"{method} {pattern}"
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            sock.sendall((f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {2 << 20}\r\n\r\n").encode())
            res = http.client.HTTPResponse(sock, method=method)
            res.begin()
            text = res.read().decode()
        self.seen.setdefault(key, set()).add(res.status)
        if res.status != expect:
            self.failures.add(f"{key} (oversized): expected {expect}, got {res.status}: {text[:300]}")
        self.check(f"{key} (oversized)", method, pattern, res.status,
                   res.getheader("Content-Type", ""), text, res.getheaders())

    def wait(self, what, method, pattern, target, token, done, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.call(method, pattern, target, token)
            if status == 200 and done(body):
                return body
            time.sleep(0.5)
        self.failures.add(f"{what}: not reached in {timeout} s")
        return None


def csr_pem():
    """A PEM certificate signing request for a new P-256 key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "joining")]))
               .sign(key, hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.PEM).decode()


def exercise(c, node, image, admin, suffix):
    """Every documented operation: success and its main errors."""
    # ---- public
    c.call("GET", "/healthz", expect=200)
    c.call("GET", "/healthz", "/healthz?x=1", expect=400)
    status, served = c.call("GET", "/openapi.json", expect=200)
    if served != c.doc:
        c.failures.add("GET /openapi.json does not serve docs/api/openapi.json")
    c.call("GET", "/openapi.json", "/openapi.json?x=1", expect=400)
    c.call("GET", "/ui", expect=200)
    c.call("GET", "/ui/", expect=200)
    c.call("GET", "/ui/{file}", "/ui/index.html", expect=200)
    c.call("GET", "/ui/{file}", "/ui/no-such-file.js", expect=404)

    # ---- tokens (admin)
    _, viewer = c.call("POST", "/tokens", token=admin, body={"name": "oa-viewer", "role": "viewer"}, expect=201)
    _, operator = c.call("POST", "/tokens", token=admin, body={"name": "oa-operator", "role": "operator"}, expect=201)
    viewer, operator = viewer.get("token"), operator.get("token")
    c.call("POST", "/tokens", token=admin, body={"name": "oa-viewer", "role": "viewer"}, expect=409)
    c.call("POST", "/tokens", token=admin, body={"name": "oa-x", "role": "boss"}, expect=422)
    c.call("POST", "/tokens", token=admin, body={"role": "viewer", "colour": "red"}, expect=400)
    c.call("POST", "/tokens", token=admin, body="{", expect=400)
    c.call_oversized("POST", "/tokens", "/tokens", admin)
    c.call("POST", "/tokens", token=viewer, body={"role": "admin"}, expect=403)
    c.call("POST", "/tokens", token=admin, body={"name": "oa-revoke", "role": "viewer", "expires_in": "1h"}, expect=201)
    c.call("GET", "/tokens", token=admin, expect=200)
    c.call("GET", "/tokens", token=operator, expect=403)
    c.call("DELETE", "/tokens/{name}", "/tokens/oa-revoke", token=admin, expect=200)
    c.call("DELETE", "/tokens/{name}", "/tokens/oa-revoke", token=admin, expect=404)
    joins = [c.call("POST", "/tokens", token=admin, body={"role": "join"}, expect=201)[1].get("token")
             for _ in range(5)]

    # ---- meta
    c.call("GET", "/stats", token=viewer, expect=200)
    c.call("GET", "/stats", expect=401)
    c.call("GET", "/stats", token="zp_0123456789ab." + "A" * 43, expect=401)
    c.call("GET", "/trust-levels", token=viewer, expect=200)
    c.call("GET", "/trust-levels", "/trust-levels?x=1", token=viewer, expect=400)
    c.call("GET", "/metrics", token=viewer, expect=200)
    c.call("GET", "/metrics", expect=401)

    # ---- nodes
    c.wait("node Ready", "GET", "/nodes/{id}", f"/nodes/{node}", viewer,
           lambda n: n.get("state") == "Ready")
    c.call("GET", "/nodes", token=viewer, expect=200)
    c.call("GET", "/nodes", "/nodes?x=1", token=viewer, expect=400)
    c.call("GET", "/nodes/{id}", "/nodes/oa-absent", token=viewer, expect=404)
    c.call("GET", "/nodes/{id}/isolation", f"/nodes/{node}/isolation", token=viewer, expect=200)
    c.call("GET", "/nodes/{id}/isolation", "/nodes/oa-absent/isolation", token=viewer, expect=404)
    c.call("POST", "/nodes/{id}/probe", f"/nodes/{node}/probe?runtime_class=Not_A_Label", token=operator, expect=422)
    c.call("POST", "/nodes/{id}/probe", f"/nodes/{node}/probe", token=viewer, expect=403)
    c.call("POST", "/nodes/{id}/probe", "/nodes/oa-absent/probe", token=operator, expect=404)
    c.call("POST", "/nodes/{id}/probe", f"/nodes/{node}/probe?runtime_class=native", token=operator,
           expect=200)
    extra = f"oa-{suffix}-extra"
    c.call("POST", "/nodes", token=admin, body={"id": extra, "address": "127.0.0.1:1"}, expect=201)
    c.call("POST", "/nodes", token=admin, body={"id": extra, "address": "127.0.0.1:1"}, expect=409)
    c.call("POST", "/nodes", token=admin, body={"id": 5, "address": "x"}, expect=400)
    c.call("POST", "/nodes", token=admin, body={"id": "Not_A_Label", "address": "127.0.0.1:1"}, expect=422)
    c.call("POST", "/nodes", token=operator, body={"id": extra, "address": "127.0.0.1:1"}, expect=403)
    for action in ("cordon", "uncordon", "drain"):
        c.call("POST", f"/nodes/{{id}}/{action}", f"/nodes/{extra}/{action}", token=admin, expect=200)
        c.call("POST", f"/nodes/{{id}}/{action}", f"/nodes/{extra}/{action}", token=admin, body="[1]", expect=400)
        c.call("POST", f"/nodes/{{id}}/{action}", f"/nodes/oa-absent/{action}", token=admin, body={}, expect=404)
    c.call("DELETE", "/nodes/{id}", f"/nodes/{extra}?force=maybe", token=admin, expect=400)
    c.call("DELETE", "/nodes/{id}", f"/nodes/{extra}", token=admin, expect=200)
    c.call("DELETE", "/nodes/{id}", f"/nodes/{extra}", token=admin, expect=404)

    # ---- workloads
    wid = f"oa-{suffix}-sleep"
    spec = {"id": wid, "image": image, "runtime_class": "native", "memory_mb": 32,
            "command": ["sh", "-c", "echo started; echo oops >&2; exec sleep 300"]}
    c.call("POST", "/workloads", token=operator, body=spec, expect=201)
    c.call("POST", "/workloads", token=operator, body=spec, expect=409)
    c.call("POST", "/workloads", token=operator, body={**spec, "id": f"oa-{suffix}-x", "memory_mb": 1}, expect=422)
    c.call("POST", "/workloads", token=operator, body={**spec, "colour": "red"}, expect=400)
    c.call("POST", "/workloads", token=viewer, body=spec, expect=403)
    c.call_oversized("POST", "/workloads", "/workloads", operator)
    c.call_oversized("POST", "/workloads/{id}/exec", f"/workloads/{wid}/exec", operator)
    pending = f"oa-{suffix}-huge"
    c.call("POST", "/workloads", token=operator,
           body={"id": pending, "image": image, "runtime_class": "native", "memory_mb": 1048576}, expect=201)
    c.call("GET", "/workloads", token=viewer, expect=200)
    _, page = c.call("GET", "/workloads", "/workloads?limit=1", token=viewer, expect=200)
    if isinstance(page, dict) and "continue" in page:
        c.call("GET", "/workloads", f"/workloads?limit=1&continue={page['continue']}", token=viewer, expect=200)
    c.call("GET", "/workloads", "/workloads?state=Running&node=" + node, token=viewer, expect=200)
    c.call("GET", "/workloads", "/workloads?state=Bogus", token=viewer, expect=422)
    c.call("GET", "/workloads", "/workloads?limit=0", token=viewer, expect=422)
    c.call("GET", "/workloads", "/workloads?x=1", token=viewer, expect=400)
    c.call("GET", "/workloads", "/workloads?watch=true", token=viewer, expect=200, lines=2)
    c.call("GET", "/workloads", f"/workloads?watch=true&id={wid}", token=viewer, expect=200, lines=1)
    c.call("GET", "/workloads", "/workloads?watch=true&node=Not_A_Label", token=viewer, expect=422)
    c.call("GET", "/workloads", "/workloads?watch=true&limit=1", token=viewer, expect=400)
    c.call("GET", "/workloads/{id}", f"/workloads/{wid}", token=viewer, expect=200)
    c.call("GET", "/workloads/{id}", "/workloads/oa-absent", token=viewer, expect=404)
    c.wait("workload Running", "GET", "/workloads/{id}", f"/workloads/{wid}", viewer,
           lambda w: w.get("status", {}).get("state") == "Running")
    c.call("GET", "/workloads/{id}", f"/workloads/{wid}", token=viewer, expect=200)
    logs = "/workloads/{id}/logs"
    c.call("GET", logs, f"/workloads/{wid}/logs?tail=10&timestamps=true", token=operator, expect=200)
    c.call("GET", logs, f"/workloads/{wid}/logs?stream=stderr", token=operator, expect=200)
    c.call("GET", logs, f"/workloads/{wid}/logs?follow=true", token=operator, expect=200, lines=1)
    c.call("GET", logs, f"/workloads/{wid}/logs?follow=yes", token=operator, expect=400)
    c.call("GET", logs, f"/workloads/{wid}/logs?tail=x", token=operator, expect=422)
    c.call("GET", logs, f"/workloads/{wid}/logs?tail=100001", token=operator, expect=422)
    c.call("GET", logs, f"/workloads/{wid}/logs?stream=both", token=operator, expect=422)
    c.call("GET", logs, f"/workloads/{wid}/logs", token=viewer, expect=403)
    c.call("GET", logs, "/workloads/oa-absent/logs", token=operator, expect=404)
    c.call("GET", logs, f"/workloads/{pending}/logs", token=operator, expect=409)
    execute = "/workloads/{id}/exec"
    c.call("POST", execute, f"/workloads/{wid}/exec", token=operator,
           body={"command": ["sh", "-c", "echo hi; echo err >&2; exit 3"]}, expect=200)
    c.call("POST", execute, f"/workloads/{wid}/exec", token=operator, body={"command": []}, expect=400)
    c.call("POST", execute, f"/workloads/{wid}/exec", token=viewer, body={"command": ["true"]}, expect=403)
    c.call("POST", execute, "/workloads/oa-absent/exec", token=operator, body={"command": ["true"]}, expect=404)
    c.call("POST", execute, f"/workloads/{pending}/exec", token=operator, body={"command": ["true"]}, expect=409)
    c.call("POST", execute, f"/workloads/{wid}/exec", token=operator,
           body={"command": ["sleep", "5"], "timeout_seconds": 1}, expect=504)
    c.call("DELETE", "/workloads/{id}", f"/workloads/{wid}?grace_seconds=x", token=operator, expect=422)
    c.call("DELETE", "/workloads/{id}", f"/workloads/{wid}?x=1", token=operator, expect=400)
    c.call("DELETE", "/workloads/{id}", f"/workloads/{wid}", token=viewer, expect=403)
    c.call("DELETE", "/workloads/{id}", f"/workloads/{wid}?grace_seconds=0", token=operator, expect=200)
    c.call("DELETE", "/workloads/{id}", f"/workloads/{pending}", token=operator, expect=200)
    c.call("DELETE", "/workloads/{id}", f"/workloads/{wid}", token=operator, expect=404)

    # ---- join (each join token is spent by its call)
    c.call("POST", "/join", body={"node_id": "x", "csr": "x"}, expect=401)
    c.call("POST", "/join", token=viewer, body={"node_id": "x", "csr": "x"}, expect=403)
    c.call("POST", "/join", token=joins[0], body={"node_id": "x"}, expect=400)
    c.call("POST", "/join", token=joins[1], body={"node_id": "Not_A_Label", "csr": "x"}, expect=422)
    c.call("POST", "/join", token=joins[2], body={"node_id": node, "csr": "x"}, expect=409)
    c.call("POST", "/join", token=joins[3], body={"node_id": f"oa-{suffix}-joined", "csr": csr_pem()},
           expect=200)
    c.call("POST", "/join", token=joins[4], body={"node_id": f"oa-{suffix}-other", "csr": "x"},
           expect=422)

    # ---- the audit log last: it has all of the above
    c.call("GET", "/audit", token=admin, expect=200)
    c.call("GET", "/audit", "/audit?limit=0", token=admin, expect=422)
    c.call("GET", "/audit", "/audit?since=yesterday", token=admin, expect=422)
    c.call("GET", "/audit", "/audit?x=1", token=admin, expect=400)
    c.call("GET", "/audit", token=viewer, expect=403)


def coverage(c):
    """Every documented operation answered its success status."""
    for path, item in c.doc["paths"].items():
        for method, operation in item.items():
            key = f"{method.upper()} {path}"
            success = {int(code) for code in operation["responses"] if code.startswith("2")}
            if not success & c.seen.get(key, set()):
                c.failures.add(f"{key}: never answered its success status {sorted(success)} "
                               f"(answered {sorted(c.seen.get(key, set()))})")
    answered = sum(len(s) for s in c.seen.values())
    print(f"{len(c.seen)} operations, {answered} (operation, status) pairs checked")


def main(server_bin, agent_bin, openapi_path):
    endpoint = os.environ.get("ZONEPLANE_CRI_ENDPOINT", "")
    image = os.environ.get("ZONEPLANE_TEST_IMAGE", "")
    registry = os.environ.get("ZONEPLANE_TEST_REGISTRY", "")
    if not (endpoint and image and registry):
        if os.environ.get("ZONEPLANE_REQUIRE_STACK") == "1":
            print("FAIL: runtime stack environment missing")
            return 1
        print('SKIP: runtime stack not configured (eval "$(scripts/stack env)")')
        return SKIP
    doc = schema_tools.load(openapi_path)
    failures = Failures()
    suffix = secrets.token_hex(4)
    work = tempfile.mkdtemp(prefix="zp-openapi-")
    server_dir = os.path.join(work, "server")
    node = f"oa-{suffix}-node"
    processes = []
    try:
        subprocess.run([server_bin, "ca", "init", "--data-dir", server_dir], check=True,
                       capture_output=True)
        made = subprocess.run([server_bin, "tokens", "create", "--name", "oa-admin", "--role", "admin",
                               "--data-dir", server_dir], check=True, capture_output=True, text=True)
        admin = made.stdout.splitlines()[0].strip()
        agent_port = free_port()
        agent_argv = [agent_bin, "--node-id", node, "--listen", f"127.0.0.1:{agent_port}",
                      "--data-dir", os.path.join(work, "agent"), "--insecure-plaintext",
                      "--runtime-class", f"native=runc@{endpoint}"]
        # With the probe, node views carry a real verification (findings and all).
        if os.environ.get("ZONEPLANE_PROBE_IMAGE"):
            agent_argv += ["--probe-image", os.environ["ZONEPLANE_PROBE_IMAGE"]]
        agent, _ = start(agent_argv, "zoneplane-agent listening on ", os.path.join(work, "agent.log"))
        processes.append(agent)
        config = os.path.join(work, "server.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f'default_trust = "internal"\nallowed_registries = ["{registry}"]\n')
        server, port = start([server_bin, "--config", config, "--listen", "127.0.0.1:0",
                              "--data-dir", server_dir, "--insecure-http", "--insecure-plaintext",
                              "--node", f"{node}=127.0.0.1:{agent_port}"],
                             "zoneplane-server listening on ", os.path.join(work, "server.log"))
        processes.insert(0, server)
        checker = Checker(doc, port, failures)
        try:
            exercise(checker, node, image, admin, suffix)
        finally:
            # Whatever a failed run left behind on the node.
            for wid in (f"oa-{suffix}-sleep", f"oa-{suffix}-huge"):
                try:
                    checker.call("DELETE", "/workloads/{id}", f"/workloads/{wid}?grace_seconds=0", admin)
                except OSError:
                    pass
        coverage(checker)
    except (subprocess.CalledProcessError, RuntimeError, OSError) as error:
        failures.add(f"setup: {error} {getattr(error, 'stderr', '') or ''}")
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    print(f"{len(failures)} failures")
    if failures:
        print(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
