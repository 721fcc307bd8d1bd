/**
 * The SFCC mapping, pure: createOrders bodies (products through the SKU map, totals SCAPI accepts, finance
 * attributes), order numbers, and what refunds and cancellations do to the finance attributes and statuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PermanentError, classify } from '../../functions/shared/connector/failures';
import type { BusinessEvent, DetailOf, Order } from '../../functions/shared/events';
import {
  UnmappedSkuError,
  adjustedAttributes,
  createOrderBody,
  financeTotals,
  moneySum,
  orderNoFor,
  parseAdjustments,
} from '../../functions/shared/sfcc/mapping';
import { sfccRequestsFor, sfccWritesFor } from '../../functions/shared/sfcc/requests';
import { checkTotals } from '../../local/sandboxes/sfcc/store';
import { orderLifeEvents } from '../support/klaviyoFixtures';
import { historyConfirmed, productsOf, sfccConfig, sfccOrderEvents } from '../support/sfccFixtures';

const config = sfccConfig('https://sandbox.example');
const sfcc = config.sfcc!;
const [confirmed, refunded, cancelled] = sfccOrderEvents('debenhams', 'M-1001-A') as [
  BusinessEvent<'Order Confirmed'>,
  BusinessEvent<'Order Refunded'>,
  BusinessEvent<'Order Cancelled'>,
];
const order = confirmed.detail.order;

describe('createOrders body', () => {
  const body = createOrderBody('debenhams', order, productsOf(confirmed), sfcc);

  it('is a marketplace order numbered after the Mirakl order, with products from the SKU map', () => {
    expect(body.orderNo).toBe('debenhams-M-1001-A');
    expect(body.channelType).toBe('marketplace');
    expect(body.currency).toBe('GBP');
    expect(body.productItems.map((i) => [i.productId, i.quantity, i.grossPrice, i.shipmentId])).toEqual([
      ['P-1', 1, 25, 'marketplace'],
      ['P-2', 1, 25, 'marketplace'],
    ]);
    expect(body.paymentStatus).toBe('paid');
    expect(body.paymentInstruments[0]?.paymentTransaction).toEqual({ amount: 50, transactionId: 'M-1001-A' });
  });

  it('carries gross, commission per line and in total, and net for finance', () => {
    expect(body).toMatchObject({
      c_miraklOrderId: 'M-1001-A',
      c_miraklMarketplace: 'debenhams',
      c_miraklGross: 50,
      c_miraklCommissionTotal: 9.6,
      c_miraklNet: 40.4,
    });
    expect(body.productItems[0]).toMatchObject({ c_miraklOrderLineId: 'M-1001-A-1', c_miraklCommissionFee: 4, c_miraklCommissionTotal: 4.8 });
  });

  it('uses the configured custom attribute names', () => {
    const renamed = sfccConfig('https://sandbox.example', { attributes: { net: 'c_netPayout', lineCommissionFee: 'c_fee' } }).sfcc!;
    const named = createOrderBody('debenhams', order, productsOf(confirmed), renamed);
    expect(named.c_netPayout).toBe(40.4);
    expect(named.c_miraklNet).toBeUndefined();
    expect(named.productItems[0]?.c_fee).toBe(4);
  });

  it('addresses the order with alpha-2 countries; the billing name falls back to the shipping address', () => {
    expect(body.shipments[0]?.shippingAddress).toMatchObject({ countryCode: 'GB', city: 'London', lastName: 'Doe' });
    expect(body.billingAddress).toMatchObject({ firstName: 'Jane', lastName: 'Doe', countryCode: 'GB' });
    expect(body.customerLocale).toBe('en_GB');
  });

  it('passes the platform total check (sums at the currency precision)', () => {
    expect(() => checkTotals(body)).not.toThrow();
    expect(body.orderTotal).toBe(moneySum('GBP', body.productItems.map((i) => i.grossPrice)) + body.shipments[0]!.shippingTotal);
  });

  it('passes the total check for any prices, quantities and shipping (property)', () => {
    const line = fc.record({
      cents: fc.integer({ min: 1, max: 1_000_000 }),
      shippingCents: fc.integer({ min: 0, max: 5_000 }),
      quantity: fc.integer({ min: 1, max: 50 }),
      commissionCents: fc.integer({ min: 0, max: 100_000 }),
    });
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 30 }), (specs) => {
        const lines = specs.map((s, i) => ({
          ...order.lines[0]!,
          lineId: `L${i}`,
          offerSku: `SKU-${i}`,
          quantity: s.quantity,
          unitPrice: s.cents / 100 / s.quantity,
          price: s.cents / 100,
          shippingPrice: s.shippingCents / 100,
          commissionTotal: s.commissionCents / 100,
        }));
        const products = new Map(lines.map((l) => [l.offerSku, `P-${l.lineId}`]));
        const generated = createOrderBody('debenhams', { ...order, lines }, products, sfcc);
        checkTotals(generated);
        const totals = financeTotals({ ...order, lines });
        expect(generated.orderTotal).toBe(totals.gross);
        expect(totals.net).toBe(moneySum('GBP', [totals.gross, -totals.commissionTotal]));
      }),
    );
  });

  it('leaves out lines refused at acceptance', () => {
    const partly: Order = { ...order, lines: [order.lines[0]!, { ...order.lines[1]!, state: 'REFUSED' }] };
    const one = createOrderBody('debenhams', partly, productsOf(confirmed), sfcc);
    expect(one.productItems).toHaveLength(1);
    expect(one.orderTotal).toBe(25);
  });
});

describe('unmapped SKUs', () => {
  it('fail the whole order with sku.unmapped, naming every missing SKU (never a half order)', () => {
    const build = () => createOrderBody('debenhams', order, new Map([['SKU-2', 'P-2']]), sfcc);
    expect(build).toThrow(UnmappedSkuError);
    try {
      build();
    } catch (error) {
      expect(classify(error)).toMatchObject({ retryable: false, exceptionType: 'sku.unmapped' });
      expect((error as UnmappedSkuError).skus).toEqual(['SKU-1']);
      expect((error as Error).message).toContain('M-1001-A');
    }
  });

  it('a line without an offer SKU counts as unmapped', () => {
    const lines = [{ ...order.lines[0]!, offerSku: null }];
    expect(() => createOrderBody('debenhams', { ...order, lines }, new Map(), sfcc)).toThrow(/line M-1001-A-1 has no offer SKU/);
  });
});

it('an order with no buyer name anywhere cannot be created', () => {
  const buyer = { ...order.buyer, firstName: null, lastName: null, billingAddress: null, shippingAddress: null };
  expect(() => createOrderBody('debenhams', { ...order, buyer }, productsOf(confirmed), sfcc)).toThrow(PermanentError);
});

describe('order numbers', () => {
  it('are deterministic, per marketplace, and within 50 characters', () => {
    expect(orderNoFor('debenhams', 'X-1')).toBe(orderNoFor('debenhams', 'X-1'));
    expect(orderNoFor('debenhams', 'X-1')).not.toBe(orderNoFor('decathlon', 'X-1'));
    const long = 'A'.repeat(80);
    expect(orderNoFor('debenhams', long)).toHaveLength(50);
    expect(orderNoFor('debenhams', long)).not.toBe(orderNoFor('debenhams', `${long}B`));
  });
});

describe('refunds and cancellations', () => {
  it('a refund updates refunded and net (commission given back), then the external status', () => {
    const writes = sfccWritesFor(refunded, sfcc);
    expect(writes.map((w) => w.op)).toEqual(['updateOrder', 'updateOrderExternalStatus']);
    const attributes = writes[0]!.body as Record<string, unknown>;
    // 50 gross − 9.6 commission − (25 + 1.5) refunded + 4.8 commission back
    expect(attributes).toMatchObject({ c_miraklRefunded: 26.5, c_miraklCancelled: 0, c_miraklNet: 18.7 });
    expect(parseAdjustments(attributes.c_miraklAdjustments)).toEqual([{ id: 'refund:M-1001-A-r1', kind: 'refund', amount: 26.5, commission: 4.8 }]);
    expect(writes[1]!.body).toEqual({ status: 'mirakl_partially_refunded' });
  });

  it('an adjustment already on the order is not applied twice', () => {
    const first = sfccWritesFor(refunded, sfcc);
    const applied = parseAdjustments((first[0]!.body as Record<string, unknown>).c_miraklAdjustments);
    expect(sfccWritesFor(refunded, sfcc, { applied }).map((w) => w.op)).toEqual(['updateOrderExternalStatus']);
  });

  it('a line cancellation adds to the ledger kept by the refund', () => {
    const afterRefund = parseAdjustments((sfccWritesFor(refunded, sfcc)[0]!.body as Record<string, unknown>).c_miraklAdjustments);
    const writes = sfccWritesFor(cancelled, sfcc, { applied: afterRefund });
    expect(writes[0]!.body).toMatchObject({ c_miraklRefunded: 26.5, c_miraklCancelled: 25, c_miraklNet: -1.5 });
    expect(writes[1]!.body).toEqual({ status: 'mirakl_refunded_and_cancelled' });
  });

  it('a whole-order cancellation cancels the SFCC order and brings net to zero', () => {
    const whole: BusinessEvent<'Order Cancelled'> = {
      ...cancelled,
      detail: { ...cancelled.detail, scope: 'order', cancellation: null, amount: order.total } as DetailOf<'Order Cancelled'>,
    };
    const applied = parseAdjustments((sfccWritesFor(refunded, sfcc)[0]!.body as Record<string, unknown>).c_miraklAdjustments);
    const writes = sfccWritesFor(whole, sfcc, { applied });
    expect(writes.map((w) => w.op)).toEqual(['updateOrder', 'updateOrderExternalStatus', 'updateOrderStatus']);
    expect(writes[0]!.body).toMatchObject({ c_miraklNet: 0, c_miraklRefunded: 26.5, c_miraklCancelled: 23.5 });
    expect(writes[2]!.body).toEqual({ status: 'cancelled' });
  });

  it('adjusted attributes are computed from the ledger alone (re-applying gives the same values)', () => {
    const ledger = [{ id: 'refund:x', kind: 'refund' as const, amount: 10, commission: 1 }];
    expect(adjustedAttributes(order, ledger, sfcc.attributes)).toEqual(adjustedAttributes(order, [...ledger], sfcc.attributes));
    expect(parseAdjustments('not json')).toEqual([]);
  });
});

describe('money', () => {
  it('sums exactly at the currency precision', () => {
    expect(moneySum('EUR', [0.1, 0.2])).toBe(0.3);
    expect(moneySum('JPY', [100.4, 200.4])).toBe(300);
  });
});

describe('plan requests', () => {
  it('prints createOrders with the site and a masked token; events SFCC does not consume print nothing', () => {
    const [request] = sfccRequestsFor(confirmed, config, { products: productsOf(confirmed) });
    expect(request).toMatchObject({
      connector: 'sfcc',
      method: 'POST',
      url: `https://sandbox.example/checkout/orders/v1/organizations/${sfcc.organizationId}/orders?siteId=RefArch`,
      headers: { authorization: 'Bearer ***' },
    });
    expect((request!.body as { orderNo: string }).orderNo).toBe('debenhams-M-1001-A');
    const shipped = orderLifeEvents('debenhams', 'M-1001-A').find((e) => e.detailType === 'Order Shipped')!;
    expect(sfccRequestsFor(shipped, config)).toEqual([]);
  });

  it('targets Salesforce hosts when no base URL overrides them', () => {
    const real = sfccConfig('https://x.example', {});
    const live = { ...real, sfcc: { ...real.sfcc!, baseUrl: undefined } };
    const [request] = sfccRequestsFor(refunded, live);
    expect(request?.url).toBe(
      `https://kv7kzm78.api.commercecloud.salesforce.com/checkout/orders/v1/organizations/${sfcc.organizationId}/orders/debenhams-M-1001-A?siteId=RefArch`,
    );
    expect(request?.method).toBe('PATCH');
  });

  it('throws sku.unmapped for a confirmed order whose SKUs the map lacks', () => {
    expect(() => sfccRequestsFor(confirmed, config, { products: new Map() })).toThrow(UnmappedSkuError);
  });
});

describe('history loads', () => {
  const writesOf = (event: BusinessEvent) => sfccWritesFor(event, sfcc, { products: productsOf(event) });

  it('a live order is one createOrders, without the history attribute', () => {
    const writes = writesOf(confirmed);
    expect(writes.map((w) => w.op)).toEqual(['createOrders']);
    expect(writes[0]?.body).not.toHaveProperty('c_miraklHistoryImport');
  });

  it('a shipped history order is created marked, then exported, shipped and completed', () => {
    for (const state of ['SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED']) {
      const writes = writesOf(historyConfirmed('debenhams', 'H-1-A', state));
      expect(writes[0]).toMatchObject({ op: 'createOrders', body: { c_miraklHistoryImport: true, orderNo: 'debenhams-H-1-A' } });
      expect(writes.slice(1), state).toEqual([
        { op: 'updateOrderExportStatus', orderNo: 'debenhams-H-1-A', body: { status: 'exported' } },
        { op: 'updateOrderShippingStatus', orderNo: 'debenhams-H-1-A', body: { status: 'shipped' } },
        { op: 'updateOrderStatus', orderNo: 'debenhams-H-1-A', body: { status: 'completed' } },
      ]);
    }
  });

  it('a history order still to ship is exported only: it stays new and not shipped', () => {
    const writes = writesOf(historyConfirmed('debenhams', 'H-2-A', 'SHIPPING'));
    expect(writes.map((w) => [w.op, w.body.status])).toEqual([
      ['createOrders', undefined],
      ['updateOrderExportStatus', 'exported'],
    ]);
  });

  it('the history attribute name is configurable like the finance ones', () => {
    const renamed = sfccConfig('https://sandbox.example', { attributes: { historyImport: 'c_mbHistory' } }).sfcc!;
    const [create] = sfccWritesFor(historyConfirmed('decathlon', 'H-3-A', 'CLOSED'), renamed, { products: productsOf(confirmed) });
    expect(create?.body).toMatchObject({ c_mbHistory: true });
  });

  it('plan prints the status PUTs with their SCAPI resources', () => {
    const event = historyConfirmed('debenhams', 'H-4-A', 'RECEIVED');
    const urls = sfccRequestsFor(event, config, { products: productsOf(event) }).map((r) => `${r.method} ${new URL(r.url).pathname}`);
    expect(urls.slice(1)).toEqual([
      'PUT /checkout/orders/v1/organizations/f_ecom_mkbr_s01/orders/debenhams-H-4-A/export-status',
      'PUT /checkout/orders/v1/organizations/f_ecom_mkbr_s01/orders/debenhams-H-4-A/shipping-status',
      'PUT /checkout/orders/v1/organizations/f_ecom_mkbr_s01/orders/debenhams-H-4-A/status',
    ]);
  });
});
