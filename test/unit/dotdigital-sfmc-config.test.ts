/**
 * The Dotdigital and SFMC connector options in the one configuration: defaults, the fields an enabled connector
 * cannot do without, and clear errors naming the bad field.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, sandboxConfigInput } from '../../functions/shared/config';

const withConnectors = (connectors: Record<string, unknown>) => parseConfig({ ...sandboxConfigInput, connectors });
const problems = (connectors: Record<string, unknown>): string[] => {
  try {
    withConnectors(connectors);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('Dotdigital options', () => {
  it('defaults: custom identifier, Orders collection, data field names, no programme', () => {
    const dotdigital = withConnectors({ dotdigital: { enabled: true, secretName: 'dd', listId: 12 } }).connectors.dotdigital;
    expect(dotdigital).toMatchObject({
      listId: 12,
      customIdentifier: 'mirakl_id',
      collectionName: 'Orders',
      dataFields: { identity: 'MIRAKL_ID', marketplace: 'MARKETPLACE', firstName: 'FIRSTNAME', lastName: 'LASTNAME', marketingAllowed: 'MARKETING_ALLOWED' },
      programmes: {},
      bulk: 'auto',
    });
  });

  it('an enabled connector needs the private list; a disabled one does not', () => {
    expect(problems({ dotdigital: { enabled: true, secretName: 'dd' } })).toEqual([
      expect.stringMatching(/^connectors\.dotdigital\.listId: is required: the private, non-marketing list/),
    ]);
    expect(problems({ dotdigital: { enabled: false } })).toEqual([]);
  });

  it('names a data field or collection Dotdigital would refuse', () => {
    const found = problems({ dotdigital: { enabled: true, listId: 1, dataFields: { identity: 'MIRAKL_CUSTOMER_IDENTITY' }, collectionName: 'my orders' } });
    expect(found).toHaveLength(2);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^connectors\.dotdigital\.collectionName: must be a Dotdigital collection name/),
        expect.stringMatching(/^connectors\.dotdigital\.dataFields\.identity: must be a data field name/),
      ]),
    );
  });
});

describe('SFMC options', () => {
  it('defaults: dedicated data extensions, no journey', () => {
    const sfmc = withConnectors({ sfmc: { enabled: true, secretName: 's', subdomain: 'mc123' } }).connectors.sfmc;
    expect(sfmc).toMatchObject({
      dataExtensions: { customers: 'MarketBridge_Customers', orders: 'MarketBridge_Orders', orderLines: 'MarketBridge_OrderLines' },
      journeys: {},
    });
  });

  it('an enabled connector needs the tenant subdomain (or an auth base URL)', () => {
    expect(problems({ sfmc: { enabled: true, secretName: 's' } })).toEqual([expect.stringMatching(/^connectors\.sfmc\.subdomain: is required/)]);
    expect(problems({ sfmc: { enabled: true, secretName: 's', baseUrl: 'https://mc.auth.example' } })).toEqual([]);
  });

  it('refuses an event definition key with a period, and marks journeys marketing unless said transactional', () => {
    expect(problems({ sfmc: { enabled: true, subdomain: 'mc', journeys: { confirmed: { eventDefinitionKey: 'APIEvent.1' } } } })).toEqual([
      expect.stringMatching(/^connectors\.sfmc\.journeys\.confirmed\.eventDefinitionKey: must not contain a period/),
    ]);
    const sfmc = withConnectors({ sfmc: { enabled: true, subdomain: 'mc', journeys: { shipped: { eventDefinitionKey: 'APIEvent-1' } } } }).connectors.sfmc;
    expect(sfmc?.journeys.shipped).toEqual({ eventDefinitionKey: 'APIEvent-1', transactional: false });
  });
});
