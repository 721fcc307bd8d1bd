/** The operator guide stays in step with the code: every exception type has its owner and an action documented. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXCEPTION_TYPES } from '../../functions/shared/exceptions';

const guide = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

describe('docs/operations.md', () => {
  it('has a row per exception type with the owner and severity from the table of types', () => {
    for (const [type, { owner, severity }] of Object.entries(EXCEPTION_TYPES)) {
      expect(guide, type).toMatch(new RegExp(`\\| \`${type.replace('.', '\\.')}\` \\| ${owner} \\| ${severity} \\|`));
    }
  });
});
