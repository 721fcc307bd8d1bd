/**
 * Wires the ingest run to AWS: DynamoDB state, EventBridge, Secrets Manager and the Mirakl HTTP client. Built once
 * per Lambda process; the Mirakl client of each marketplace is built on first use with its key from Secrets Manager.
 */
import { type Config, marketplaceById } from '../config';
import type { IngestDependencies, MiraklOrdersSource } from '../ingest/ports';
import { miraklOrdersSource } from '../ingest/miraklSource';
import { createMarketplaceGuard } from '../mirakl/callFrequency';
import { createMiraklClient } from '../mirakl/client';
import { logger } from '../observability';
import { documentClient, eventBridgeClient } from './clients';
import { createEventBridgePublisher } from './eventPublisher';
import { DynamoExceptionRecorder } from './exceptionStore';
import { readSecretField } from './secrets';
import { DynamoStateStore } from './stateStore';
import { EVENT_BUS_ENV, requiredEnv, TABLES, tableName } from './tables';

/** Secret field holding a marketplace's shop API key (a plain-string secret is the key itself). */
export const MIRAKL_API_KEY_FIELD = 'apiKey';

/** Grants OR11 calls per marketplace within Mirakl's call-frequency contract (slots in the `state` table). */
export function miraklCallGate(config: Config, state: DynamoStateStore): IngestDependencies['gate'] {
  return createMarketplaceGuard(config.marketplaces, state);
}

/** Each marketplace's OR11 source, its client built on first use with the key from Secrets Manager. */
export function miraklOrderSources(config: Config): IngestDependencies['orders'] {
  const sources = new Map<string, Promise<MiraklOrdersSource>>();
  return (marketplaceId) => {
    let source = sources.get(marketplaceId);
    if (!source) {
      const marketplace = marketplaceById(config, marketplaceId);
      source = readSecretField(marketplace.apiKeySecret, MIRAKL_API_KEY_FIELD).then((apiKey) =>
        miraklOrdersSource(
          createMiraklClient({
            baseUrl: marketplace.baseUrl,
            apiKey,
            ...(marketplace.shopId === undefined ? {} : { shopId: marketplace.shopId }),
            onAttempt: (attempt) => {
              if (attempt.outcome !== 'success') logger.warn('Mirakl call attempt failed', { ...attempt });
            },
          }),
        ),
      );
      // A failed secret read must not poison the cache for the next invocation.
      source.catch(() => sources.delete(marketplaceId));
      sources.set(marketplaceId, source);
    }
    return source;
  };
}

export function awsIngestDependencies(config: Config): IngestDependencies {
  const documents = documentClient();
  const state = new DynamoStateStore(documents, tableName(TABLES.state));
  return {
    snapshots: state,
    cursors: state,
    pending: state,
    publisher: createEventBridgePublisher({ client: eventBridgeClient(), busName: requiredEnv(EVENT_BUS_ENV) }),
    exceptions: new DynamoExceptionRecorder(documents, tableName(TABLES.exceptions)),
    gate: miraklCallGate(config, state),
    orders: miraklOrderSources(config),
    log: {
      info: (message, attributes) => logger.info(message, attributes ?? {}),
      warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    },
    now: () => new Date(),
  };
}
