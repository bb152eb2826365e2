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

The SDK rejects an org URL that is not https unless the config sets
testing.testingDisableHttpsCheck (okta 3.4.6, okta/config/config_validator.py).
"""

import asyncio
import json
import os
import sys

from okta.client import Client as OktaClient


def required_env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"environment variable {name} is missing; set it to run this harness")
    return value


async def collect_ids(call):
    """Run one list call of the SDK, follow its pages and return the ids."""
    items, response, error = await call
    if error:
        raise RuntimeError(f"list request failed: {error}")
    ids = [item.id for item in items]
    while response.has_next():
        items, error = await response.next()
        if error:
            raise RuntimeError(f"next-page request failed: {error}")
        ids.extend(item.id for item in items)
    return ids


async def main():
    config = {
        "orgUrl": required_env("OKTA_ORG_URL"),
        "authorizationMode": "PrivateKey",
        "clientId": required_env("OKTA_CLIENT_ID"),
        "kid": required_env("OKTA_KEY_ID"),
        "privateKey": required_env("OKTA_PRIVATE_KEY"),
        "scopes": ["okta.users.read", "okta.groups.read"],
        "testing": {"testingDisableHttpsCheck": True},
    }
    limit = int(os.environ.get("OKTA_PAGE_LIMIT", "200"))

    async with OktaClient(config) as client:
        users = await collect_ids(client.list_users(limit=limit))
        groups = await collect_ids(client.list_groups(limit=limit))
        members = {}
        for group_id in groups:
            members[group_id] = await collect_ids(
                client.list_group_users(group_id, limit=limit)
            )

    print(json.dumps({"users": users, "groups": groups, "members": members}))


if __name__ == "__main__":
    asyncio.run(main())
