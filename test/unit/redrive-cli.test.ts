/** Usage of the redrive, reconcile and report commands: clear errors (exit 2) before anything touches AWS. */
import { describe, expect, it } from 'vitest';
import type { Output } from '../../cli/io';
import { main } from '../../cli/main';

async function run(...argv: string[]) {
  const errors: string[] = [];
  const out: Output = { line: () => undefined, error: (m) => errors.push(m) };
  return { code: await main(argv, out), errors };
}

describe('operations commands refuse bad usage', () => {
  it('redrive needs a known connector and a rate SQS accepts', async () => {
    expect(await run('redrive')).toMatchObject({ code: 2, errors: [expect.stringMatching(/usage: marketbridge redrive --connector NAME[\s\S]*klaviyo/)] });
    expect((await run('redrive', '--connector', 'mailchimp')).code).toBe(2);
    expect(await run('redrive', '--connector', 'klaviyo', '--max-per-second', '501')).toMatchObject({ code: 2, errors: [expect.stringMatching(/1 to 500/)] });
  });

  it('reconcile needs a marketplace and a start date it can read', async () => {
    expect(await run('reconcile', '--marketplace', 'debenhams')).toMatchObject({ code: 2, errors: [expect.stringMatching(/--marketplace and --since are required/)] });
    expect(await run('reconcile', '--marketplace', 'nowhere', '--since', '2026-11-01')).toMatchObject({ code: 2, errors: [expect.stringMatching(/unknown marketplace "nowhere"/)] });
    expect(await run('reconcile', '--marketplace', 'debenhams', '--since', 'last tuesday')).toMatchObject({ code: 2, errors: [expect.stringMatching(/--since must be a date/)] });
  });

  it('report needs --week, and exceptions an action', async () => {
    expect(await run('report')).toMatchObject({ code: 2, errors: [expect.stringMatching(/usage: marketbridge report --week/)] });
    expect(await run('exceptions', 'purge')).toMatchObject({ code: 2, errors: [expect.stringMatching(/usage: marketbridge exceptions list/)] });
  });
});
