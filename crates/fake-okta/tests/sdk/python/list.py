"""List an Okta org's users, groups and group members with Okta's Python SDK.

Prints their ids as one JSON object:
{"users": [...], "groups": [...], "members": {"<groupId>": [...]}}.

Settings come from the environment, so the same script works against
fake-okta and a real org:
  OKTA_ORG_URL      base URL of the org, such as http://127.0.0.1:8080
  OKTA_CLIENT_ID    client id of a service app with private_key_jwt
  OKTA_KEY_ID       kid of the app's public key
  OKTA_PRIVATE_KEY  the app's private key, PEM
  OKTA_PAGE_LIMIT   page size for every list (optional, default 200)

The SDK rejects an org URL that is not https unless its setting
testing.testingDisableHttpsCheck is true. In okta 3.4.6 the Client constructor
puts every key it is given under "client", so this script sets the switch
through its environment variable, OKTA_TESTING_TESTINGDISABLEHTTPSCHECK, and
only for http:// URLs.
"""

import asyncio
import json
import os
import sys

from okta.client import Client as OktaClient
from okta.pagination import PaginationHelper


def required_env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"environment variable {name} is missing; set it to run this harness")
    return value


async def collect_ids(list_method, **arguments):
    """Call an SDK list method page by page and return the ids.

    In okta 3.4.6 a list method returns (items, response, error), and the
    response has no next-page method. This loop reads the next cursor from
    the Link headers with the SDK's own PaginationHelper.
    """
    ids = []
    after = None
    while True:
        items, response, error = await list_method(after=after, **arguments)
        if error:
            raise RuntimeError(f"{list_method.__name__} failed: {error}")
        ids.extend(item.id for item in items or [])
        after = PaginationHelper.extract_next_cursor(response.headers)
        if not after:
            return ids


async def main():
    org_url = required_env("OKTA_ORG_URL")
    if org_url.startswith("http://"):
        os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"

    config = {
        "orgUrl": org_url,
        "authorizationMode": "PrivateKey",
        "clientId": required_env("OKTA_CLIENT_ID"),
        "kid": required_env("OKTA_KEY_ID"),
        "privateKey": required_env("OKTA_PRIVATE_KEY"),
        "scopes": ["okta.users.read", "okta.groups.read"],
    }
    limit = int(os.environ.get("OKTA_PAGE_LIMIT", "200"))

    async with OktaClient(config) as client:
        users = await collect_ids(client.list_users, limit=limit)
        groups = await collect_ids(client.list_groups, limit=limit)
        members = {}
        for group_id in groups:
            members[group_id] = await collect_ids(
                client.list_group_users, group_id=group_id, limit=limit
            )

    print(json.dumps({"users": users, "groups": groups, "members": members}))


if __name__ == "__main__":
    asyncio.run(main())
