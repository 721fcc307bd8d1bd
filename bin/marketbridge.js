#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so the same source serves the Lambdas, the local runtime and the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
