// Lists the users, groups and group members of an Okta org with Okta's
// official Node.js SDK and prints their ids as one JSON object:
// {"users": [...], "groups": [...], "members": {"<groupId>": [...]}}.
//
// Settings come from the environment, so the same script works against
// fake-okta and a real org:
//   OKTA_ORG_URL      base URL of the org, such as http://127.0.0.1:8080
//   OKTA_CLIENT_ID    client id of a service app with private_key_jwt
//   OKTA_KEY_ID       kid of the app's public key
//   OKTA_PRIVATE_KEY  the app's private key, PEM
//   OKTA_PAGE_LIMIT   page size for every list (optional, default 200)
//
// The Node.js SDK (version 8.1.0) does not check that the org URL uses
// https, so no setting is needed for http://127.0.0.1.

import okta from '@okta/okta-sdk-nodejs';

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`environment variable ${name} is missing; set it to run this harness`);
    process.exit(2);
  }
  return value;
}

async function collectIds(collection) {
  const ids = [];
  for await (const item of collection) {
    ids.push(item.id);
  }
  return ids;
}

async function main() {
  const client = new okta.Client({
    orgUrl: requiredEnv('OKTA_ORG_URL'),
    authorizationMode: 'PrivateKey',
    clientId: requiredEnv('OKTA_CLIENT_ID'),
    keyId: requiredEnv('OKTA_KEY_ID'),
    privateKey: requiredEnv('OKTA_PRIVATE_KEY'),
    scopes: ['okta.users.read', 'okta.groups.read'],
  });
  const limit = Number(process.env.OKTA_PAGE_LIMIT || 200);

  const users = await collectIds(await client.userApi.listUsers({ limit }));
  const groups = await collectIds(await client.groupApi.listGroups({ limit }));

  const members = {};
  for (const groupId of groups) {
    members[groupId] = await collectIds(await client.groupApi.listGroupUsers({ groupId, limit }));
  }

  process.stdout.write(`${JSON.stringify({ users, groups, members })}\n`);
}

main().catch((error) => {
  console.error(`listing the org with the Node.js SDK failed: ${error.stack || error}`);
  process.exit(1);
});
