"""One case's life through a client generated from openapi.yaml (openapi-python-client):
login, a beneficiary, a case, a message, a status change, a reply, a search. Every answer must
deserialise into the model the spec names, with no field the spec does not declare, at any
depth. Run by the openapi e2e test: HELPLINE_URL, HELPLINE_USER, HELPLINE_PASSWORD; the
generated package on PYTHONPATH."""

import os
import sys

from helpline_api_client import AuthenticatedClient, Client
from helpline_api_client.api.auth import get_api_v1_me, post_api_v1_auth_login
from helpline_api_client.api.beneficiaries import post_api_v1_beneficiaries
from helpline_api_client.api.case_log import (
    get_api_v1_cases_id_timeline,
    post_api_v1_cases_id_messages,
)
from helpline_api_client.api.cases import (
    get_api_v1_cases,
    get_api_v1_cases_id,
    patch_api_v1_cases_id,
    post_api_v1_cases,
)
from helpline_api_client.api.mail import post_api_v1_cases_id_replies
from helpline_api_client import models
from helpline_api_client.types import Unset


def undeclared(value, path="answer"):
    """Fields the server sent that the spec does not declare, anywhere in `value`."""
    found = []
    extra = getattr(value, "additional_properties", None)
    declared = [a.name for a in getattr(value, "__attrs_attrs__", ()) if a.name != "additional_properties"]
    # A model that declares no field of its own is a map by design (an audit event's changes).
    if extra and declared:
        found.append(f"{path}: {sorted(extra)}")
    if hasattr(value, "__attrs_attrs__"):
        for a in value.__attrs_attrs__:
            if a.name != "additional_properties":
                found += undeclared(getattr(value, a.name), f"{path}.{a.name}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += undeclared(v, f"{path}[{i}]")
    return found


def answer(resp, status, model):
    """The parsed answer, checked: the status, the model, every field declared."""
    if resp.status_code != status:
        sys.exit(f"expected {status}, got {resp.status_code}: {resp.content[:500]!r}")
    if not isinstance(resp.parsed, model):
        sys.exit(f"expected a {model}, got {type(resp.parsed).__name__}: {resp.content[:500]!r}")
    extra = undeclared(resp.parsed)
    if extra:
        sys.exit(f"{type(resp.parsed).__name__}: fields the spec does not declare: {extra}")
    return resp.parsed


def main():
    base = os.environ["HELPLINE_URL"]
    public = Client(base_url=base, raise_on_unexpected_status=True)
    login = answer(
        post_api_v1_auth_login.sync_detailed(
            client=public,
            body=models.LoginRequest.from_dict(
                {"username": os.environ["HELPLINE_USER"], "password": os.environ["HELPLINE_PASSWORD"]}
            ),
        ),
        200,
        models.LoginResponse,
    )
    api = AuthenticatedClient(base_url=base, token=login.access_token, raise_on_unexpected_status=True)
    answer(get_api_v1_me.sync_detailed(client=api), 200, models.Me)

    person = answer(
        post_api_v1_beneficiaries.sync_detailed(
            client=api,
            body=models.BeneficiaryCreate.from_dict(
                {"name": "Leila Haddad", "emails": ["leila@example.org"], "country": "LB"}
            ),
        ),
        201,
        models.Beneficiary,
    )
    case = answer(
        post_api_v1_cases.sync_detailed(
            client=api,
            body=models.CaseCreate.from_dict(
                {
                    "beneficiary_id": str(person.id),
                    "summary": "Phishing against the newsroom",
                    "urgency": "high",
                    "service_type": "account_security",
                }
            ),
        ),
        201,
        models.Case,
    )
    cid = str(case.id)
    answer(
        post_api_v1_cases_id_messages.sync_detailed(
            cid,
            client=api,
            body=models.MessageCreate.from_dict(
                {"direction": "in", "channel": "phone", "body": "Three colleagues got the same link."}
            ),
        ),
        201,
        models.Message,
    )
    current = answer(get_api_v1_cases_id.sync_detailed(cid, client=api), 200, models.Case)
    opened = answer(
        patch_api_v1_cases_id.sync_detailed(
            cid,
            client=api,
            body=models.CasePatch.from_dict({"status": "open"}),
            if_match=f'"{current.version}"',
        ),
        200,
        models.Case,
    )
    if str(opened.status) != "open" and getattr(opened.status, "value", None) != "open":
        sys.exit(f"status not changed: {opened.status}")
    answer(
        post_api_v1_cases_id_replies.sync_detailed(
            cid,
            client=api,
            body=models.ReplyCreate.from_dict({"body": "Do not click it; we will call you."}),
        ),
        201,
        models.Message,
    )
    timeline = answer(get_api_v1_cases_id_timeline.sync_detailed(cid, client=api), 200, models.Timeline)
    if len(timeline.items) < 2:
        sys.exit(f"the timeline holds {len(timeline.items)} entries")
    found = get_api_v1_cases.sync_detailed(client=api, q="newsroom")
    page = answer(found, 200, (models.SearchPage, models.CasePage))
    if not any(str(hit.id) == cid for hit in page.items):
        sys.exit("the search did not find the case")
    print("a case's life through the generated client: ok")


if __name__ == "__main__":
    main()
