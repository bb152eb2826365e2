// Tests of the target checks, the table and the docs section update.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  droppedGroups,
  findings,
  markdownTable,
  replaceSection,
  roadieRows,
  roadieTargets,
  sectionMarkers,
  syncRow,
  syncTargets,
} from '../lib/report.mjs';

const [SECTION_BEGIN, SECTION_END] = sectionMarkers('roadie');

function checkTargets(scenario) {
  return [...syncTargets(scenario), ...roadieTargets(scenario)];
}

function run({ total = 100, wall = 10, sync = 8, rss = 30, emitted, samples, tooMany = 0 } = {}) {
  return {
    wallSeconds: wall,
    syncSeconds: sync,
    cpuSeconds: 1,
    peakRssMib: rss,
    calls: { total, token: 1, users: 50, groups: 1, members: total - 52, other: 0 },
    tooManyRequests: tooMany,
    samples: samples ?? [{ seconds: 0, count: 0 }],
    emitted: emitted ?? { users: 10_000, groups: 1001, memberships: 100_000 },
  };
}

function scenario({ limits = 'none', users = 10_000, orgsync, roadie, rateLimitSeconds = 0 } = {}) {
  return {
    size: { label: '10k', users, groups: 1000 },
    limits,
    share: 0.5,
    floor: { total: 100, byEndpoint: {} },
    rateLimitFloor: { seconds: rateLimitSeconds, bucket: rateLimitSeconds ? 'groups' : null },
    orgsync: orgsync ?? run(),
    roadie: roadie ?? run({ sync: 80, rss: 300 }),
  };
}

function target(checks, name) {
  return checks.find((check) => check.name === name);
}

test('calls over floor miss target', () => {
  const checks = checkTargets(scenario({ orgsync: run({ total: 103 }) }));

  assert.equal(target(checks, 'calls').met, false);
});

test('calls at floor meet target', () => {
  const checks = checkTargets(scenario());

  assert.equal(target(checks, 'calls').met, true);
});

test('speed compares sync times', () => {
  const slow = checkTargets(scenario({ roadie: run({ sync: 39, rss: 300 }) }));
  const fast = checkTargets(scenario({ roadie: run({ sync: 40, rss: 300 }) }));

  assert.equal(target(slow, 'speed').met, false);
  assert.equal(target(fast, 'speed').met, true);
});

test('speed not checked below 10k users', () => {
  const checks = checkTargets(scenario({ users: 1000 }));

  assert.equal(target(checks, 'speed'), undefined);
});

test('memory over a third misses target', () => {
  const checks = checkTargets(scenario({ roadie: run({ sync: 80, rss: 89 }) }));

  assert.equal(target(checks, 'memory').met, false);
});

test('rate-limited time uses floor', () => {
  const checks = checkTargets(
    scenario({ limits: 'workforce', orgsync: run({ wall: 265 }), rateLimitSeconds: 240 }),
  );

  assert.equal(target(checks, 'rate-limited time').met, false);
});

test('429 breaks share target', () => {
  const checks = checkTargets(scenario({ limits: 'workforce', orgsync: run({ tooMany: 1 }) }));

  assert.equal(target(checks, 'share').met, false);
});

test('window over share breaks target', () => {
  const samples = [
    { seconds: 0, count: 0 },
    { seconds: 1, count: 251 },
  ];
  const checks = checkTargets(scenario({ limits: 'workforce', orgsync: run({ samples }) }));

  assert.equal(target(checks, 'share').met, false);
});

test('different output is marked', () => {
  const roadie = run({
    sync: 80,
    rss: 300,
    emitted: { users: 10_000, groups: 990, memberships: 1 },
  });
  const rows = roadieRows(scenario({ roadie }));

  assert.match(rows[1][9], /differs from orgsync/);
  assert.doesNotMatch(rows[0][9], /differs/);
});

test('failed tool gets a row', () => {
  const rows = roadieRows(scenario({ roadie: { error: 'token request failed' } }));

  assert.match(rows[1][3], /failed: token request failed/);
  assert.equal(rows[1].length, rows[0].length);
});

test('findings list missed targets', () => {
  const lines = findings([scenario({ orgsync: run({ total: 150 }) })], syncTargets, ['orgsync']);

  assert.equal(lines.length, 1);
  assert.match(lines[0], /calls target: 1\.500× the floor/);
});

test('findings list failed tools', () => {
  const failed = scenario({ roadie: { error: 'token request failed' } });

  const lines = findings([failed], roadieTargets, ['orgsync', 'roadie']);

  assert.deepEqual(lines, ['- 10k users, limits none: roadie failed: token request failed']);
});

test('dropped groups are listed', () => {
  const roadie = { ...run({ sync: 80, rss: 300 }), droppedGroups: 4 };

  const lines = droppedGroups([scenario({ roadie })]);

  assert.match(lines[0], /Roadie dropped 4 groups/);
});

test('table escapes pipes', () => {
  const table = markdownTable(['name', 'value'], [['a|b', 'x']]);

  assert.match(table, /a\\\|b/);
});

test('section replaces only its text', () => {
  const document = `# Benchmarks\n\nintro\n\n${SECTION_BEGIN}\nold\n${SECTION_END}\n\n## other\n`;

  const updated = replaceSection(document, 'roadie', 'new');

  assert.equal(
    updated,
    `# Benchmarks\n\nintro\n\n${SECTION_BEGIN}\nnew\n${SECTION_END}\n\n## other\n`,
  );
});

test('missing section is appended', () => {
  const updated = replaceSection('# Benchmarks\n\n## other\n', 'roadie', 'new');

  assert.equal(updated, `# Benchmarks\n\n## other\n\n${SECTION_BEGIN}\nnew\n${SECTION_END}\n`);
});

test('other sections stay untouched', () => {
  const [syncBegin, syncEnd] = sectionMarkers('sync');
  const document = `${syncBegin}\nsync\n${syncEnd}\n\n${SECTION_BEGIN}\nold\n${SECTION_END}\n`;

  const updated = replaceSection(document, 'roadie', 'new');

  assert.equal(
    updated,
    `${syncBegin}\nsync\n${syncEnd}\n\n${SECTION_BEGIN}\nnew\n${SECTION_END}\n`,
  );
});

test('sync row shows floor and share', () => {
  const samples = [
    { seconds: 0, count: 0 },
    { seconds: 1, count: 240 },
  ];
  const row = syncRow(
    scenario({ limits: 'workforce', orgsync: run({ samples, wall: 250 }), rateLimitSeconds: 240 }),
  );

  assert.equal(row[7], '1.000');
  assert.equal(row[10], '1.04');
  assert.equal(row[11], '240 (250)');
});

test('slower sync says slower', () => {
  const checks = checkTargets(scenario({ orgsync: run({ sync: 60 }), roadie: run({ sync: 20 }) }));

  assert.match(target(checks, 'speed').detail, /sync 3\.0× slower than Roadie's/);
});
