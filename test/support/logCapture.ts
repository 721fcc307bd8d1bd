/**
 * Runs in every test worker before the tests: copies everything written to stdout/stderr or the console (where
 * the Powertools logger and the local runtime write) into a per-worker file, for the personal-data scan that runs
 * when the whole suite ends (test/support/logScan.ts).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import { LOG_CAPTURE_DIR } from './logScan';

mkdirSync(LOG_CAPTURE_DIR, { recursive: true });
const file = join(LOG_CAPTURE_DIR, `worker-${process.pid}.log`);
const keep = (text: string) => appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`);

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    keep(format(...args));
    original(...args);
  };
}
