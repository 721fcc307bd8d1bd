import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ENCODED_CONFIG_PREFIX,
  encodeConfigForEnvironment,
  isRelayEmail,
  loadConfigFile,
  marketplaceById,
  parseConfig,
  resolveConfig,
  sandboxConfig,
  sandboxConfigInput,
} from '../../functions/shared/config';

const clone = () => structuredClone(sandboxConfigInput) as Record<string, any>;

function problems(input: unknown): string[] {
  try {
    parseConfig(input, 'test');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration', () => {
  it('the built-in sandbox defines debenhams (transactional, marketing allowed) and decathlon (never, forbidden)', () => {
    expect(marketplaceById(sandboxConfig, 'debenhams')).toMatchObject({ relayEmail: { policy: 'transactional' }, marketing: 'allowed' });
    expect(marketplaceById(sandboxConfig, 'decathlon')).toMatchObject({ relayEmail: { policy: 'never' }, marketing: 'forbidden' });
  });

  it('names the bad field and the value it had', () => {
    const input = clone();
    input.marketplaces[0].relayEmail.policy = 'marketing';
    input.marketplaces[1].marketing = 'maybe';
    expect(problems(input)).toEqual([
      expect.stringMatching(/^marketplaces\.0\.relayEmail\.policy: .*\(got "marketing"\)$/),
      expect.stringMatching(/^marketplaces\.1\.marketing: .*\(got "maybe"\)$/),
    ]);
  });

  it('refuses a poll interval faster than Mirakl allows for the persona', () => {
    const input = clone();
    input.marketplaces[0].persona = 'external-partner';
    input.marketplaces[0].poll.intervalMinutes = 5;
    expect(problems(input)).toEqual([expect.stringContaining('marketplaces.0.poll.intervalMinutes: must be at least 15 minute(s)')]);
  });

  it('refuses duplicate marketplace ids, unknown keys and connectors routed to unknown marketplaces', () => {
    const input = clone();
    input.marketplaces[1].id = 'debenhams';
    input.marketplaces[0].apiKey = 'inline-secret';
    input.connectors = { klaviyo: { enabled: true, marketplaces: ['amazon'] } };
    const found = problems(input).join('\n');
    expect(found).toContain('duplicate marketplace id "debenhams"');
    expect(found).toContain('Unrecognized key: "apiKey"');
    expect(found).toContain('connectors.klaviyo.marketplaces.0: unknown marketplace "amazon"');
  });

  it('loads a file and reports unreadable or non-JSON files by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-config-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(sandboxConfigInput));
    expect(loadConfigFile(good).marketplaces).toHaveLength(2);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ marketplaces: ');
    expect(() => loadConfigFile(bad)).toThrow(/bad\.json[\s\S]*not valid JSON/);
    expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(/cannot read file/);
  });

  it('reads MARKETBRIDGE_CONFIG when no file is given, else the sandbox', () => {
    const input = clone();
    input.marketplaces = [input.marketplaces[1]];
    expect(resolveConfig({ env: { MARKETBRIDGE_CONFIG: JSON.stringify(input) } }).marketplaces.map((m) => m.id)).toEqual(['decathlon']);
    expect(resolveConfig({ env: {} })).toBe(sandboxConfig);
    expect(() => resolveConfig({ env: { MARKETBRIDGE_CONFIG: '{' } })).toThrow(/MARKETBRIDGE_CONFIG[\s\S]*not valid JSON/);
  });

  it('recognises relay addresses by the marketplace patterns, case-insensitively', () => {
    const decathlon = marketplaceById(sandboxConfig, 'decathlon');
    expect(isRelayEmail(decathlon, 'abc.def@NOTIFICATION.mirakl.net')).toBe(true);
    expect(isRelayEmail(decathlon, 'x@relay.decathlon.example')).toBe(true);
    expect(isRelayEmail(decathlon, 'x@relay.decathlon.example.evil.com')).toBe(false);
    expect(isRelayEmail(decathlon, 'jane@gmail.com')).toBe(false);
  });
});

describe('the documented example configuration', () => {
  it('parses, so the README never points at a broken file', () => {
    const config = loadConfigFile(join(__dirname, '../../docs/marketbridge.config.example.json'));
    expect(config.marketplaces.map((m) => [m.id, m.relayEmail.policy, m.marketing])).toEqual([
      ['debenhams', 'transactional', 'allowed'],
      ['decathlon', 'never', 'forbidden'],
    ]);
  });
});

describe('the configuration in the Lambda environment', () => {
  it('travels gzipped and base64-encoded, and reads back as the same configuration', () => {
    const encoded = encodeConfigForEnvironment(sandboxConfig);
    expect(encoded.startsWith(ENCODED_CONFIG_PREFIX)).toBe(true);
    expect(encoded.length).toBeLessThan(JSON.stringify(sandboxConfig).length);
    expect(resolveConfig({ env: { MARKETBRIDGE_CONFIG: encoded } })).toEqual(sandboxConfig);
  });

  it('a corrupt encoded value is a configuration error naming the variable', () => {
    expect(() => resolveConfig({ env: { MARKETBRIDGE_CONFIG: `${ENCODED_CONFIG_PREFIX}not-gzip` } })).toThrow(/MARKETBRIDGE_CONFIG/);
  });
});
