/** The `sfcc` configuration block: defaults, and the errors that name the field. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { sfccConfig } from '../support/sfccFixtures';

const problems = (input: unknown) => {
  try {
    parseConfig(input);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

const sfcc = {
  shortCode: 'kv7kzm78',
  organizationId: 'f_ecom_zzxy_prd',
  siteId: 'RefArch',
  instanceHost: 'zzxy-001.dx.commercecloud.salesforce.com',
  secretName: 'marketbridge/sfcc',
};

describe('sfcc configuration', () => {
  it('fills in order options and custom attribute names', () => {
    const config = parseConfig({ ...sandboxConfigInput, sfcc });
    expect(config.sfcc?.order).toEqual({ paymentMethodId: 'MIRAKL_MARKETPLACE', shippingMethod: 'MARKETPLACE' });
    expect(config.sfcc?.attributes).toMatchObject({ miraklOrderId: 'c_miraklOrderId', net: 'c_miraklNet', shipmentCarrier: 'c_carrierCode' });
    expect(config.sfcc?.inventory).toBeUndefined();
  });

  it('is required by the sfcc-orders connector, which must read the same secret', () => {
    expect(problems({ ...sandboxConfigInput, connectors: { 'sfcc-orders': { enabled: true, secretName: 'x' } } })).toEqual([
      expect.stringMatching(/^sfcc: is required when connectors.sfcc-orders is enabled/),
    ]);
    expect(problems({ ...sandboxConfigInput, sfcc, connectors: { 'sfcc-orders': { enabled: true, secretName: 'other' } } })).toEqual([
      expect.stringMatching(/^connectors.sfcc-orders.secretName: must be sfcc.secretName/),
    ]);
  });

  it('names malformed fields', () => {
    const bad = problems({
      ...sandboxConfigInput,
      sfcc: { ...sfcc, organizationId: 'zzxy_prd', shortCode: 'short', attributes: { net: 'miraklNet' }, inventory: { source: 'oci', listId: 'uk' } },
    });
    expect(bad.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['sfcc.shortCode', 'sfcc.organizationId', 'sfcc.attributes.net', 'sfcc.inventory.tenantGroupId']),
    );
  });

  it('the test fixture is a valid deployment', () => {
    expect(sfccConfig().connectors['sfcc-orders']?.enabled).toBe(true);
  });
});
