// Starts fake-okta for one benchmark org and talks to its `/_fake/` control
// API: request counts, counter resets, and the org's group sizes.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** How long fake-okta may take to generate its org and start listening. */
const START_TIMEOUT_MS = 10 * 60 * 1000;

/** The client id of the SSWS client that reads the org's group sizes. */
const FLOOR_CLIENT_ID = 'bench-floor-reader';

/** A running fake-okta process and its generated client credentials. */
export class FakeOkta {
  constructor(child, baseUrl, credentials) {
    this.child = child;
    this.baseUrl = baseUrl;
    this.credentials = credentials;
  }

  /**
   * Starts fake-okta with a generated org and waits until it listens.
   * `options` are `{ binary, users, groups, seed, rateLimits, latencyMs,
   * workDir }`; its log goes to `workDir/fake-okta.log`.
   */
  static async start(options) {
    const credentialsPath = path.join(options.workDir, 'fake-okta-credentials.yaml');
    const args = [
      '--port',
      '0',
      '--users',
      String(options.users),
      '--groups',
      String(options.groups),
      '--seed',
      String(options.seed),
      '--rate-limits',
      options.rateLimits,
      '--latency-ms',
      String(options.latencyMs),
      '--credentials-out',
      credentialsPath,
    ];
    const child = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.pipe(createWriteStream(path.join(options.workDir, 'fake-okta.log')));

    const baseUrl = await waitForListening(child, options.binary);
    const credentials = parseCredentials(await readFile(credentialsPath, 'utf8'));
    return new FakeOkta(child, baseUrl, credentials);
  }

  /** Stops the process with SIGTERM and waits for it to exit. */
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return;
    }
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }

  /**
   * Zeroes the request counts, the rate-limit windows and the fault
   * sequence, so that the next run starts from a fresh minute.
   */
  async reset() {
    await this.control('POST', '/_fake/reset');
  }

  /**
   * Returns the request counts since the last reset:
   * `{ total, endpoints: { "GET /api/v1/users": { "200": n } } }`.
   */
  async requestCounts() {
    return this.control('GET', '/_fake/requests');
  }

  /**
   * Returns the number of listed users and the member count of every
   * group, as the call floor needs them. Latency and rate limits are off
   * while it reads, and counts are reset afterwards.
   */
  async orgShape() {
    const faults = await this.control('GET', '/_fake/faults');
    const limits = await this.control('GET', '/_fake/limits');
    await this.control('PUT', '/_fake/faults', { ...faults, latency: { kind: 'none' } });
    await this.control('PUT', '/_fake/limits', { ...limits, enabled: false });
    try {
      const token = await this.registerReader();
      const users = await this.listAll('/api/v1/users?limit=200', token);
      const groups = await this.listAll('/api/v1/groups?limit=10000&expand=stats', token);
      return {
        users: users.length,
        groupMemberCounts: groups.map((group) => group._embedded?.stats?.usersCount ?? 0),
      };
    } finally {
      await this.control('PUT', '/_fake/faults', faults);
      await this.control('PUT', '/_fake/limits', limits);
      await this.control('DELETE', `/_fake/clients/${FLOOR_CLIENT_ID}`);
      await this.reset();
    }
  }

  /** Registers a client with a fresh SSWS token and returns the token. */
  async registerReader() {
    const token = randomBytes(24).toString('hex');
    await this.control('PUT', `/_fake/clients/${FLOOR_CLIENT_ID}`, {
      scopes: ['okta.users.read', 'okta.groups.read'],
      api_tokens: [token],
    });
    return token;
  }

  /** Follows `rel="next"` links from `first` and returns every item. */
  async listAll(first, token) {
    const items = [];
    let url = new URL(first, this.baseUrl);
    while (url) {
      const response = await fetch(url, { headers: { Authorization: `SSWS ${token}` } });
      if (!response.ok) {
        throw new Error(`GET ${url} returned ${response.status}: ${await response.text()}`);
      }
      items.push(...(await response.json()));
      url = nextLink(response.headers.get('link'));
    }
    return items;
  }

  /** Sends a control API request and returns its JSON body, if any. */
  async control(method, pathname, body) {
    const init = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const response = await fetch(new URL(pathname, this.baseUrl), init);
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`fake-okta ${method} ${pathname} returned ${response.status}: ${text}`);
    }
    return text ? JSON.parse(text) : null;
  }
}

/**
 * Returns the URL of the `rel="next"` link in a `Link` header value, in
 * which fetch joins several `Link` headers with ", ".
 */
export function nextLink(header) {
  const match = /<([^>]+)>\s*;\s*rel="next"/.exec(header ?? '');
  return match ? new URL(match[1]) : null;
}

/**
 * Parses the YAML that `fake-okta --credentials-out` writes: `oktaUrl`,
 * `clientId` and `keyId` on one line each, then `privateKey: |` and the
 * PEM indented by two spaces.
 */
export function parseCredentials(yaml) {
  const credentials = {};
  const lines = yaml.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const match = /^(\w+): ?(.*)$/.exec(lines[index]);
    if (!match) {
      continue;
    }
    const [, key, value] = match;
    if (value === '|') {
      const block = [];
      while (index + 1 < lines.length && lines[index + 1].startsWith('  ')) {
        index += 1;
        block.push(lines[index].slice(2));
      }
      credentials[key] = `${block.join('\n')}\n`;
    } else {
      credentials[key] = value;
    }
  }
  for (const key of ['oktaUrl', 'clientId', 'keyId', 'privateKey']) {
    if (!credentials[key]) {
      throw new Error(`fake-okta's credentials file has no ${key}; is fake-okta up to date?`);
    }
  }
  return credentials;
}

function waitForListening(child, binary) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${binary} did not start listening within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /^fake-okta listening on (\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${binary} exited (${signal ?? code}) before listening; see fake-okta.log`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${binary}: ${error.message}`));
    });
  });
}
