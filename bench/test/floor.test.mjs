// Tests of the call floor, the rate-limit floor and the split into windows.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  allowedPerWindow,
  callFloor,
  callsByBucket,
  callsPerWindow,
  rateLimitFloor,
  WORKFORCE_LIMITS,
} from '../lib/floor.mjs';

test('floor counts partial pages', () => {
  const floor = callFloor({ users: 401, groupMemberCounts: [1000, 1001] });

  assert.equal(floor.byEndpoint.users, 3);
  assert.equal(floor.byEndpoint.groups, 1);
  assert.equal(floor.byEndpoint.members, 3);
  assert.equal(floor.byEndpoint.token, 1);
  assert.equal(floor.total, 8);
});

test('empty group needs one page', () => {
  const floor = callFloor({ users: 0, groupMemberCounts: [0, 0] });

  assert.equal(floor.byEndpoint.members, 2);
  assert.equal(floor.byEndpoint.users, 1);
});

test('member pages share the groups bucket', () => {
  const buckets = callsByBucket({ token: 1, users: 5, groups: 1, members: 20 });

  assert.equal(buckets.groups, 21);
  assert.equal(buckets.users, 5);
  assert.equal(buckets.token, 1);
});

test('allowed calls round down', () => {
  const allowed = allowedPerWindow({ groups: 501 }, 0.5);

  assert.equal(allowed.groups, 250);
});

test('calls within one window force no wait', () => {
  const floor = rateLimitFloor(
    { token: 1, users: 5, groups: 1, members: 249 },
    WORKFORCE_LIMITS,
    0.5,
  );

  assert.equal(floor.seconds, 0);
  assert.equal(floor.bucket, null);
});

test('rate-limit floor counts whole windows', () => {
  // 1 + 1010 groups-bucket calls at 250 per window need 5 windows.
  const floor = rateLimitFloor(
    { token: 1, users: 50, groups: 1, members: 1010 },
    WORKFORCE_LIMITS,
    0.5,
  );

  assert.equal(floor.seconds, 240);
  assert.equal(floor.bucket, 'groups');
});

test('windows split at sixty seconds', () => {
  const samples = [
    { seconds: 0, count: 0 },
    { seconds: 1, count: 250 },
    { seconds: 30, count: 250 },
    { seconds: 60.5, count: 250 },
    { seconds: 61, count: 400 },
  ];

  assert.deepEqual(callsPerWindow(samples), [250, 150]);
});

test('idle gap delays next window', () => {
  const samples = [
    { seconds: 0, count: 0 },
    { seconds: 1, count: 10 },
    { seconds: 70, count: 10 },
    { seconds: 70.25, count: 30 },
    { seconds: 129.5, count: 30 },
    { seconds: 130.5, count: 35 },
  ];

  assert.deepEqual(callsPerWindow(samples), [10, 20, 5]);
});

test('no calls means no windows', () => {
  assert.deepEqual(
    callsPerWindow([
      { seconds: 0, count: 0 },
      { seconds: 5, count: 0 },
    ]),
    [],
  );
});
