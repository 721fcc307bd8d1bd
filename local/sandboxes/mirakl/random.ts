/**
 * Tiny seeded PRNG (mulberry32): the sandbox world must be reproducible from a seed so tests can assert exact
 * histories and a failing run can be replayed.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Lowercase alphanumeric token, e.g. for relay mailbox names. */
  token(length: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    for (let i = 0; i < length; i += 1) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }

  /** RFC 4122 version-4 shaped identifier (Mirakl's `order_refund_id` looks like one). */
  uuid(): string {
    const hex = () => this.int(0, 15).toString(16);
    const block = (n: number) => Array.from({ length: n }, hex).join('');
    return `${block(8)}-${block(4)}-4${block(3)}-${'89ab'[this.int(0, 3)]}${block(3)}-${block(12)}`;
  }
}
