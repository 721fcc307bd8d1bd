/**
 * Builds OR11-shaped orders for tests, with the fields Mirakl sends (including nulls where the spec allows them).
 * Only test code uses this; the sandbox has its own, richer world model.
 */
export type RawOrder = Record<string, unknown> & { order_id: string; order_lines: RawLine[] };
export type RawLine = Record<string, unknown> & { order_line_id: string };

export function rawLine(orderId: string, n: number, overrides: Partial<RawLine> = {}): RawLine {
  return {
    order_line_id: `${orderId}-${n}`,
    order_line_index: n,
    order_line_state: 'SHIPPING',
    offer_id: 2130450 + n,
    offer_sku: `SKU-${n}`,
    product_sku: `MKP00012345678${n}`,
    product_title: `Product ${n}`,
    category_code: 'FA_DRESSES',
    category_label: 'Dresses',
    product_medias: [{ media_url: `/media/product/${n}`, mime_type: 'JPEG', type: 'LARGE' }],
    quantity: 1,
    price_unit: 25,
    price: 25,
    shipping_price: 0,
    total_price: 25,
    commission_fee: 4,
    total_commission: 4.8,
    refunds: [],
    cancelations: [],
    order_line_additional_fields: [],
    created_date: '2026-11-20T09:00:00Z',
    last_updated_date: '2026-11-20T10:00:00Z',
    debited_date: null,
    shipped_date: null,
    received_date: null,
    ...overrides,
  };
}

export function rawOrder(orderId: string, overrides: Partial<RawOrder> = {}, lineCount = 2): RawOrder {
  const lines = Array.from({ length: lineCount }, (_, i) => rawLine(orderId, i + 1));
  return {
    order_id: orderId,
    commercial_id: orderId.replace(/-[A-Z]$/, ''),
    order_state: 'SHIPPING',
    created_date: '2026-11-20T09:00:00Z',
    last_updated_date: '2026-11-20T10:00:00Z',
    acceptance_decision_date: '2026-11-20T09:30:00Z',
    customer_debited_date: '2026-11-20T09:45:00Z',
    shipping_deadline: '2026-11-23T23:59:59Z',
    channel: { code: 'WEB', label: 'Website' },
    currency_iso_code: 'GBP',
    price: 50,
    shipping_price: 3.99,
    total_price: 53.99,
    total_commission: 9.6,
    has_incident: false,
    payment_workflow: 'PAY_ON_ACCEPTANCE',
    customer_notification_email: 'q7k2m9x1ab.c0d3@notification.mirakl.net',
    customer: {
      customer_id: 'C-1001',
      firstname: 'Jane',
      lastname: 'Doe',
      civility: 'Ms',
      locale: 'en_GB',
      billing_address: null,
      shipping_address: {
        firstname: 'Jane',
        lastname: 'Doe',
        street_1: '12 Example Road',
        street_2: null,
        zip_code: 'SW1A 1AA',
        city: 'London',
        state: null,
        country: 'United Kingdom',
        country_iso_code: 'GBR',
        phone: '+44 7700 900123',
      },
    },
    shipping_carrier_code: null,
    shipping_company: null,
    shipping_tracking: null,
    shipping_tracking_url: null,
    order_lines: lines,
    ...overrides,
  };
}

/** A copy of the order as Mirakl would return it after a later update. */
export function updated(order: RawOrder, at: string, changes: Partial<RawOrder> = {}): RawOrder {
  return { ...structuredClone(order), last_updated_date: at, ...changes };
}

export function withLines(order: RawOrder, change: (line: RawLine, index: number) => Partial<RawLine>): RawOrder {
  return { ...order, order_lines: order.order_lines.map((l, i) => ({ ...l, ...change(l, i) })) };
}
