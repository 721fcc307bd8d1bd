/**
 * The warehouse behind the SFCC sandbox, moved on by the runtime's tick: it takes the orders the brand's order export
 * has not sent yet (export status not `exported`; history orders MarketBridge set `exported` never come here) and
 * marks them `exported`, as an export job does. Placed orders take their stock off the
 * inventory list, ship a few ticks later (tracking number, carrier in the shipment's carrier attribute), the web store
 * sells now and then and stock is restocked. Like the brand's cartridge hooks would, it reports each change to our
 * webhook: a signed `shipment.dispatched` per marketplace shipment and a `stock.changed` per marketplace.
 *
 * Carriers are named as a warehouse names them (the Mirakl carrier labels, which SH21 seeding maps), and now and then
 * one Mirakl does not list, so `carrier.unknown` shows. Every draw comes from the seed.
 */
import type { SfccConfig } from '../../../functions/shared/config';
import { signWebhook } from '../../../functions/shared/webhook/signature';
import { Random } from '../mirakl/random';
import type { SfccStore, StoredOrder } from './store';

/** Where SFCC hooks send their callbacks: the webhook URL and its signing secret. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface WarehouseMarketplace {
  id: string;
  /** The SFCC products this marketplace sells (their stock changes are reported to it). */
  products: readonly string[];
  /** Carrier names the warehouse uses for its parcels. */
  carriers: readonly string[];
}

export interface WarehouseOptions {
  store: SfccStore;
  siteId: string;
  listId: string;
  attributes: SfccConfig['attributes'];
  marketplaces: readonly WarehouseMarketplace[];
  seed: number;
  now: () => Date;
  /** Undefined until the webhook is up: changes made meanwhile are reported with the next ones. */
  webhook: () => WebhookTarget | undefined;
  /**
   * The marketplace's state of an order. Only orders Mirakl has in SHIPPING are still to ship: the ones the seller
   * shipped before MarketBridge (the Mirakl sandbox's history) left this warehouse long ago.
   */
  miraklOrderState?: (marketplace: string, orderId: string) => string | undefined;
}

/** Carriers no Mirakl sandbox marketplace lists: a shipment with one of them must become `carrier.unknown`. */
export const UNLISTED_CARRIERS = ['Yodel Xpress', 'Parcel Monkey Freight'] as const;
/** Ticks an order waits in the warehouse before it can ship (picking and packing). */
const SHIP_AFTER_TICKS = 2;
const SHIP_CHANCE = 0.5;
const UNLISTED_CARRIER_CHANCE = 0.12;
const WEB_SALE_CHANCE = 0.3;
const RESTOCK_CHANCE = 0.15;

export interface WarehouseStats {
  ordersAllocated: number;
  shipped: number;
  webSales: number;
  restocks: number;
  callbacksSent: number;
  callbacksFailed: number;
}

export class SfccWarehouse {
  readonly stats: WarehouseStats = { ordersAllocated: 0, shipped: 0, webSales: 0, restocks: 0, callbacksSent: 0, callbacksFailed: 0 };
  private readonly random: Random;
  private readonly runId: string;
  /** Order number → the tick the warehouse took it in. */
  private readonly allocated = new Map<string, number>();
  /** Callbacks not delivered yet (no webhook yet, or it failed): sent on the next tick, in order. */
  private readonly outbox: object[] = [];
  private readonly changed = new Set<string>();
  private ticks = 0;
  private changes = 0;

  constructor(private readonly options: WarehouseOptions) {
    this.random = new Random(options.seed);
    // Distinguishes this run's stock change ids from another seed's.
    this.runId = this.random.token(6);
  }

  /** One step: take new orders' stock, ship some, web sales and restocks, then report what changed. */
  async tick(): Promise<void> {
    this.ticks += 1;
    const orders = [...this.options.store.orders.values()].filter((o) => o.siteId === this.options.siteId && o.status !== 'cancelled');
    for (const order of orders) {
      const orderNo = order.request.orderNo as string;
      if (!this.allocated.has(orderNo)) {
        if (order.exportStatus !== 'exported') this.allocate(orderNo, order);
      } else if (this.toShip(order) && this.ticks - (this.allocated.get(orderNo) ?? 0) >= SHIP_AFTER_TICKS && this.random.chance(SHIP_CHANCE)) {
        this.ship(order);
      }
    }
    const products = this.options.marketplaces.flatMap((mp) => mp.products);
    if (products.length > 0 && this.random.chance(WEB_SALE_CHANCE)) {
      this.adjust(this.random.pick(products), -this.random.int(1, 3));
      this.stats.webSales += 1;
    }
    if (products.length > 0 && this.random.chance(RESTOCK_CHANCE)) {
      this.adjust(this.random.pick(products), this.random.int(10, 40));
      this.stats.restocks += 1;
    }
    this.queueStockChanges();
    await this.flush();
  }

  /** SFCC takes a placed order's quantities off available-to-sell. */
  private allocate(orderNo: string, order: StoredOrder): void {
    this.allocated.set(orderNo, this.ticks);
    this.options.store.setExportStatus(this.options.siteId, orderNo, 'exported');
    this.stats.ordersAllocated += 1;
    for (const item of order.request.productItems) this.adjust(item.productId, -Math.round(item.quantity));
  }

  private adjust(productId: string, delta: number): void {
    const record = this.options.store.inventory.get(this.options.listId)?.get(productId);
    if (!record) return;
    if (delta > 0) record.allocation += delta;
    // Stock on hand never goes below zero: a sale of what is not there is the overselling the buffer prevents.
    else record.turnover += Math.min(-delta, Math.max(0, record.allocation - record.turnover));
    this.changed.add(productId);
  }

  private toShip(order: StoredOrder): boolean {
    if (order.shipped.size === order.request.shipments.length) return false;
    const { attributes, miraklOrderState } = this.options;
    const marketplace = order.custom[attributes.marketplace];
    const orderId = order.custom[attributes.miraklOrderId];
    if (!miraklOrderState || typeof marketplace !== 'string' || typeof orderId !== 'string') return true;
    return miraklOrderState(marketplace, orderId) === 'SHIPPING';
  }

  private ship(order: StoredOrder): void {
    const { attributes } = this.options;
    const orderNo = order.request.orderNo as string;
    const marketplaceId = order.custom[attributes.marketplace];
    const marketplace = this.options.marketplaces.find((mp) => mp.id === marketplaceId);
    for (const shipment of order.request.shipments) {
      if (order.shipped.has(shipment.shipmentId)) continue;
      const carrier =
        !marketplace || marketplace.carriers.length === 0 || this.random.chance(UNLISTED_CARRIER_CHANCE)
          ? this.random.pick(UNLISTED_CARRIERS)
          : this.random.pick(marketplace.carriers);
      const trackingNumber = `${this.random.int(10, 99)}${Array.from({ length: 12 }, () => this.random.int(0, 9)).join('')}`;
      this.options.store.ship(this.options.siteId, orderNo, shipment.shipmentId, trackingNumber, { [attributes.shipmentCarrier]: carrier });
      this.stats.shipped += 1;
      const orderId = order.custom[attributes.miraklOrderId];
      const lines = order.request.productItems.flatMap((item) => {
        const lineId = (item as Record<string, unknown>)[attributes.lineId];
        return item.shipmentId === shipment.shipmentId && typeof lineId === 'string' ? [{ lineId, quantity: Math.round(item.quantity) }] : [];
      });
      // The brand's hook reports marketplace orders only.
      if (typeof orderId !== 'string' || typeof marketplaceId !== 'string' || lines.length === 0) continue;
      this.outbox.push({
        type: 'shipment.dispatched',
        marketplace: marketplaceId,
        orderId,
        shipmentId: shipment.shipmentId,
        carrier,
        trackingNumber,
        trackingUrl: null,
        occurredAt: this.options.now().toISOString(),
        lines,
      });
    }
  }

  /** One `stock.changed` per marketplace selling a changed product, with its available-to-sell now. */
  private queueStockChanges(): void {
    if (this.changed.size === 0) return;
    const list = this.options.store.inventory.get(this.options.listId);
    for (const marketplace of this.options.marketplaces) {
      const items = marketplace.products
        .filter((productId) => this.changed.has(productId))
        .flatMap((productId) => {
          const record = list?.get(productId);
          return record ? [{ productId, availableToSell: Math.max(0, record.allocation - record.turnover) }] : [];
        });
      if (items.length === 0) continue;
      this.changes += 1;
      this.outbox.push({
        type: 'stock.changed',
        id: `sfcc-stock-${this.runId}-${this.changes}`,
        occurredAt: this.options.now().toISOString(),
        marketplaces: [marketplace.id],
        items,
      });
    }
    this.changed.clear();
  }

  private async flush(): Promise<void> {
    const target = this.options.webhook();
    if (!target) return;
    while (this.outbox.length > 0) {
      const body = JSON.stringify(this.outbox[0]);
      const headers = signWebhook(body, target.secret, Math.floor(this.options.now().getTime() / 1000));
      let status = 0;
      try {
        status = (await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })).status;
      } catch {
        status = 0;
      }
      if (status >= 200 && status < 300) this.stats.callbacksSent += 1;
      else this.stats.callbacksFailed += 1;
      // Unreachable or 5xx: SFCC hooks retry on a later run, keeping the order of the changes. A 4xx will not change.
      if (status === 0 || status >= 500) return;
      this.outbox.shift();
    }
  }
}
