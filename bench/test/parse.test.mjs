// Tests of the parsers of fake-okta's and GNU time's output and of the
// orgsync config the benchmark writes.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { nextLink, parseCredentials } from '../lib/fake.mjs';
import { callsByEndpoint, countEntities, orgsyncConfig, parseTime } from '../lib/tools.mjs';

const CREDENTIALS = `oktaUrl: http://127.0.0.1:4000
clientId: 0oabench
keyId: kid-1
privateKey: |
  -----BEGIN PRIVATE KEY-----
  MIIEv
  -----END PRIVATE KEY-----
`;

test('credentials keep the PEM block', () => {
  const credentials = parseCredentials(CREDENTIALS);

  assert.equal(
    credentials.privateKey,
    '-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n',
  );
  assert.equal(credentials.oktaUrl, 'http://127.0.0.1:4000');
  assert.equal(credentials.keyId, 'kid-1');
});

test('credentials without key are rejected', () => {
  assert.throws(() => parseCredentials('oktaUrl: http://127.0.0.1:4000\n'), /no clientId/);
});

test('next link found among joined links', () => {
  const header =
    '<http://127.0.0.1:4000/api/v1/users?limit=200>; rel="self", ' +
    '<http://127.0.0.1:4000/api/v1/users?after=abc&limit=200>; rel="next"';

  assert.equal(nextLink(header)?.searchParams.get('after'), 'abc');
});

test('last page has no next link', () => {
  assert.equal(nextLink('<http://127.0.0.1:4000/api/v1/users?limit=200>; rel="self"'), null);
  assert.equal(nextLink(null), null);
});

test('time output after exit notice', () => {
  const measured = parseTime('Command exited with non-zero status 1\n12.50 204800 3.25 0.75\n');

  assert.equal(measured.wallSeconds, 12.5);
  assert.equal(measured.peakRssMib, 200);
  assert.equal(measured.cpuSeconds, 4);
});

test('unreadable time output is rejected', () => {
  assert.throws(() => parseTime('Command terminated by signal 9\n'), /GNU time/);
});

test('calls add up statuses', () => {
  const calls = callsByEndpoint({
    total: 9,
    endpoints: {
      'POST /oauth2/v1/token': { 200: 1 },
      'GET /api/v1/groups/{id}/users': { 200: 5, 429: 2 },
      'GET /.well-known/openid-configuration': { 200: 1 },
    },
  });

  assert.equal(calls.members, 7);
  assert.equal(calls.token, 1);
  assert.equal(calls.users, 0);
  assert.equal(calls.other, 1);
});

test('config indents the private key', () => {
  const yaml = orgsyncConfig(parseCredentials(CREDENTIALS), '/tmp/run', 0.5);

  assert.match(yaml, /privateKey: \|\n {10}-----BEGIN PRIVATE KEY-----\n {10}MIIEv\n/);
  assert.match(yaml, /rateLimitShare: 0\.5\n/);
  assert.match(yaml, /includeBuiltInGroups: true\n/);
});

test('entity counts read group members', () => {
  const counts = countEntities([
    { kind: 'User', spec: {} },
    { kind: 'Group', spec: { members: ['a', 'b'] } },
    { kind: 'Group', spec: {} },
    { kind: 'Location', spec: {} },
  ]);

  assert.deepEqual(counts, { users: 1, groups: 2, memberships: 2 });
});
