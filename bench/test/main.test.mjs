// Tests of the command line and of merging saved results.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { mergeResults, parseOptions } from '../lib/main.mjs';

function scenario(label, limits, wallSeconds) {
  return { size: { label }, limits, orgsync: { wallSeconds } };
}

test('smoke runs 1k without limits', () => {
  const options = parseOptions(['--smoke']);

  assert.deepEqual(
    options.sizes.map((size) => size.label),
    ['1k'],
  );
  assert.deepEqual(options.limits, ['none']);
  assert.deepEqual(options.tools, ['orgsync', 'roadie']);
  assert.equal(options.writeDocs, false);
});

test('quick runs 1k and 10k', () => {
  const options = parseOptions(['--quick']);

  assert.deepEqual(
    options.sizes.map((size) => size.label),
    ['1k', '10k'],
  );
  assert.deepEqual(options.limits, ['none', 'workforce']);
});

test('unknown size is rejected', () => {
  assert.throws(() => parseOptions(['--sizes', '1k,50k']), /--sizes "1k,50k": use items from/);
});

test('share above one is rejected', () => {
  assert.throws(() => parseOptions(['--share', '50']), /--share "50": expected a number/);
});

test('merge replaces same scenario', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-test-'));
  const file = path.join(dir, 'results.json');
  try {
    await mergeResults(file, [scenario('10k', 'none', 1), scenario('100k', 'none', 2)]);

    const merged = await mergeResults(file, [
      scenario('10k', 'none', 3),
      scenario('1k', 'workforce', 4),
    ]);

    assert.deepEqual(
      merged.map((item) => [item.size.label, item.limits, item.orgsync.wallSeconds]),
      [
        ['1k', 'workforce', 4],
        ['10k', 'none', 3],
        ['100k', 'none', 2],
      ],
    );
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), merged);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('report only needs results', () => {
  assert.throws(() => parseOptions(['--report-only']), /--report-only needs --results FILE/);
});
