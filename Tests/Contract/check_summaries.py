"""Checks run summaries against the OpenAPI document's schemas, made strict: every member a summary holds must be
described (additionalProperties false), of its type, and the required ones present (docs/ui.md, "One contract").
Usage: python3 check_summaries.py openapi.json SchemaName=summary.json ...; prints each problem, exits 1 on any."""
import copy
import json
import sys

from openapi_schema_validator import OAS30Validator


def strict(schema):
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(value) for value in schema]
    return schema


def main():
    with open(sys.argv[1]) as handle:
        document = json.load(handle)
    components = strict(copy.deepcopy(document["components"]))
    problems = 0
    for argument in sys.argv[2:]:
        name, path = argument.split("=", 1)
        with open(path) as handle:
            summary = json.load(handle)
        root = {"$ref": f"#/components/schemas/{name}", "components": components}
        for error in OAS30Validator(root).iter_errors(summary):
            problems += 1
            print(f"{name} ({path}): {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message[:300]}")
        print(f"{name}: checked {len(summary)} members")
    sys.exit(1 if problems else 0)


main()
