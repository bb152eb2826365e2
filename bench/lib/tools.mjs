// Runs one full sync of orgsync or of the Roadie provider against a running
// fake-okta, and measures it.
//
// Each tool runs as its own process under GNU time, which reports the
// process's wall time, peak resident set size and CPU time. fake-okta is a
// separate process, so its memory and CPU are not counted. Request counts
// come from fake-okta's `/_fake/requests`, reset before every run, and are
// sampled while the tool runs so that calls per rate-limit window can be
// checked afterwards.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { ENDPOINTS } from './floor.mjs';

/**
 * GNU time's output format: wall seconds, peak RSS in KiB, user and system
 * CPU seconds.
 */
const TIME_FORMAT = '%e %M %U %S';

/** How often request counts are sampled during a run, in milliseconds. */
const SAMPLE_INTERVAL_MS = 250;

/**
 * Runs orgsync once into a new SQLite catalog and returns its measurement.
 * `options` are `{ binary, fake, share, workDir, timeBinary }`.
 */
export async function runOrgsync(options) {
  const runDir = path.join(options.workDir, 'orgsync');
  await mkdir(runDir, { recursive: true });
  const configPath = path.join(runDir, 'app-config.yaml');
  await writeFile(configPath, orgsyncConfig(options.fake.credentials, runDir, options.share), {
    mode: 0o600,
  });

  const args = ['sync', '--config', configPath, '--format', 'json', '--progress', 'none'];
  const run = await measure({ ...options, runDir, command: [options.binary, ...args] });
  const outcome = JSON.parse(run.stdout)[0];
  if (!outcome?.ok) {
    throw new Error(
      `orgsync sync failed: ${outcome?.error ?? run.stdout}; see ${runDir}/stderr.log`,
    );
  }
  const report = outcome.report;
  return {
    ...run,
    syncSeconds: report.duration_ms / 1000,
    emitted: await exportedCounts(options.binary, configPath, runDir),
    retries: report.retries,
    rateLimitWaits: report.rate_limit_waits,
  };
}

/**
 * Counts the users, groups and group members in orgsync's catalog after
 * the run, from `orgsync export`. The sync report's membership count
 * includes members that were not ingested (deprovisioned users), which
 * the Group entities leave out.
 */
async function exportedCounts(binary, configPath, runDir) {
  const args = ['export', '--config', configPath, '--format', 'json'];
  const { code, stdout } = await runProcess(
    binary,
    args,
    process.env,
    path.join(runDir, 'export.log'),
  );
  if (code !== 0) {
    throw new Error(`orgsync export exited with ${code}; see ${runDir}/export.log`);
  }
  return countEntities(JSON.parse(stdout));
}

/** Counts `User` and `Group` entities and the members listed on groups. */
export function countEntities(entities) {
  const counts = { users: 0, groups: 0, memberships: 0 };
  for (const entity of entities) {
    if (entity.kind === 'User') {
      counts.users += 1;
    } else if (entity.kind === 'Group') {
      counts.groups += 1;
      counts.memberships += entity.spec?.members?.length ?? 0;
    }
  }
  return counts;
}

/**
 * Runs the Roadie provider's Node harness once and returns its measurement.
 * `options` are `{ harness, fake, workDir, timeBinary }`.
 */
export async function runRoadie(options) {
  const runDir = path.join(options.workDir, 'roadie');
  await mkdir(runDir, { recursive: true });
  const { credentials } = options.fake;
  const env = {
    ...process.env,
    OKTA_ORG_URL: credentials.oktaUrl,
    OKTA_CLIENT_ID: credentials.clientId,
    OKTA_KEY_ID: credentials.keyId,
    OKTA_PRIVATE_KEY: credentials.privateKey,
  };

  const command = [process.execPath, options.harness];
  const run = await measure({ ...options, runDir, command, env });
  const result = JSON.parse(run.stdout);
  return {
    ...run,
    syncSeconds: result.durationMs / 1000,
    emitted: { users: result.users, groups: result.groups, memberships: result.memberships },
    droppedGroups: result.droppedGroups,
  };
}

/**
 * Returns orgsync's config for the fake org. Built-in groups (Everyone) are
 * included because the Roadie provider reads every group. The timeout is
 * long enough for rate-limited runs of the largest org.
 */
export function orgsyncConfig(credentials, runDir, share) {
  const pem = credentials.privateKey
    .trimEnd()
    .split('\n')
    .map((line) => `          ${line}`)
    .join('\n');
  return `backend:
  database:
    client: sqlite
    connection: ${JSON.stringify(path.join(runDir, 'catalog.sqlite'))}
catalog:
  providers:
    okta:
      bench:
        oktaUrl: ${credentials.oktaUrl}
        clientId: ${credentials.clientId}
        keyId: ${credentials.keyId}
        privateKey: |
${pem}
        includeBuiltInGroups: true
        rateLimitShare: ${share}
        schedule:
          frequency: { hours: 4 }
          timeout: { hours: 3 }
`;
}

/**
 * Runs `command` under GNU time after resetting fake-okta's counters, and
 * returns wall time, CPU time, peak RSS, request counts and samples.
 */
async function measure({ command, env, runDir, fake, timeBinary }) {
  await fake.reset();
  const timePath = path.join(runDir, 'time.txt');
  const sampler = startSampling(fake);

  const { code, stdout } = await runProcess(
    timeBinary,
    ['-f', TIME_FORMAT, '-o', timePath, ...command],
    env,
    path.join(runDir, 'stderr.log'),
  );
  const samples = await sampler.stop();
  if (code !== 0) {
    throw new Error(`${command.join(' ')} exited with ${code}; see ${runDir}/stderr.log`);
  }

  const counts = await fake.requestCounts();
  return {
    ...parseTime(await readFile(timePath, 'utf8')),
    calls: callsByEndpoint(counts),
    tooManyRequests: countStatus(counts, '429'),
    samples,
    stdout,
  };
}

/** Parses GNU time's line `%e %M %U %S` into seconds and MiB. */
export function parseTime(text) {
  const line = text.trim().split('\n').at(-1);
  const [wall, maxRssKib, user, system] = line.split(/\s+/).map(Number);
  if ([wall, maxRssKib, user, system].some(Number.isNaN)) {
    throw new Error(`could not read GNU time's output ${JSON.stringify(text)}`);
  }
  return { wallSeconds: wall, peakRssMib: maxRssKib / 1024, cpuSeconds: user + system };
}

/**
 * Returns calls per endpoint name (token, users, groups, members, other)
 * from fake-okta's request counts, every status included.
 */
export function callsByEndpoint(counts) {
  const calls = { total: counts.total };
  let known = 0;
  for (const { key, name } of ENDPOINTS) {
    const statuses = counts.endpoints[key] ?? {};
    calls[name] = Object.values(statuses).reduce((sum, count) => sum + count, 0);
    known += calls[name];
  }
  calls.other = counts.total - known;
  return calls;
}

function countStatus(counts, status) {
  return Object.values(counts.endpoints).reduce(
    (sum, statuses) => sum + (statuses[status] ?? 0),
    0,
  );
}

/**
 * Samples the groups bucket's request count until stopped, for the check
 * of calls per rate-limit window.
 */
function startSampling(fake) {
  const started = Date.now();
  const samples = [{ seconds: 0, count: 0 }];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const counts = await fake.requestCounts();
      const calls = callsByEndpoint(counts);
      samples.push({ seconds: (Date.now() - started) / 1000, count: calls.groups + calls.members });
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

function runProcess(binary, args, env, stderrPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      env: env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.pipe(createWriteStream(stderrPath));
    child.once('error', (error) =>
      reject(new Error(`could not start ${binary}: ${error.message}`)),
    );
    child.once('close', (code) =>
      resolve({ code, stdout: Buffer.concat(chunks).toString('utf8') }),
    );
  });
}
