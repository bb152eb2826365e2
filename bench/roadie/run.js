// Runs the Roadie Okta provider (`OktaOrgEntityProvider` from
// @roadiehq/catalog-backend-module-okta) once against an Okta org and prints
// what it emitted as one JSON object on standard output:
//
//   {"users": N, "groups": N, "memberships": N, "entities": N,
//    "droppedGroups": N, "warnings": N, "durationMs": N}
//
// The provider gets an in-memory entity connection whose `applyMutation`
// keeps the entities of its full mutation, so no Backstage backend or
// database runs. `durationMs` covers the provider's `run()` only, without
// Node's start-up and module loading.
//
// Settings come from the environment:
//   OKTA_ORG_URL       base URL of the org, such as http://127.0.0.1:8080
//   OKTA_CLIENT_ID     client id of a service app with private_key_jwt
//   OKTA_KEY_ID        kid of the app's public key
//   OKTA_PRIVATE_KEY   the app's private key, PEM
//   ROADIE_LOG         "info" to copy the provider's log lines to standard
//                      error; warnings are always copied
'use strict';

const { ConfigReader } = require('@backstage/config');
const { OktaOrgEntityProvider } = require('@roadiehq/catalog-backend-module-okta');

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`environment variable ${name} is missing; set it to run this harness`);
    process.exit(2);
  }
  return value;
}

// A logger with the methods of Backstage's LoggerService. It counts warnings,
// and the lines with which the provider reports a group it dropped.
function createLogger(stats) {
  const verbose = process.env.ROADIE_LOG === 'info';
  const logger = {
    error: (message) => console.error(`roadie error: ${message}`),
    warn: (message) => {
      stats.warnings += 1;
      console.error(`roadie warn: ${message}`);
    },
    info: (message) => {
      // The provider (version 1.4.1) logs a group whose member listing
      // failed at info level, as the error's message. Its other info lines
      // start with the words matched here.
      if (!/^(Providing|Finished providing|Found \d+ groups)/.test(message)) {
        stats.droppedGroups += 1;
        console.error(`roadie dropped a group: ${message}`);
      } else if (verbose) {
        console.error(`roadie info: ${message}`);
      }
    },
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

function countEmitted(entities) {
  const counts = { users: 0, groups: 0, memberships: 0 };
  for (const { entity } of entities) {
    if (entity.kind === 'User') {
      counts.users += 1;
    } else if (entity.kind === 'Group') {
      counts.groups += 1;
      counts.memberships += entity.spec.members.length;
    }
  }
  return counts;
}

async function main() {
  const config = new ConfigReader({
    orgUrl: requiredEnv('OKTA_ORG_URL'),
    oauth: {
      clientId: requiredEnv('OKTA_CLIENT_ID'),
      keyId: requiredEnv('OKTA_KEY_ID'),
      privateKey: requiredEnv('OKTA_PRIVATE_KEY'),
    },
  });
  const stats = { warnings: 0, droppedGroups: 0 };

  // Empty groups are kept, as orgsync keeps them by default, so both tools
  // emit the same groups. Names use the module's default strategy (the Okta
  // id), which cannot collide and so drops no user.
  const provider = OktaOrgEntityProvider.fromConfig(config, {
    logger: createLogger(stats),
    includeEmptyGroups: true,
  });

  let emitted = [];
  await provider.connect({
    applyMutation: async (mutation) => {
      emitted = mutation.entities;
    },
    refresh: async () => {},
  });

  const started = process.hrtime.bigint();
  await provider.run();
  const durationMs = Number((process.hrtime.bigint() - started) / 1000000n);

  const result = {
    ...countEmitted(emitted),
    entities: emitted.length,
    ...stats,
    durationMs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  console.error(`the Roadie Okta provider failed: ${error.stack || error}`);
  process.exit(1);
});
