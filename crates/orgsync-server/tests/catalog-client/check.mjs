// Reads a running `orgsync serve` with Backstage's own CatalogClient and
// compares what it gets with the output of `orgsync export --format json`.
//
// Usage: node check.mjs <base-url> <export.json> [token]
//
// Every check runs even after one fails; the script prints one line per
// check and exits with 1 when any failed.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CatalogClient } from '@backstage/catalog-client';

const [baseUrl, exportPath, token] = process.argv.slice(2);
if (!baseUrl || !exportPath) {
  console.error('usage: node check.mjs <base-url> <export.json> [token]');
  process.exit(2);
}

const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async plugin => `${baseUrl}/api/${plugin}` },
  fetchApi: { fetch: globalThis.fetch },
});
const options = token ? { token } : undefined;
const exported = JSON.parse(await readFile(exportPath, 'utf8'));

const refOf = entity =>
  `${entity.kind}:${entity.metadata.namespace ?? 'default'}/${entity.metadata.name}`.toLowerCase();

// The export leaves out what the catalog assigns: uid, etag and relations.
function asExported(entity) {
  const copy = structuredClone(entity);
  delete copy.metadata.uid;
  delete copy.metadata.etag;
  delete copy.relations;
  return copy;
}

const byRef = entities => [...entities].sort((a, b) => refOf(a).localeCompare(refOf(b)));
const exportedOfKind = kind => byRef(exported.filter(entity => entity.kind === kind));

let failures = 0;
async function check(name, body) {
  try {
    await body();
    console.log(`ok - ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`not ok - ${name}`);
    console.log(`  ${String(error.stack ?? error).split('\n').join('\n  ')}`);
  }
}

// Follows nextCursor until the end, returning every item and the pages.
async function pageThrough(request) {
  const items = [];
  let pages = 0;
  let response = await client.queryEntities(request, options);
  const totalItems = response.totalItems;
  for (;;) {
    pages += 1;
    items.push(...response.items);
    const next = response.pageInfo.nextCursor;
    if (!next) break;
    response = await client.queryEntities({ cursor: next, limit: request.limit }, options);
  }
  return { items, pages, totalItems };
}

const paged = {};
for (const kind of ['User', 'Group']) {
  await check(`queryEntities pages through every ${kind} like the export`, async () => {
    const { items, pages, totalItems } = await pageThrough({
      filter: { kind },
      limit: 7,
      orderFields: { field: 'metadata.name', order: 'asc' },
    });
    const expected = exportedOfKind(kind);
    assert.ok(expected.length > 7, `the export has only ${expected.length} ${kind} entities`);
    assert.equal(totalItems, expected.length);
    assert.equal(pages, Math.ceil(expected.length / 7));
    assert.deepEqual(byRef(items).map(asExported), expected);
    paged[kind] = items;
  });
}

await check('entities carry uid, etag and relations', async () => {
  const all = [...(paged.User ?? []), ...(paged.Group ?? [])];
  assert.ok(all.length > 0);
  for (const entity of all) {
    assert.equal(typeof entity.metadata.uid, 'string', refOf(entity));
    assert.equal(typeof entity.metadata.etag, 'string', refOf(entity));
  }
  const members = (paged.User ?? []).filter(user => (user.spec.memberOf ?? []).length > 0);
  assert.ok(members.length > 0, 'no user belongs to a group');
  for (const user of members) {
    const targets = user.relations.filter(r => r.type === 'memberOf').map(r => r.targetRef);
    assert.ok(targets.length > 0, `${refOf(user)} has no memberOf relation`);
  }
});

await check('queryEntities prevCursor goes back a page', async () => {
  const first = await client.queryEntities({ filter: { kind: 'User' }, limit: 5 }, options);
  const second = await client.queryEntities({ cursor: first.pageInfo.nextCursor, limit: 5 }, options);
  assert.ok(second.pageInfo.prevCursor, 'the second page has no prevCursor');
  const back = await client.queryEntities({ cursor: second.pageInfo.prevCursor, limit: 5 }, options);
  assert.deepEqual(back.items.map(refOf), first.items.map(refOf));
});

await check('queryEntities fullTextFilter finds a user by display name', async () => {
  const user = exportedOfKind('User').find(candidate => candidate.spec.profile?.displayName);
  const term = user.spec.profile.displayName.toUpperCase();
  const response = await client.queryEntities(
    { filter: { kind: 'User' }, fullTextFilter: { term, fields: ['spec.profile.displayName'] } },
    options,
  );
  assert.ok(response.items.map(refOf).includes(refOf(user)));
});

await check('getEntityByRef returns the paged entity', async () => {
  for (const kind of ['User', 'Group']) {
    const expected = paged[kind][0];
    const entity = await client.getEntityByRef(refOf(expected), options);
    assert.deepEqual(entity, expected);
  }
});

await check('getEntityByRef of a missing entity is undefined', async () => {
  assert.equal(await client.getEntityByRef('user:default/no-such-user-here', options), undefined);
});

await check('getEntitiesByRefs keeps request order', async () => {
  const user = paged.User[1];
  const group = paged.Group[2];
  const response = await client.getEntitiesByRefs(
    { entityRefs: [refOf(group), 'user:default/no-such-user-here', refOf(user)] },
    options,
  );
  assert.deepEqual(response.items, [group, undefined, user]);
});

await check('getEntities (legacy) pages with offset and limit', async () => {
  const expected = exportedOfKind('Group');
  const first = await client.getEntities({ filter: { kind: 'Group' }, limit: 4, offset: 0 }, options);
  const rest = await client.getEntities({ filter: { kind: 'Group' }, offset: 4 }, options);
  assert.deepEqual([...first.items, ...rest.items].map(asExported), expected);
});

await check('getEntityFacets counts kinds and group types like the export', async () => {
  const response = await client.getEntityFacets({ facets: ['kind', 'spec.type'] }, options);
  const count = (values, value) => values.find(entry => entry.value === value)?.count ?? 0;
  assert.equal(count(response.facets.kind, 'User'), exportedOfKind('User').length);
  assert.equal(count(response.facets.kind, 'Group'), exportedOfKind('Group').length);
  const types = {};
  for (const group of exportedOfKind('Group')) {
    types[group.spec.type] = (types[group.spec.type] ?? 0) + 1;
  }
  for (const [type, expected] of Object.entries(types)) {
    assert.equal(count(response.facets['spec.type'], type), expected, `spec.type ${type}`);
  }
});

await check('getEntityFacets applies the filter', async () => {
  const response = await client.getEntityFacets(
    { facets: ['kind'], filter: { kind: 'Group' } },
    options,
  );
  assert.deepEqual(response.facets.kind, [{ value: 'Group', count: exportedOfKind('Group').length }]);
});

await check('an invalid cursor is a Backstage InputError', async () => {
  await assert.rejects(
    client.queryEntities({ cursor: 'not-a-cursor' }, options),
    error => error.name === 'ResponseError' && error.body?.error?.name === 'InputError',
  );
});

console.log(`${failures === 0 ? 'all' : failures} check(s) ${failures === 0 ? 'passed' : 'failed'}`);
process.exit(failures === 0 ? 0 : 1);
