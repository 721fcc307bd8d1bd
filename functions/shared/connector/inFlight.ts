/**
 * Bounded concurrency for independent work (a bulk batch's imports, reconciliation's delivery reads): at most
 * `limit` runs at once, the next starting as one finishes. It settles only once every started run has (an import still running when the batch fails must not outlive
 * the batch's leases or be left polling), then throws the first failure; after a failure nothing new is started.
 */
export async function inFlight<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await run(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}
