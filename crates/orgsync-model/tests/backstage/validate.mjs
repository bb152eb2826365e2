// Validates entities exported by orgsync with Backstage's own
// @backstage/catalog-model: the envelope policies the catalog applies by
// default and the User and Group kind validators.
//
// Input on stdin: a JSON array of entities, or one entity per line.
// Output: one line per problem on stdout, a summary on stderr.
// Exit status: 0 when every entity is valid, 1 when any is not, 2 when the
// input cannot be read.
//
// Beyond single entities, the set as a whole is checked: entity refs are
// unique (case-insensitively, as the catalog compares them) and every ref in
// spec.memberOf, spec.members, spec.children and spec.parent names an
// entity in the set. Pass --allow-dangling to skip the second check for a
// partial export.

import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  groupEntityV1alpha1Validator,
  parseEntityRef,
  stringifyEntityRef,
  userEntityV1alpha1Validator,
} from '@backstage/catalog-model';

const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

const kindValidators = [userEntityV1alpha1Validator, groupEntityV1alpha1Validator];

// Reference fields, with the kind a bare name in them defaults to.
const refFields = {
  User: [['memberOf', 'Group']],
  Group: [
    ['members', 'User'],
    ['children', 'Group'],
    ['parent', 'Group'],
  ],
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseEntities(text) {
  const trimmed = text.trim();
  if (trimmed === '') {
    return [];
  }
  if (trimmed.startsWith('[')) {
    return JSON.parse(trimmed);
  }
  return trimmed
    .split('\n')
    .filter(line => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line);
      } catch (error) {
        throw new Error(`line ${index + 1} is not valid JSON: ${error.message}`);
      }
    });
}

function describe(entity, index) {
  try {
    return `#${index} ${stringifyEntityRef(entity)}`;
  } catch {
    return `#${index}`;
  }
}

async function validateEntity(entity) {
  const problems = [];
  let enforced = entity;
  try {
    enforced = await policy.enforce(entity);
  } catch (error) {
    problems.push(error.message);
    return problems;
  }

  let matched = false;
  for (const validator of kindValidators) {
    try {
      matched = (await validator.check(enforced)) || matched;
    } catch (error) {
      matched = true;
      problems.push(error.message);
    }
  }
  if (!matched) {
    problems.push(`kind ${JSON.stringify(entity.kind)} is neither User nor Group`);
  }
  return problems;
}

function refsOf(entity) {
  const fields = refFields[entity.kind] ?? [];
  const refs = [];
  for (const [field, defaultKind] of fields) {
    const value = entity.spec?.[field];
    if (value === undefined) {
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    for (const text of values) {
      refs.push({ field, text, defaultKind });
    }
  }
  return refs;
}

function checkSet(entities, allowDangling, report) {
  const known = new Map();
  entities.forEach((entity, index) => {
    let key;
    try {
      key = stringifyEntityRef(entity).toLocaleLowerCase('en-US');
    } catch {
      return;
    }
    if (known.has(key)) {
      report(describe(entity, index), `duplicate entity ref, also entity #${known.get(key)}`);
    } else {
      known.set(key, index);
    }
  });

  entities.forEach((entity, index) => {
    for (const { field, text, defaultKind } of refsOf(entity)) {
      let target;
      try {
        const ref = parseEntityRef(text, {
          defaultKind,
          defaultNamespace: entity.metadata?.namespace ?? 'default',
        });
        target = stringifyEntityRef(ref).toLocaleLowerCase('en-US');
      } catch (error) {
        report(describe(entity, index), `spec.${field} entry ${JSON.stringify(text)}: ${error.message}`);
        continue;
      }
      if (!allowDangling && !known.has(target)) {
        report(describe(entity, index), `spec.${field} entry ${JSON.stringify(text)} names no entity in the set`);
      }
    }
  });
}

async function main() {
  const allowDangling = process.argv.includes('--allow-dangling');

  let entities;
  try {
    entities = parseEntities(await readStdin());
  } catch (error) {
    console.error(`cannot read entities from stdin: ${error.message}`);
    return 2;
  }
  if (!Array.isArray(entities)) {
    console.error('cannot read entities from stdin: expected a JSON array or JSON lines');
    return 2;
  }

  let errorCount = 0;
  const report = (where, message) => {
    errorCount += 1;
    console.log(`${where}: ${message}`);
  };

  for (const [index, entity] of entities.entries()) {
    for (const problem of await validateEntity(entity)) {
      report(describe(entity, index), problem);
    }
  }
  checkSet(entities, allowDangling, report);

  console.error(`validated ${entities.length} entities, ${errorCount} errors`);
  return errorCount === 0 ? 0 : 1;
}

process.exitCode = await main();
