import { describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { eventPatternFor } from '../../functions/shared/routes';
import { matchesPattern } from '../../local/pattern';

const event = (detailType: string, detail: Record<string, unknown>, source = 'marketbridge.mirakl') => ({
  version: '0',
  id: 'x',
  'detail-type': detailType,
  source,
  account: '000000000000',
  time: '2026-11-22T05:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail,
});

describe('event pattern matcher', () => {
  it('matches exact-value lists: OR within a field, AND across fields', () => {
    const pattern = { source: ['marketbridge.mirakl'], 'detail-type': ['Order Confirmed', 'Order Shipped'] };
    expect(matchesPattern(pattern, event('Order Confirmed', {}))).toBe(true);
    expect(matchesPattern(pattern, event('Order Shipped', {}))).toBe(true);
    expect(matchesPattern(pattern, event('Order Refused', {}))).toBe(false);
    expect(matchesPattern(pattern, event('Order Confirmed', {}, 'marketbridge.sfcc'))).toBe(false);
  });

  it('matches nested objects and fails when the nested field is missing or not an object', () => {
    const pattern = { detail: { marketplace: ['debenhams'], order: { state: ['SHIPPING'] } } };
    expect(matchesPattern(pattern, event('x', { marketplace: 'debenhams', order: { state: 'SHIPPING' } }))).toBe(true);
    expect(matchesPattern(pattern, event('x', { marketplace: 'decathlon', order: { state: 'SHIPPING' } }))).toBe(false);
    expect(matchesPattern(pattern, event('x', { marketplace: 'debenhams' }))).toBe(false);
    expect(matchesPattern(pattern, event('x', { marketplace: 'debenhams', order: 'SHIPPING' }))).toBe(false);
  });

  it('treats an array in the event as matching when any element matches', () => {
    expect(matchesPattern({ resources: ['arn:b'] }, { resources: ['arn:a', 'arn:b'] })).toBe(true);
    expect(matchesPattern({ resources: ['arn:c'] }, { resources: ['arn:a', 'arn:b'] })).toBe(false);
  });

  it('compares types strictly: the number 5 is not the string "5", null matches only null', () => {
    expect(matchesPattern({ n: [5] }, { n: 5 })).toBe(true);
    expect(matchesPattern({ n: [5] }, { n: '5' })).toBe(false);
    expect(matchesPattern({ n: [null] }, { n: null })).toBe(true);
    expect(matchesPattern({ n: [null] }, {})).toBe(false);
  });

  it('supports the content-filter operators', () => {
    expect(matchesPattern({ s: [{ prefix: 'Order ' }] }, { s: 'Order Shipped' })).toBe(true);
    expect(matchesPattern({ s: [{ prefix: { 'equals-ignore-case': 'order ' } }] }, { s: 'ORDER x' })).toBe(true);
    expect(matchesPattern({ s: [{ suffix: '.png' }] }, { s: 'a.jpg' })).toBe(false);
    expect(matchesPattern({ s: [{ 'equals-ignore-case': 'DEBENHAMS' }] }, { s: 'debenhams' })).toBe(true);
    expect(matchesPattern({ s: [{ wildcard: 'dir/*.png' }] }, { s: 'dir/a.png' })).toBe(true);
    expect(matchesPattern({ s: [{ wildcard: 'dir/*.png' }] }, { s: 'dir/a.jpg' })).toBe(false);
    expect(matchesPattern({ s: [{ 'anything-but': ['a', 'b'] }] }, { s: 'c' })).toBe(true);
    expect(matchesPattern({ s: [{ 'anything-but': 'a' }] }, { s: 'a' })).toBe(false);
    expect(matchesPattern({ s: [{ 'anything-but': { prefix: 'test-' } }] }, { s: 'test-1' })).toBe(false);
    expect(matchesPattern({ s: [{ 'anything-but': 'a' }] }, {})).toBe(false);
    expect(matchesPattern({ n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 5 })).toBe(true);
    expect(matchesPattern({ n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 6 })).toBe(false);
    expect(matchesPattern({ n: [{ numeric: ['>', 0] }] }, { n: '6' })).toBe(false);
    expect(matchesPattern({ s: [{ exists: true }] }, { s: 'x' })).toBe(true);
    expect(matchesPattern({ s: [{ exists: false }] }, {})).toBe(true);
    expect(matchesPattern({ s: [{ exists: false }] }, { s: 'x' })).toBe(false);
  });

  it('supports $or alongside other fields', () => {
    const pattern = { source: ['a'], $or: [{ x: ['1'] }, { y: ['2'] }] };
    expect(matchesPattern(pattern, { source: 'a', y: '2' })).toBe(true);
    expect(matchesPattern(pattern, { source: 'a', z: '3' })).toBe(false);
    expect(matchesPattern(pattern, { source: 'b', x: '1' })).toBe(false);
  });

  it('rejects malformed patterns and operators it does not implement instead of mis-routing', () => {
    expect(() => matchesPattern({ s: 'x' }, { s: 'x' })).toThrow(/array of matchers or an object/);
    expect(() => matchesPattern({ ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.1' })).toThrow(/cidr/);
  });

  it('routes like the stack: the patterns eventPatternFor builds for connectors', () => {
    const config = parseConfig({
      ...sandboxConfigInput,
      connectors: {
        klaviyo: { enabled: true, marketplaces: ['debenhams'] },
        'mirakl-stock': { enabled: true },
      },
    });
    const klaviyo = eventPatternFor(config, 'klaviyo');
    expect(matchesPattern(klaviyo, event('Order Confirmed', { marketplace: 'debenhams' }))).toBe(true);
    expect(matchesPattern(klaviyo, event('Order Confirmed', { marketplace: 'decathlon' }))).toBe(false);
    expect(matchesPattern(klaviyo, event('Order Awaiting Acceptance', { marketplace: 'debenhams' }))).toBe(false);
    const stock = eventPatternFor(config, 'mirakl-stock');
    expect(matchesPattern(stock, event('Stock Changed', { marketplace: 'decathlon' }, 'marketbridge.sfcc'))).toBe(true);
    expect(matchesPattern(stock, event('Stock Changed', { marketplace: 'decathlon' }))).toBe(false);
  });
});
