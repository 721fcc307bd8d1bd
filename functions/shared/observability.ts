/**
 * One logger, metrics and tracer per Lambda process, configured from the POWERTOOLS_* environment the stack sets.
 * Log attributes are ids and counts only: buyer data never reaches a log line.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'marketbridge';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'MarketBridge', serviceName });
export const tracer = new Tracer({ serviceName });
