/**
 * The call-frequency table says what Mirakl's seller OpenAPI says: each operation's "Maximum usage" text is read
 * from the spec and turned into an interval, so a spec update that changes a limit fails here.
 */
import { expect, it } from 'vitest';
import { type GuardedOperation, minIntervalMs } from '../../functions/shared/mirakl/callFrequency';
import { type OpenApiSpec, describeWithSpec } from '../support/openapi';

const SPEC = 'mirakl/mirakl-mmp-seller-openapi.json';

function descriptionOf(spec: OpenApiSpec, operationId: string): string {
  const paths = spec.doc.paths as Record<string, Record<string, { operationId?: string; description?: string }>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) if (op?.operationId === operationId) return op.description ?? '';
  }
  throw new Error(`${operationId} not in the spec`);
}

/** "Maximum usage" blocks, as plain text, one per persona (OR11 has two: Default, then External Partner). */
function maximumUsage(description: string): string[] {
  return [...description.matchAll(/<div class="max-call-frequency">([\s\S]*?)<\/div>/g)].map((m) =>
    m[1]!
      .replace(/<br\/?>/g, '\n')
      .replace(/<[^>]+>/g, '')
      .replace(/^\s*Maximum usage:\s*/i, '')
      .trim(),
  );
}

/** The asynchronous/differential line, or the whole text when the block has one line. */
function relevantLine(text: string, variant: 'differential' | 'full'): string {
  const lines = text.split('\n').map((l) => l.replace(/^-\s*/, '').trim());
  const labelled = lines.find((l) =>
    variant === 'full' ? /^Full:/i.test(l) : /^(Asynchronous|Differential):/i.test(l),
  );
  return labelled ?? lines.join(' ');
}

const UNITS: Record<string, number> = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Mirakl's phrasings: "once per minute", "every 15 minutes", "once every 15 seconds", "every 24 hours". */
function intervalMs(phrase: string): number | 'per-resource' {
  if (/^(\w+:\s*)?(at each|each time|once per file url)/i.test(phrase)) return 'per-resource';
  const once = /once per (second|minute|hour|day)/i.exec(phrase);
  if (once) return UNITS[once[1]!.toLowerCase()]!;
  const every = /every (\d+) (second|minute|hour|day)s?/i.exec(phrase);
  if (every) return Number(every[1]) * UNITS[every[2]!.toLowerCase()]!;
  throw new Error(`unrecognised call frequency: ${phrase}`);
}

const ours = (op: GuardedOperation, persona: 'default' | 'external-partner' = 'default') =>
  minIntervalMs(op, persona) ?? 'per-resource';

describeWithSpec(SPEC, 'contract: Mirakl call-frequency table matches the seller OpenAPI', (spec) => {
  it.each<[GuardedOperation, string, 'differential' | 'full']>([
    ['OR13', 'OR13', 'differential'],
    ['OR13:full', 'OR13', 'full'],
    ['OR14', 'OR14', 'differential'],
    ['OR15', 'OR15', 'differential'],
    ['OR21', 'OR21', 'differential'],
    ['OR23', 'OR23', 'differential'],
    ['OR24', 'OR24', 'differential'],
    ['SH21', 'SH21', 'differential'],
    ['STO01', 'STO01', 'differential'],
    ['STO02', 'STO02', 'differential'],
    ['STO03', 'STO03', 'differential'],
    ['OF52', 'OF52', 'differential'],
    ['OF52:full', 'OF52', 'full'],
  ])('%s matches "Maximum usage" of %s', (operation, operationId, variant) => {
    const blocks = maximumUsage(descriptionOf(spec, operationId));
    expect(blocks).toHaveLength(1);
    expect(ours(operation)).toBe(intervalMs(relevantLine(blocks[0]!, variant)));
  });

  it('OR11 has a Default and an External Partner maximum, and we use both', () => {
    const description = descriptionOf(spec, 'OR11');
    const blocks = maximumUsage(description);
    expect(blocks).toHaveLength(2);
    expect(description.indexOf('Default:')).toBeLessThan(description.indexOf('External Partner:'));
    expect(ours('OR11', 'default')).toBe(intervalMs(relevantLine(blocks[0]!, 'differential')));
    expect(ours('OR11', 'external-partner')).toBe(intervalMs(relevantLine(blocks[1]!, 'differential')));
  });

  it('PC01 publishes no maximum (our daily limit is our own choice)', () => {
    expect(maximumUsage(descriptionOf(spec, 'PC01'))).toEqual([]);
  });
});
