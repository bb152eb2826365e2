// Benchmark driver: for each org size and rate-limit setting, starts
// fake-okta, computes the org's floors, runs orgsync and the Roadie provider
// once each, then prints two tables (orgsync against the floors, and orgsync
// next to Roadie) and writes them to the `sync` and `roadie` sections of
// docs/benchmarks.md.
//
// `bench/run` builds the binaries, installs the harness and then runs this
// with the environment variables BENCH_REPO (the repository),
// BENCH_ORGSYNC and BENCH_FAKE_OKTA (the release binaries),
// BENCH_ROADIE_HARNESS (bench/roadie/run.js), BENCH_TIME (GNU time) and
// BENCH_COMMAND (the command line recorded in the docs).

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { FakeOkta } from './fake.mjs';
import { callFloor, rateLimitFloor, WORKFORCE_LIMITS } from './floor.mjs';
import { writeSections } from './report.mjs';
import { describeRun, roadieSection, syncSection } from './sections.mjs';
import { runOrgsync, runRoadie } from './tools.mjs';

/** The benchmark orgs: users, and groups besides Everyone. */
export const SIZES = Object.freeze({
  '1k': { label: '1k', users: 1_000, groups: 200 },
  '10k': { label: '10k', users: 10_000, groups: 1_000 },
  '100k': { label: '100k', users: 100_000, groups: 5_000 },
});

const USAGE = `Usage: bench/run [options]

Syncs generated fake-okta orgs with orgsync and with the Roadie Okta
provider, and prints wall time, CPU time, peak RSS and API calls of each.

Options:
  --sizes LIST      org sizes, comma-separated, from 1k, 10k, 100k
                    [default: 1k,10k,100k]
  --limits LIST     rate limits, comma-separated: none, workforce
                    [default: none,workforce]
  --tools LIST      orgsync, roadie [default: orgsync,roadie]
  --quick           same as --sizes 1k,10k
  --smoke           1k users, no rate limits, both tools; writes no docs
  --latency-ms N    delay fake-okta adds to every API request [default: 20]
  --share X         orgsync's rateLimitShare, 0 to 1 [default: 0.5]
  --seed N          seed of the generated orgs [default: 1]
  --no-docs         print the table only; leave docs/benchmarks.md alone
  --keep            keep the work folder with configs and logs
  --results FILE    also keep the results in this JSON file: scenarios
                    measured now replace those of the same size and
                    limits, and the tables show every scenario in it
  --report-only     measure nothing; print and write the tables of the
                    scenarios in the --results file
  -h, --help        print this help`;

/** Parses and checks the command line. Exits with a message on bad input. */
export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '1k,10k,100k' },
      limits: { type: 'string', default: 'none,workforce' },
      tools: { type: 'string', default: 'orgsync,roadie' },
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      'latency-ms': { type: 'string', default: '20' },
      share: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '1' },
      'no-docs': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      results: { type: 'string' },
      'report-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values['report-only'] && !values.results) {
    throw new UsageError('--report-only needs --results FILE with saved results');
  }
  if (values.smoke) {
    Object.assign(values, {
      sizes: '1k',
      limits: 'none',
      tools: 'orgsync,roadie',
      'no-docs': true,
    });
  } else if (values.quick) {
    values.sizes = '1k,10k';
  }
  return {
    help: values.help,
    sizes: pickList('--sizes', values.sizes, Object.keys(SIZES)).map((name) => SIZES[name]),
    limits: pickList('--limits', values.limits, ['none', 'workforce']),
    tools: pickList('--tools', values.tools, ['orgsync', 'roadie']),
    latencyMs: parseNumber('--latency-ms', values['latency-ms'], 0, 60_000),
    share: parseNumber('--share', values.share, Number.MIN_VALUE, 1),
    seed: parseNumber('--seed', values.seed, 0, Number.MAX_SAFE_INTEGER),
    writeDocs: !values['no-docs'],
    keep: values.keep,
    resultsFile: values.results,
    reportOnly: values['report-only'],
  };
}

function pickList(option, text, known) {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const unknown = items.filter((item) => !known.includes(item));
  if (items.length === 0 || unknown.length > 0) {
    throw new UsageError(`${option} ${JSON.stringify(text)}: use items from ${known.join(', ')}`);
  }
  return known.filter((item) => items.includes(item));
}

function parseNumber(option, text, min, max) {
  const number = Number(text);
  if (!Number.isFinite(number) || number < min || number > max) {
    throw new UsageError(
      `${option} ${JSON.stringify(text)}: expected a number from ${min} to ${max}`,
    );
  }
  return number;
}

class UsageError extends Error {}

/**
 * Runs one scenario: starts fake-okta, computes the floors and runs each
 * tool. A tool that fails is recorded with its error so the others still
 * run.
 */
async function runScenario(options, size, limits, workDir) {
  const scenarioDir = await mkdtemp(path.join(workDir, `${size.label}-${limits}-`));
  log(`${size.label} users, limits ${limits}: starting fake-okta`);
  const fake = await FakeOkta.start({
    binary: options.fakeOktaBinary,
    users: size.users,
    groups: size.groups,
    seed: options.seed,
    rateLimits: limits,
    latencyMs: options.latencyMs,
    workDir: scenarioDir,
  });
  try {
    const floor = callFloor(await fake.orgShape());
    const scenario = {
      size,
      limits,
      share: options.share,
      floor,
      rateLimitFloor: rateLimitFloor(floor.byEndpoint, WORKFORCE_LIMITS, options.share),
    };
    log(`  call floor ${floor.total}, rate-limit floor ${scenario.rateLimitFloor.seconds} s`);
    for (const tool of options.tools) {
      scenario[tool] = await runTool(tool, options, fake, scenarioDir);
    }
    return scenario;
  } finally {
    await fake.stop();
  }
}

async function runTool(tool, options, fake, workDir) {
  log(`  running ${tool}`);
  const common = { fake, workDir, timeBinary: options.timeBinary };
  try {
    const run =
      tool === 'orgsync'
        ? await runOrgsync({ ...common, binary: options.orgsyncBinary, share: options.share })
        : await runRoadie({ ...common, harness: options.roadieHarness });
    log(
      `  ${tool}: ${run.wallSeconds} s, ${run.peakRssMib.toFixed(0)} MiB, ${run.calls.total} calls`,
    );
    return run;
  } catch (error) {
    log(`  ${tool} failed: ${error.message}`);
    return { error: error.message };
  }
}

/**
 * Runs every chosen scenario in a new work folder, which is removed
 * afterwards unless `--keep` is given. Each scenario records `run`.
 */
async function runScenarios(options, run) {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'orgsync-bench-'));
  const scenarios = [];
  try {
    for (const size of options.sizes) {
      for (const limits of options.limits) {
        const scenario = await runScenario(options, size, limits, workDir);
        scenarios.push({
          ...scenario,
          run: { command: run.command, date: run.date, versions: run.versions },
        });
      }
    }
  } finally {
    if (options.keep) {
      log(`work folder kept: ${workDir}`);
    } else {
      await rm(workDir, { recursive: true, force: true });
    }
  }
  return scenarios;
}

/**
 * Merges `measured` into the scenarios saved in `file` (a JSON array),
 * replacing those of the same size and limits, writes the result back and
 * returns it ordered by size, then limits.
 */
export async function mergeResults(file, measured) {
  let saved = [];
  try {
    saved = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error.code !== 'ENOENT') {
      throw new Error(`could not read the results file ${file}: ${error.message}`);
    }
  }
  const key = (scenario) => `${scenario.size.label} ${scenario.limits}`;
  const byKey = new Map(saved.map((scenario) => [key(scenario), scenario]));
  for (const scenario of measured) {
    byKey.set(key(scenario), scenario);
  }
  const order = (scenario) =>
    Object.keys(SIZES).indexOf(scenario.size.label) * 2 + (scenario.limits === 'none' ? 0 : 1);
  const merged = [...byKey.values()].sort((a, b) => order(a) - order(b));
  await writeFile(file, `${JSON.stringify(merged, null, 1)}\n`);
  return merged;
}

function log(message) {
  console.error(`bench: ${message}`);
}

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError) && error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw error;
    }
    console.error(`error: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  Object.assign(options, {
    orgsyncBinary: requiredEnv('BENCH_ORGSYNC'),
    fakeOktaBinary: requiredEnv('BENCH_FAKE_OKTA'),
    roadieHarness: requiredEnv('BENCH_ROADIE_HARNESS'),
    timeBinary: requiredEnv('BENCH_TIME'),
  });
  const repo = requiredEnv('BENCH_REPO');

  const run = await describeRun({
    repo,
    roadieDir: path.dirname(options.roadieHarness),
    command: process.env.BENCH_COMMAND ?? 'bench/run',
    options,
  });
  const measured = options.reportOnly ? [] : await runScenarios(options, run);
  const scenarios = options.resultsFile
    ? await mergeResults(options.resultsFile, measured)
    : measured;

  const sections = [
    { name: 'sync', body: syncSection(scenarios, run) },
    { name: 'roadie', body: roadieSection(scenarios, run) },
  ];
  for (const { body } of sections) {
    console.log(`${body}\n`);
  }
  if (options.writeDocs) {
    await writeSections(path.join(repo, 'docs/benchmarks.md'), sections);
    log('wrote the sync and roadie sections of docs/benchmarks.md');
  }
  const failed = measured.some((scenario) => options.tools.some((tool) => scenario[tool]?.error));
  process.exitCode = failed ? 1 : 0;
}

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`environment variable ${name} is missing; run the benchmark with bench/run`);
  }
  return value;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    console.error(`bench: ${error.stack ?? error}`);
    process.exit(1);
  });
}
