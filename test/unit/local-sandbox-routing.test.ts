import { describe, expect, it } from 'vitest';
import { servedBySandbox } from '../../local/runtime';

describe('which marketplaces the local runtime serves from its sandbox', () => {
  it.each([
    ['http://127.0.0.1:4010/debenhams', true],
    ['http://localhost:4010/x', true],
    ['http://[::1]:4010/x', true],
    ['https://debenhams.mirakl.net', false],
    ['https://127.0.0.1.example.com', false],
  ])('%s → sandbox: %s', (url, expected) => {
    expect(servedBySandbox(url)).toBe(expected);
  });
});
