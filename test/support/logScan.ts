/**
 * Global setup of the suite: starts with an empty capture folder and, when every test has run, scans all the
 * captured log output for the personal data the tests fed in. Any finding fails the run, naming the kind and the
 * masked line, never the data itself.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findPersonalData } from './personalData';

export const LOG_CAPTURE_DIR = resolve(__dirname, '../../.marketbridge/test-logs');

export function setup(): void {
  rmSync(LOG_CAPTURE_DIR, { recursive: true, force: true });
  mkdirSync(LOG_CAPTURE_DIR, { recursive: true });
}

export function teardown(): void {
  const files = readdirSync(LOG_CAPTURE_DIR).filter((name) => name.endsWith('.log'));
  const findings = files.flatMap((name) => findPersonalData(readFileSync(join(LOG_CAPTURE_DIR, name), 'utf8'), name));
  if (findings.length > 0) {
    const shown = findings.slice(0, 20).map((f) => `  ${f.kind} in ${f.source}: ${f.line}`);
    process.stderr.write(`\nFAIL personal-data scan: personal data reached the logs (${findings.length} line(s)):\n${shown.join('\n')}\n`);
    // vitest reports but does not fail on a teardown error, so the exit code carries the verdict.
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`personal-data scan: ${files.length} worker log(s), no e-mail, phone, name or address found\n`);
}
