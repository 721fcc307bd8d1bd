/**
 * Where a history load stands, kept in the `state` table after every chunk, so a killed or stopped load continues
 * where it stopped: the export it started (never a second OR13), the file and the position in it, and the counts
 * the progress line shows.
 */
import type { ConnectorName } from '../config';

export type BackfillSource = 'OR13' | 'OR11';

export interface BackfillRequest {
  marketplace: string;
  /** Order creation window, ISO 8601 UTC. */
  from: string;
  to: string;
  /** Only these connectors; every connector the events route to when absent. */
  connectors?: readonly ConnectorName[];
}

export interface BackfillProgress {
  loadId: string;
  request: BackfillRequest;
  status: 'exporting' | 'loading' | 'done';
  /** Chosen once: OR13 exports, or OR11 creation-date pages where the export is unavailable. */
  source?: BackfillSource;
  /** Why the load reads OR11 rather than the export. */
  fallbackReason?: string;
  trackingId?: string;
  /** OR14's file URLs once the export completed. */
  urls?: string[];
  /** Orders in each export file read so far (the total grows as files are read). */
  fileSizes: number[];
  /** OR13: the file being read; OR11: unused (0). */
  file: number;
  /** Orders done in the current file (OR13) or OR11 offset in the creation-date window. */
  offset: number;
  /** OR11's total_count. */
  total?: number;
  ordersDone: number;
  eventsPublished: number;
  startedAt: string;
  updatedAt: string;
}

export interface StoredProgress {
  progress: BackfillProgress;
  version: number;
}

export interface BackfillProgressStore {
  load(loadId: string): Promise<StoredProgress | undefined>;
  /** Resolves false when another runner saved this load meanwhile: the caller must stop, the other one goes on. */
  save(progress: BackfillProgress, expectedVersion: number | undefined): Promise<boolean>;
}

/** The same request always names the same load, so running the command again resumes it. */
export function loadIdOf(request: BackfillRequest): string {
  const targets = request.connectors && request.connectors.length > 0 ? [...request.connectors].sort().join('+') : 'all';
  return `${request.marketplace}:${request.from}:${request.to}:${targets}`;
}

/** Orders the load will read: exact for OR11; for OR13, read files plus the average of them for each unread one. */
export function expectedTotal(progress: BackfillProgress): number | undefined {
  if (progress.source === 'OR11') return progress.total;
  if (!progress.urls) return undefined;
  const known = progress.fileSizes.reduce((a, b) => a + b, 0);
  const unread = progress.urls.length - progress.fileSizes.length;
  if (unread === 0) return known;
  if (progress.fileSizes.length === 0) return undefined;
  return Math.round(known + (known / progress.fileSizes.length) * unread);
}

export class MemoryProgressStore implements BackfillProgressStore {
  readonly entries = new Map<string, StoredProgress>();

  async load(loadId: string): Promise<StoredProgress | undefined> {
    const entry = this.entries.get(loadId);
    return entry && structuredClone(entry);
  }

  async save(progress: BackfillProgress, expectedVersion: number | undefined): Promise<boolean> {
    if (this.entries.get(progress.loadId)?.version !== expectedVersion) return false;
    this.entries.set(progress.loadId, { progress: structuredClone(progress), version: (expectedVersion ?? 0) + 1 });
    return true;
  }
}
