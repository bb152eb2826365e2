// The text of the benchmark's two sections of docs/benchmarks.md: how the
// figures were measured, on which machine and versions, the table, and the
// targets that were missed.

import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import {
  droppedGroups,
  findings,
  roadieTable,
  roadieTargets,
  syncTable,
  syncTargets,
} from './report.mjs';

/**
 * Describes one benchmark run for both sections: the machine, the versions
 * measured, the command and the settings.
 */
export async function describeRun({ repo, roadieDir, command, options }) {
  return {
    machine: await describeMachine(),
    versions: [
      orgsyncVersion(repo),
      await roadieVersion(roadieDir),
      `Node.js ${process.version}`,
    ].join(', '),
    command,
    date: new Date().toISOString().slice(0, 10),
    latencyMs: options.latencyMs,
    share: options.share,
    seed: options.seed,
  };
}

async function describeMachine() {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown CPU';
  const memoryGib = (os.totalmem() / 1024 ** 3).toFixed(1);
  const cores = os.availableParallelism();
  return `${cores} cores (nproc), ${model}, ${memoryGib} GiB memory, ${os.type()} ${os.release()}`;
}

async function roadieVersion(roadieDir) {
  const manifest = path.join(
    roadieDir,
    'node_modules/@roadiehq/catalog-backend-module-okta/package.json',
  );
  try {
    const { version } = JSON.parse(await readFile(manifest, 'utf8'));
    return `@roadiehq/catalog-backend-module-okta ${version}`;
  } catch {
    // The harness's packages are missing when bench/lib/main.mjs runs on
    // its own with --tools orgsync.
    return '@roadiehq/catalog-backend-module-okta (not installed)';
  }
}

/**
 * Names the orgsync build measured: `BENCH_ORGSYNC_VERSION` when the
 * binaries were built elsewhere, or else the repository's commit.
 */
function orgsyncVersion(repo) {
  if (process.env.BENCH_ORGSYNC_VERSION) {
    return `orgsync ${process.env.BENCH_ORGSYNC_VERSION}`;
  }
  return gitCommit(repo);
}

function gitCommit(repo) {
  const git = (...args) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    const changed = git('status', '--porcelain', '--', 'crates', 'Cargo.lock');
    return changed ? `orgsync ${commit} with uncommitted changes` : `orgsync ${commit}`;
  } catch {
    return 'orgsync at an unknown commit';
  }
}

/**
 * Describes the machine and settings, and each distinct command that
 * measured the scenarios shown, which differ when `--results` merged
 * several runs.
 */
function runLines(run, scenarios) {
  const commands = new Map();
  for (const scenario of scenarios) {
    const { command, date, versions } = scenario.run;
    const line = `\`${command}\` on ${date} (${versions})`;
    const measured = commands.get(line) ?? [];
    commands.set(line, [...measured, `${scenario.size.label} ${scenario.limits}`]);
  }
  const lines = [...commands].map(([line, measured]) => `- ${line}: ${measured.join(', ')}`);
  return `Machine: ${run.machine}.

fake-okta generated the orgs with seed ${run.seed} and added ${run.latencyMs} ms to every
API request; *limits* is \`none\` or Okta's Workforce rate limits. Measured by:

${lines.join('\n')}`;
}

function missedList(lines) {
  return lines.length
    ? `Missed targets and failures:\n\n${lines.join('\n')}`
    : 'Every target was met.';
}

/** Returns the body of the `sync` section: orgsync against the floors. */
export function syncSection(scenarios, run) {
  return `One full \`orgsync sync\` of a generated org into a new SQLite catalog,
reading all users and all groups (Everyone included), with rateLimitShare
${run.share}.

- *wall s*, *CPU s* (user + system) and *peak RSS*: the orgsync process,
  measured by GNU time. fake-okta runs in another process.
- *calls*: requests fake-okta received, every status included. The
  *floor* is one token request plus the pages of users at 200, of groups at
  10,000 and of every group's members at 1,000; targets: calls ≤ 1.02× the
  floor.
- *rate-limit floor*: the time the per-minute limits alone force on the
  floor's calls when orgsync may use ${run.share} of each bucket; the groups list and
  the member lists share one bucket of 500 per minute. Target: wall time
  ≤ 1.10× this floor, with no 429 and no window over the share. Calls per
  window are sampled every 0.25 s, so a count may be off by one sample's
  calls.

${runLines(run, scenarios)}

${syncTable(scenarios)}

${missedList(findings(scenarios, syncTargets, ['orgsync']))}
`;
}

/** Returns the body of the `roadie` section: orgsync next to Roadie. */
export function roadieSection(scenarios, run) {
  const notes = [
    ...findings(scenarios, roadieTargets, ['orgsync', 'roadie']),
    ...droppedGroups(scenarios),
  ];
  return `One full sync of the same generated org by \`orgsync sync\` and by the
Roadie Backstage module's \`OktaOrgEntityProvider\`, run by
\`bench/roadie/run.js\` with an in-memory entity connection and no Backstage
backend. Both sign in with private-key OAuth and read all users and all
groups: orgsync with \`includeBuiltInGroups: true\`, Roadie with
\`includeEmptyGroups: true\` and its default (Okta id) entity names.

- *wall s*, *CPU s* and *peak RSS*: the tool's whole process, measured by
  GNU time; for Roadie that includes Node.js and the modules it loads.
- *sync s*: the sync alone as each tool times it, orgsync's \`duration_ms\`
  (reading, planning and writing the SQLite catalog) and the provider's
  \`run()\` (reading and building entities). Targets: without rate limits,
  orgsync's sync ≥ 5× faster than Roadie's from 10,000 users up; orgsync's
  peak RSS ≤ 1/3 of Roadie's.
- *emitted*: the entities each tool produced; memberships are the members
  listed on Group entities.

${runLines(run, scenarios)}

${roadieTable(scenarios)}

${missedList(notes)}
`;
}
