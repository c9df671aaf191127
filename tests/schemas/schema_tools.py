"""JSON Schema helpers shared by the OpenAPI and agent-protocol tests.

Works with Debian 12's python3-jsonschema (4.10) and newer releases: every
schema is validated inside its own document (a root that is the whole
document plus a "$ref" to the schema's JSON pointer), so local "$ref"s
resolve without a registry.
"""

import json
import re

import jsonschema

DRAFT = jsonschema.Draft202012Validator


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pointer(*parts):
    """A JSON pointer ("#/a/b~1c") to the given keys."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "#/" + "/".join(escaped)


def resolve(document, ref):
    """The value a local "$ref" ("#/...") names; KeyError when it names nothing."""
    if not ref.startswith("#"):
        raise KeyError(f"not a local reference: {ref}")
    node = document
    for raw in filter(None, ref[1:].split("/")):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(key)]
        else:
            node = node[key]
    return node


def refs(node, where="#"):
    """Every ("$ref" value, where it is) in node, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value, where
            else:
                yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from refs(value, f"{where}/{i}")


def unresolved_refs(document):
    """The "$ref"s of document that name nothing in it, as messages."""
    out = []
    for ref, where in refs(document):
        try:
            resolve(document, ref)
        except (KeyError, IndexError, ValueError):
            out.append(f"{where}: $ref {ref} names nothing")
    return out


def validator(document, ref):
    """A draft 2020-12 validator for the schema at ref inside document ("#":
    the document itself)."""
    if ref == "#":
        return DRAFT(document, format_checker=FORMATS)
    root = dict(document)
    root.pop("$id", None)
    root.pop("$schema", None)
    for keyword in ("anyOf", "oneOf", "allOf"):
        root.pop(keyword, None)
    root["$ref"] = ref
    return DRAFT(root, format_checker=FORMATS)


def errors(document, ref, instance):
    """Messages for every way instance fails the schema at ref ([] when valid)."""
    out = []
    for error in validator(document, ref).iter_errors(instance):
        location = "/".join(str(p) for p in error.absolute_path) or "(root)"
        out.append(f"{location}: {error.message[:300]}")
    return out


# RFC 3339 date-time, checked here rather than by an optional package.
FORMATS = jsonschema.FormatChecker(formats=())
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@FORMATS.checks("date-time")
def _is_date_time(value):
    return not isinstance(value, str) or bool(_RFC3339.match(value))
