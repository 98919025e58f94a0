"""Writes the contract of one running deployment: openapi.yaml with the configured taxonomies as enums.

The spec says that audience and service-type terms come from the configuration (AudienceTerm,
ServiceType); this fills them in from GET /api/v1/taxonomies, so that schemathesis draws the
terms this server accepts and holds it to refusing every other.

    python contract_spec.py openapi.yaml BASE_URL TOKEN OUT.json
"""

import json
import sys
import urllib.request

import yaml

spec_path, base, token, out = sys.argv[1:5]
with open(spec_path, encoding="utf-8") as f:
    spec = yaml.safe_load(f)
request = urllib.request.Request(f"{base}/api/v1/taxonomies", headers={"Authorization": f"Bearer {token}"})
with urllib.request.urlopen(request) as r:
    taxonomies = json.load(r)
schemas = spec["components"]["schemas"]
schemas["AudienceTerm"]["enum"] = sorted(taxonomies["audience"])
schemas["ServiceType"]["enum"] = sorted(taxonomies["service_type"])
with open(out, "w", encoding="utf-8") as f:
    json.dump(spec, f)
