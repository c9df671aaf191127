#!/usr/bin/env python3
"""The agent protocol's JSON Schemas against the real encoder.

Runs protocol_samples (messages of every request and reply type of
src/protocol/messages.h, as encodeRequest/encodeReply write them) and checks
that every sample validates against docs/protocol/agent-protocol.schema.json,
under its own type's schema and under Request or Reply; that every type the
code has, has a schema; and that every schema is of a type the code has.

Usage: protocol_schema_test.py SAMPLES_BINARY SCHEMA_FILE
"""

import json
import subprocess
import sys

import schema_tools

def main(samples_binary, schema_file):
    schema = schema_tools.load(schema_file)
    schema_tools.DRAFT.check_schema(schema)
    failures = schema_tools.unresolved_refs(schema)

    run = subprocess.run([samples_binary], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        failures.append(f"{samples_binary} failed ({run.returncode}): {run.stderr.strip()}")
    seen = {"request": set(), "reply": set()}
    for line in run.stdout.splitlines():
        direction, _, text = line.partition(" ")
        message = json.loads(text)
        kind = message.get("type")
        seen[direction].add(kind)
        if kind not in schema["$defs"]:
            failures.append(f"{direction} type {kind} has no schema: {text[:200]}")
            continue
        for ref in (schema_tools.pointer("$defs", kind),
                    schema_tools.pointer("$defs", "Request" if direction == "request" else "Reply"),
                    "#"):
            for error in schema_tools.errors(schema, ref, message):
                failures.append(f"{direction} {kind} against {ref}: {error}\n    {text[:300]}")

    for direction, union in (("request", "Request"), ("reply", "Reply")):
        documented = {entry["$ref"].rsplit("/", 1)[1] for entry in schema["$defs"][union]["oneOf"]}
        for kind in sorted(documented - seen[direction]):
            failures.append(f"{union} schema {kind} is not a {direction} type of the code")
        if not seen[direction]:
            failures.append(f"no {direction} samples")

    for failure in failures:
        print("FAIL:", failure)
    count = sum(len(s) for s in seen.values())
    print(f"{count} message types checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
