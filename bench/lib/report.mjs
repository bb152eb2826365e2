// Turns benchmark results into tables, checks them against orgsync's
// targets, and writes the benchmark's two sections of docs/benchmarks.md:
// `sync` (orgsync against the call and rate-limit floors) and `roadie`
// (orgsync next to the Roadie provider).
//
// A *scenario* is one org size under one rate-limit setting. Its result
// has the org's call floor and rate-limit floor and one measurement per
// tool (or the error that stopped the tool).

import { readFile, writeFile } from 'node:fs/promises';

import { allowedPerWindow, callsPerWindow, WORKFORCE_LIMITS } from './floor.mjs';

/** orgsync's targets: calls at most this many times the call floor. */
export const MAX_CALL_RATIO = 1.02;
/** Under rate limits, wall time at most this many times the rate-limit floor. */
export const MAX_RATE_LIMIT_RATIO = 1.1;
/** Without rate limits, at least this many times faster than Roadie ... */
export const MIN_SPEEDUP = 5;
/** ... from orgs of this many users up. */
export const SPEEDUP_FROM_USERS = 10_000;
/** Peak RSS at most this share of Roadie's. */
export const MAX_RSS_SHARE = 1 / 3;

const SYNC_COLUMNS = [
  'org',
  'limits',
  'wall s',
  'CPU s',
  'peak RSS MiB',
  'calls: token/users/groups/members',
  'floor: token/users/groups/members',
  'calls ÷ floor',
  '429s',
  'rate-limit floor s',
  'wall ÷ rate-limit floor',
  'max groups-bucket calls per window (allowed)',
  'targets',
];

const ROADIE_COLUMNS = [
  'org',
  'limits',
  'tool',
  'wall s',
  'sync s',
  'CPU s',
  'peak RSS MiB',
  'calls: token/users/groups/members',
  '429s',
  'emitted: users/groups/memberships',
  'targets',
];

function succeeded(run) {
  return run !== undefined && !run.error;
}

function formatCalls(calls) {
  return `${calls.total} (${calls.token}/${calls.users}/${calls.groups}/${calls.members})`;
}

function formatTargets(checks) {
  return checks.map((check) => `${check.name} ${check.met ? 'met' : 'MISSED'}`).join(', ');
}

/**
 * Checks orgsync's calls, and under rate limits its time and its use of
 * the share, against the targets. Returns `{ name, met, detail }` for each
 * target that applies.
 */
export function syncTargets(scenario) {
  const { orgsync } = scenario;
  if (!succeeded(orgsync)) {
    return [];
  }
  const callRatio = orgsync.calls.total / scenario.floor.total;
  const checks = [
    {
      name: 'calls',
      met: callRatio <= MAX_CALL_RATIO,
      detail: `${callRatio.toFixed(3)}× the floor (target ≤ ${MAX_CALL_RATIO}×)`,
    },
  ];
  if (scenario.limits === 'none') {
    return checks;
  }

  const allowed = allowedPerWindow(WORKFORCE_LIMITS, scenario.share).groups;
  const maxPerWindow = Math.max(0, ...callsPerWindow(orgsync.samples));
  checks.push({
    name: 'share',
    met: maxPerWindow <= allowed && orgsync.tooManyRequests === 0,
    detail:
      `at most ${maxPerWindow} groups-bucket calls per window (the share allows ${allowed}), ` +
      `${orgsync.tooManyRequests} responses with 429`,
  });
  if (scenario.rateLimitFloor.seconds > 0) {
    const ratio = orgsync.wallSeconds / scenario.rateLimitFloor.seconds;
    checks.push({
      name: 'rate-limited time',
      met: ratio <= MAX_RATE_LIMIT_RATIO,
      detail: `${ratio.toFixed(2)}× the rate-limit floor (target ≤ ${MAX_RATE_LIMIT_RATIO}×)`,
    });
  }
  return checks;
}

/**
 * Checks orgsync's speed (without rate limits, from 10,000 users up) and
 * peak RSS against the Roadie provider's.
 */
export function roadieTargets(scenario) {
  const { orgsync, roadie } = scenario;
  if (!succeeded(orgsync) || !succeeded(roadie)) {
    return [];
  }
  const checks = [];
  if (scenario.limits === 'none' && scenario.size.users >= SPEEDUP_FROM_USERS) {
    const speedup = roadie.syncSeconds / orgsync.syncSeconds;
    const comparison =
      speedup >= 1 ? `${speedup.toFixed(1)}× faster` : `${(1 / speedup).toFixed(1)}× slower`;
    checks.push({
      name: 'speed',
      met: speedup >= MIN_SPEEDUP,
      detail: `sync ${comparison} than Roadie's (target ≥ ${MIN_SPEEDUP}× faster)`,
    });
  }
  const rssShare = orgsync.peakRssMib / roadie.peakRssMib;
  checks.push({
    name: 'memory',
    met: rssShare <= MAX_RSS_SHARE,
    detail: `peak RSS ${rssShare.toFixed(2)}× Roadie's (target ≤ 0.33×)`,
  });
  return checks;
}

/** Returns the `sync` table's row of one scenario. */
export function syncRow(scenario) {
  const { orgsync, floor, rateLimitFloor } = scenario;
  const label = [scenario.size.label, scenario.limits];
  if (orgsync === undefined) {
    return null;
  }
  if (orgsync.error) {
    return [...label, `failed: ${orgsync.error}`, ...Array(SYNC_COLUMNS.length - 3).fill('')];
  }

  const rateLimited = scenario.limits !== 'none';
  const allowed = allowedPerWindow(WORKFORCE_LIMITS, scenario.share).groups;
  const maxPerWindow = Math.max(0, ...callsPerWindow(orgsync.samples));
  return [
    ...label,
    orgsync.wallSeconds.toFixed(2),
    orgsync.cpuSeconds.toFixed(2),
    orgsync.peakRssMib.toFixed(0),
    formatCalls(orgsync.calls),
    formatCalls({ total: floor.total, ...floor.byEndpoint }),
    (orgsync.calls.total / floor.total).toFixed(3),
    String(orgsync.tooManyRequests),
    rateLimited ? String(rateLimitFloor.seconds) : '',
    rateLimited && rateLimitFloor.seconds > 0
      ? (orgsync.wallSeconds / rateLimitFloor.seconds).toFixed(2)
      : '',
    rateLimited ? `${maxPerWindow} (${allowed})` : '',
    formatTargets(syncTargets(scenario)),
  ];
}

/** Returns the `roadie` table's rows of one scenario, one per tool. */
export function roadieRows(scenario) {
  const rows = [];
  for (const tool of ['orgsync', 'roadie']) {
    const run = scenario[tool];
    if (run === undefined) {
      continue;
    }
    const label = [scenario.size.label, scenario.limits, tool === 'roadie' ? 'Roadie' : tool];
    if (run.error) {
      rows.push([...label, `failed: ${run.error}`, ...Array(ROADIE_COLUMNS.length - 4).fill('')]);
      continue;
    }
    const { emitted } = run;
    rows.push([
      ...label,
      run.wallSeconds.toFixed(2),
      run.syncSeconds.toFixed(2),
      run.cpuSeconds.toFixed(2),
      run.peakRssMib.toFixed(0),
      formatCalls(run.calls),
      String(run.tooManyRequests),
      `${emitted.users}/${emitted.groups}/${emitted.memberships}${equalOutputMark(scenario, tool)}`,
      tool === 'orgsync' ? formatTargets(roadieTargets(scenario)) : '',
    ]);
  }
  return rows;
}

/** Marks the Roadie row when the two tools emitted different entities. */
function equalOutputMark(scenario, tool) {
  const { orgsync, roadie } = scenario;
  if (tool !== 'roadie' || !succeeded(orgsync) || !succeeded(roadie)) {
    return '';
  }
  const same = ['users', 'groups', 'memberships'].every(
    (kind) => orgsync.emitted[kind] === roadie.emitted[kind],
  );
  return same ? '' : ' (differs from orgsync)';
}

/** Formats the `sync` table of all scenarios as Markdown. */
export function syncTable(scenarios) {
  return markdownTable(SYNC_COLUMNS, scenarios.map(syncRow).filter(Boolean));
}

/** Formats the `roadie` table of all scenarios as Markdown. */
export function roadieTable(scenarios) {
  return markdownTable(ROADIE_COLUMNS, scenarios.flatMap(roadieRows));
}

/** Formats rows as a Markdown table with the given header. */
export function markdownTable(columns, rows) {
  const escape = (cell) => String(cell).replaceAll('|', '\\|');
  const lines = [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/**
 * Lists every missed target that `targets` returns, and the failures of
 * `tools`, in every scenario.
 */
export function findings(scenarios, targets, tools) {
  const lines = [];
  for (const scenario of scenarios) {
    const where = `${scenario.size.label} users, limits ${scenario.limits}`;
    for (const check of targets(scenario)) {
      if (!check.met) {
        lines.push(`- ${where}: missed the ${check.name} target: ${check.detail}.`);
      }
    }
    for (const tool of tools) {
      if (scenario[tool]?.error) {
        lines.push(`- ${where}: ${tool} failed: ${scenario[tool].error}`);
      }
    }
  }
  return lines;
}

/** Lists the scenarios where the Roadie provider dropped groups. */
export function droppedGroups(scenarios) {
  return scenarios
    .filter((scenario) => succeeded(scenario.roadie) && scenario.roadie.droppedGroups > 0)
    .map(
      (scenario) =>
        `- ${scenario.size.label} users, limits ${scenario.limits}: Roadie dropped ` +
        `${scenario.roadie.droppedGroups} groups whose member listing failed.`,
    );
}

/** Returns the begin and end markers of section `name` of docs/benchmarks.md. */
export function sectionMarkers(name) {
  return [`<!-- bench:${name} begin -->`, `<!-- bench:${name} end -->`];
}

/**
 * Replaces the text between the markers of section `name` in `document`,
 * or appends the section when its markers are missing.
 */
export function replaceSection(document, name, body) {
  const [begin, end] = sectionMarkers(name);
  const section = `${begin}\n${body.trim()}\n${end}`;
  const beginAt = document.indexOf(begin);
  const endAt = document.indexOf(end);
  if (beginAt === -1 || endAt === -1 || endAt < beginAt) {
    const separator = document.trim() === '' ? '' : '\n\n';
    return `${document.trimEnd()}${separator}${section}\n`;
  }
  return document.slice(0, beginAt) + section + document.slice(endAt + end.length);
}

/**
 * Writes each `{ name, body }` of `sections` into the Markdown file at
 * `docsPath`, creating the file with a title if it does not exist.
 */
export async function writeSections(docsPath, sections) {
  let document;
  try {
    document = await readFile(docsPath, 'utf8');
  } catch (error) {
    if (error.code !== 'ENOENT') {
      throw error;
    }
    document = '# Benchmarks\n';
  }
  for (const { name, body } of sections) {
    document = replaceSection(document, name, body);
  }
  await writeFile(docsPath, document);
}
