#!/usr/bin/env python3
"""Validates Helpline's exports with their formats' own tools.

    exports.py misp EVENT.json   MISP's JSON schema and type/category table (shipped in PyMISP),
                                 then PyMISP's own loader
    exports.py stix BUNDLE.json  the OASIS stix2 library's parser (STIX 2.1, no custom content)

Exits non-zero, with the reason, on the first problem.
"""
import json
import os
import sys


def misp(path):
    import jsonschema
    import pymisp

    with open(path) as f:
        data = json.load(f)
    base = os.path.join(os.path.dirname(pymisp.__file__), "data")
    with open(os.path.join(base, "schema.json")) as f:
        jsonschema.validate(data, json.load(f))
    with open(os.path.join(base, "describeTypes.json")) as f:
        types = json.load(f)["result"]
    for a in data["Event"].get("Attribute", []):
        if a["type"] not in types["types"]:
            sys.exit(f"unknown MISP type {a['type']}")
        if a["type"] not in types["category_type_mappings"].get(a["category"], []):
            sys.exit(f"MISP type {a['type']} is not allowed in category {a['category']}")
    event = pymisp.MISPEvent()
    event.load(data)
    print(f"MISP event valid: {len(event.attributes)} attributes")


def stix(path):
    import stix2

    with open(path) as f:
        bundle = stix2.parse(f.read(), allow_custom=False)
    for o in bundle.objects:
        if o.type == "indicator":
            # The pattern must parse as STIX patterning too.
            from stix2patterns.validator import run_validator

            errors = run_validator(o.pattern, stix_version="2.1")
            if errors:
                sys.exit(f"pattern {o.pattern}: {errors}")
    print(f"STIX bundle valid: {len(bundle.objects)} objects")


if __name__ == "__main__":
    {"misp": misp, "stix": stix}[sys.argv[1]](sys.argv[2])
