/** `npm start` as a process: banner, health endpoint, a clean exit 0 on SIGINT, and clear errors on bad input. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../local/connectors';

function start(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '', SANDBOX_PORT: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

// Never the repository's .marketbridge/: a developer's running `npm start` keeps its event log.
const dataDir = mkdtempSync(join(tmpdir(), 'marketbridge-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm start', () => {
  it('prints where to look, serves /api/health and stops cleanly on Ctrl-C with exit code 0', async () => {
    const run = start(['--random-ports', '--seed', '11', '--data-dir', dataDir]);
    await expect.poll(() => run.out(), { timeout: 20_000 }).toMatch(/Ctrl-C stops everything/);
    const consoleUrl = /Console \/ API\s+(\S+)/.exec(run.out())?.[1];
    expect(run.out()).toMatch(/Mirakl sandbox\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(run.out()).toMatch(/Event log\s+\S*events\.jsonl/);
    const health = await fetch(consoleUrl ?? '');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', poller: true });
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.out()).toMatch(/SIGINT: stopping/);
    expect(existsSync(join(dataDir, 'events.jsonl'))).toBe(true);
  });

  it('names the bad field of a broken --config file and exits non-zero', async () => {
    const run = start(['--config', 'package.json']);
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/Invalid configuration \(package\.json\)/);
    expect(run.err()).toMatch(/marketplaces/);
  });

  it('rejects an unknown option with the usage', async () => {
    const run = start(['--bogus']);
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/usage: npm start/);
  });
});
