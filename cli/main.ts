/** `marketbridge <command>`: dispatches to the command modules and turns their errors into clear exits. */
import { ConfigError } from '../functions/shared/config';
import { backfill } from './backfill';
import { erase } from './erase';
import { exceptions } from './exceptions';
import { type Output, processOutput, UsageError } from './io';
import { mappings } from './mappings';
import { plan } from './plan';
import { reconcile } from './reconcile';
import { redrive } from './redrive';
import { report } from './report';
import { stock } from './stock';

const COMMANDS: Record<string, (args: string[], out: Output) => Promise<number>> = {
  backfill,
  erase,
  plan,
  mappings,
  stock,
  exceptions,
  reconcile,
  redrive,
  report,
};

const USAGE = `usage: marketbridge <command> [options]
commands:
  backfill history load: --marketplace ID --from DATE [--to DATE] [--connectors …], resumable, Ctrl-C stops
  erase    erase a buyer: --marketplace ID --customer ID (every enabled destination and our own tables)
  plan     dry run: OR11 responses in, normalised events, downstream requests and exceptions out (JSON lines)
  mappings SKU map and carrier map: sku|carrier list|set|import --marketplace ID
  stock    stock diff --marketplace ID: Mirakl offer quantities against SFCC available-to-sell
  exceptions list|retry|resolve: the exception inbox (owners, retry through the normal path, resolve with a note)
  reconcile --marketplace ID --since DATE: Mirakl orders against what each destination received
  redrive  [--stack STACK] --connector NAME [--max-per-second N]: move a connector's DLQ back to its queue, following the move
  report   --week [--stack STACK]: the weekly health report for the business teams`;

export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === '--help' || command === 'help') {
    out.error(USAGE);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    out.error(`marketbridge: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  try {
    return await run(args, out);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      out.error(`marketbridge ${command}: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      out.error(`marketbridge ${command}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
