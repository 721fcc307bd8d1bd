/**
 * Weekly health report: gathers the past week's figures (read-only reconciliation, inbox, redrives, 429 counts)
 * and mails the plain-text report through the alarm topic, where the business teams are subscribed.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { requiredEnv } from './shared/aws/tables';
import { resolveConfig } from './shared/config';
import { logger, tracer } from './shared/observability';
import { awsInbox, awsReconcileDeps } from './shared/operations/aws';
import { STACK_NAME_ENV } from './shared/operations/queues';
import { ALERT_TOPIC_ENV, gatherWeeklyReport, renderWeeklyReport, reportSubject, weekEnding } from './shared/operations/report';

const config = resolveConfig();
const sns = tracer.captureAWSv3Client(new SNSClient({}));
const deps = {
  config,
  reconcile: awsReconcileDeps(config, { record: false }),
  inbox: awsInbox(),
  sqs: tracer.captureAWSv3Client(new SQSClient({})),
  stack: requiredEnv(STACK_NAME_ENV),
  cloudwatch: tracer.captureAWSv3Client(new CloudWatchClient({})),
};

async function report() {
  const period = weekEnding(new Date());
  const weekly = await gatherWeeklyReport(deps, period);
  await sns.send(
    new PublishCommand({ TopicArn: requiredEnv(ALERT_TOPIC_ENV), Subject: reportSubject(weekly), Message: renderWeeklyReport(weekly) }),
  );
  logger.info('weekly report published', { period: weekly.period });
  return weekly.period;
}

export const handler = middy(report).use(captureLambdaHandler(tracer)).use(injectLambdaContext(logger, { resetKeys: true }));
