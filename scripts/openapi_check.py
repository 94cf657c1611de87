#!/usr/bin/env python3
"""Checks Plenum's OpenAPI document, read as JSON on standard input.

Used by crates/plenum/tests/api/openapi.rs. Prints every error found and exits 1 when there is
one, 0 otherwise.

    openapi_check.py               the input is the document: it must be valid OpenAPI 3.1
                                   (openapi-spec-validator)
    openapi_check.py --responses   the input is {"document": ..., "samples": [{"method",
                                   "path" (the document's template), "status", "body"}]}:
                                   answers the server really gave; each status must be
                                   documented for its operation, and each JSON body must
                                   match the schema documented for it (JSON Schema 2020-12
                                   with OpenAPI 3.1's formats)

By hand:

    curl -s http://127.0.0.1:7480/api/openapi.json | .venv-test/bin/python scripts/openapi_check.py
"""

import json
import sys

from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import OpenAPIV31SpecValidator


def check_document(doc):
    if not str(doc.get("openapi", "")).startswith("3.1"):
        return [f"not an OpenAPI 3.1 document: openapi = {doc.get('openapi')!r}"]
    errors = []
    for error in OpenAPIV31SpecValidator(doc).iter_errors():
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        errors.append(f"{where}: {error.message}")
    return errors


def check_responses(doc, samples):
    errors = []
    for sample in samples:
        method, path, status = sample["method"].lower(), sample["path"], str(sample["status"])
        at = f"{method.upper()} {path} {status}"
        operation = doc.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            errors.append(f"{at}: the operation is not documented")
            continue
        responses = operation.get("responses", {})
        response = responses.get(status) or responses.get(status[0] + "XX") or responses.get("default")
        if response is None:
            errors.append(f"{at}: status not documented (documented: {sorted(responses)})")
            continue
        body = sample.get("body")
        if body is None:
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            errors.append(f"{at}: answered JSON, but no JSON body is documented")
            continue
        # The document's `#/components/...` references resolve against the schema's root.
        rooted = {"allOf": [schema], "components": doc.get("components", {})}
        validator = OAS31Validator(rooted, format_checker=oas31_format_checker)
        for error in validator.iter_errors(body):
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            errors.append(f"{at}: {where}: {error.message}")
    return errors


def main():
    data = json.load(sys.stdin)
    if "--responses" in sys.argv[1:]:
        errors = check_responses(data["document"], data["samples"])
    else:
        errors = check_document(data)
    for error in errors:
        print(error)
    print(f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
