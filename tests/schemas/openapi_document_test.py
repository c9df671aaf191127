#!/usr/bin/env python3
"""docs/api/openapi.json is a well-formed OpenAPI 3.1 document.

Checks what an OpenAPI 3.1 validator checks of its structure (Debian 12 has
none to install): the required top-level fields; every path a template
starting with "/" whose parameters are each declared "in: path", and
required; unique operationIds; every operation with responses of 3-digit
status codes, at least one 2xx, and a description each; every "$ref"
resolves; every schema valid under the JSON Schema 2020-12 meta-schema;
security requirements that name a declared scheme. And the project's own
conventions: every operation states x-zoneplane-permission, public ones
(and only they) need no token, every other one documents 401, 403 and 429,
every error response is the Error body. With openapi-spec-validator
installed (pip), it validates the document as well.

Usage: openapi_document_test.py OPENAPI_JSON
"""

import re
import sys

import schema_tools

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PERMISSIONS = {"public", "read", "read-logs", "manage-workloads", "probe-nodes",
               "manage-cluster", "join", "exec"}


def check(doc):
    failures = []
    fail = failures.append
    if not re.fullmatch(r"3\.1\.\d+", str(doc.get("openapi", ""))):
        fail(f"openapi must be 3.1.x, not {doc.get('openapi')!r}")
    info = doc.get("info", {})
    for key in ("title", "version"):
        if not isinstance(info.get(key), str) or not info.get(key):
            fail(f"info.{key} is required")
    if not isinstance(doc.get("paths"), dict) or not doc["paths"]:
        fail("paths is required and not empty")
    failures += schema_tools.unresolved_refs(doc)
    schemes = doc.get("components", {}).get("securitySchemes", {})

    def requirements_ok(where, requirements):
        for requirement in requirements:
            for name in requirement:
                if name not in schemes:
                    fail(f"{where}: security scheme {name!r} is not declared")

    requirements_ok("security", doc.get("security", []))

    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            schema_tools.DRAFT.check_schema(schema)
        except Exception as error:  # jsonschema.SchemaError
            fail(f"components.schemas.{name}: {str(error).splitlines()[0]}")

    def deref(node):
        while isinstance(node, dict) and "$ref" in node:
            node = schema_tools.resolve(doc, node["$ref"])
        return node

    operation_ids = set()
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/"):
            fail(f"path {path!r} must start with /")
        templated = set(re.findall(r"\{([^}/]+)\}", path))
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            op_id = operation.get("operationId")
            if not op_id or op_id in operation_ids:
                fail(f"{where}: operationId missing or not unique ({op_id!r})")
            operation_ids.add(op_id)
            params = [deref(p) for p in item.get("parameters", []) + operation.get("parameters", [])]
            in_path = {p["name"] for p in params if p.get("in") == "path"}
            if in_path != templated:
                fail(f"{where}: path parameters {sorted(in_path)} differ from the template's {sorted(templated)}")
            for p in params:
                if p.get("in") == "path" and p.get("required") is not True:
                    fail(f"{where}: path parameter {p['name']} must be required")
                if "schema" in p:
                    try:
                        schema_tools.DRAFT.check_schema(deref(p["schema"]))
                    except Exception as error:
                        fail(f"{where}: parameter {p.get('name')}: {str(error).splitlines()[0]}")
            responses = operation.get("responses", {})
            if not any(code.startswith("2") for code in responses):
                fail(f"{where}: no 2xx response")
            for code, response in responses.items():
                if not re.fullmatch(r"[1-5]\d\d", code):
                    fail(f"{where}: response {code!r} is not a status code")
                response = deref(response)
                if not response.get("description"):
                    fail(f"{where}: response {code} has no description")
                if code >= "400":
                    content = response.get("content", {})
                    schema = content.get("application/json", {}).get("schema", {})
                    if schema.get("$ref") != "#/components/schemas/Error":
                        fail(f"{where}: response {code} is not the Error body")
            permission = operation.get("x-zoneplane-permission")
            if permission not in PERMISSIONS:
                fail(f"{where}: x-zoneplane-permission {permission!r} is not one of {sorted(PERMISSIONS)}")
            security = operation.get("security", doc.get("security", []))
            requirements_ok(where, security)
            public = security == [] or {} in security
            if public != (permission == "public"):
                fail(f"{where}: permission {permission}, but {'no' if public else 'a'} token is required")
            if permission != "public":
                for code in ("401", "403", "429"):
                    if code not in responses:
                        fail(f"{where}: needs a token but does not document {code}")
    return failures


def main(path):
    doc = schema_tools.load(path)
    failures = check(doc)
    try:
        from openapi_spec_validator import validate  # optional (pip)
    except ImportError:
        validate = None
    if validate is not None:
        try:
            validate(doc)
        except Exception as error:
            failures.append(f"openapi-spec-validator: {str(error).splitlines()[0]}")
    for failure in failures:
        print("FAIL:", failure)
    operations = sum(1 for item in doc.get("paths", {}).values() for m in item if m in METHODS)
    print(f"{operations} operations checked{' (and openapi-spec-validator)' if validate else ''}, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
