// The least work any sync of an org must do, to compare a tool's work with.
//
// Terms:
// - The *call floor* is the fewest requests that list every ingested user,
//   group and membership: one token request, the pages of
//   `GET /api/v1/users` at 200 per page, of `GET /api/v1/groups` at 10,000
//   per page, and of `GET /api/v1/groups/{id}/users` at 1,000 per page for
//   every group. These are the largest page sizes Okta documents and
//   fake-okta allows. A group with no members still needs one page.
// - A *bucket* is a family of endpoints that shares one rate limit. Okta puts
//   the groups list and every group's member list in one bucket.
// - The *rate-limit floor* is the wall time that the per-minute limits
//   alone force on the call floor, when a tool may use `share` of each
//   bucket per window: a bucket with `n` calls and `a` calls allowed per
//   window needs `ceil(n / a)` windows, and the last one starts
//   `(ceil(n / a) - 1)` windows after the first. Request latency is not part
//   of it.

/** Page sizes used for the call floor. */
export const PAGE_SIZES = Object.freeze({ users: 200, groups: 10_000, members: 1_000 });

/**
 * Okta's per-minute limits for a Workforce org (as fake-okta's
 * `--rate-limits workforce` serves them), for the buckets a sync uses.
 */
export const WORKFORCE_LIMITS = Object.freeze({ users: 600, groups: 500, token: 2000 });

/** The length of one rate-limit window, in seconds. */
export const WINDOW_SECONDS = 60;

/**
 * The request counter key of each endpoint a sync calls, as fake-okta's
 * `/_fake/requests` names them, and the bucket it belongs to.
 */
export const ENDPOINTS = Object.freeze([
  { key: 'POST /oauth2/v1/token', name: 'token', bucket: 'token' },
  { key: 'GET /api/v1/users', name: 'users', bucket: 'users' },
  { key: 'GET /api/v1/groups', name: 'groups', bucket: 'groups' },
  { key: 'GET /api/v1/groups/{id}/users', name: 'members', bucket: 'groups' },
]);

function pages(items, pageSize) {
  return Math.max(1, Math.ceil(items / pageSize));
}

/**
 * Computes the call floor of an org from its number of listed users and
 * the member count of every group. Returns the calls per endpoint name and
 * their total.
 */
export function callFloor({ users, groupMemberCounts }) {
  const byEndpoint = {
    token: 1,
    users: pages(users, PAGE_SIZES.users),
    groups: pages(groupMemberCounts.length, PAGE_SIZES.groups),
    members: groupMemberCounts.reduce((sum, count) => sum + pages(count, PAGE_SIZES.members), 0),
  };
  const total = Object.values(byEndpoint).reduce((sum, calls) => sum + calls, 0);
  return { byEndpoint, total };
}

/** Adds up calls per bucket from calls per endpoint name. */
export function callsByBucket(byEndpoint) {
  const buckets = {};
  for (const { name, bucket } of ENDPOINTS) {
    buckets[bucket] = (buckets[bucket] ?? 0) + (byEndpoint[name] ?? 0);
  }
  return buckets;
}

/**
 * Returns the calls a tool may make per window in each bucket: `share` of
 * the limit, rounded down, and at least one.
 */
export function allowedPerWindow(limits, share) {
  const allowed = {};
  for (const [bucket, limit] of Object.entries(limits)) {
    allowed[bucket] = Math.max(1, Math.floor(limit * share));
  }
  return allowed;
}

/** Computes the rate-limit floor in seconds, and the bucket that sets it. */
export function rateLimitFloor(byEndpoint, limits, share) {
  const allowed = allowedPerWindow(limits, share);
  let floor = { seconds: 0, bucket: null };
  for (const [bucket, calls] of Object.entries(callsByBucket(byEndpoint))) {
    const windows = Math.ceil(calls / allowed[bucket]);
    const seconds = Math.max(0, windows - 1) * WINDOW_SECONDS;
    if (seconds > floor.seconds) {
      floor = { seconds, bucket };
    }
  }
  return floor;
}

/**
 * Splits a series of request-count samples of one bucket into rate-limit
 * windows the way Okta and fake-okta open them: a window starts with the
 * first request after the previous window ended and lasts `windowSeconds`.
 * `samples` are `{ seconds, count }` in time order, `count` cumulative.
 * Returns the calls seen in each window.
 *
 * A sample shows only that requests happened since the previous one, so a
 * window is taken to start at the last sample before its first request.
 * It may thus end up to one sampling interval early, and calls made in
 * that interval are counted in the next window.
 */
export function callsPerWindow(samples, windowSeconds = WINDOW_SECONDS) {
  const windows = [];
  let start = null;
  let countAtStart = 0;
  let previous = { seconds: 0, count: 0 };
  for (const sample of samples) {
    if (start !== null && sample.seconds >= start + windowSeconds) {
      windows.push(previous.count - countAtStart);
      start = null;
      countAtStart = previous.count;
    }
    if (start === null && sample.count > countAtStart) {
      start = previous.seconds;
    }
    previous = sample;
  }
  if (start !== null) {
    windows.push(previous.count - countAtStart);
  }
  return windows;
}
