/** Small shared pieces of the CLI: reading input, printing JSON lines, failing with a clear message. */
import { readFileSync } from 'node:fs';

export class UsageError extends Error {}

export async function readInput(file: string | undefined, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if (file && file !== '-') {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export interface Output {
  line(value: unknown): void;
  error(message: string): void;
  /** Human-readable stdout (tables, reports); commands without it print JSON lines only. */
  text?(message: string): void;
}

export const processOutput: Output = {
  line: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
  error: (message) => process.stderr.write(`${message}\n`),
  text: (message) => process.stdout.write(`${message}\n`),
};

/** Prints text where the output takes it, else as a JSON line. */
export function printText(out: Output, message: string): void {
  if (out.text) out.text(message);
  else out.line(message);
}
