/**
 * `marketbridge report --week [--ending DATE] [--json]`: the weekly health report the scheduled Lambda mails,
 * printed here (plain text for the business teams, or JSON). Reads only: it records no exceptions.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { type Config, resolveConfig } from '../functions/shared/config';
import { awsInbox, awsReconcileDeps } from '../functions/shared/operations/aws';
import { DEFAULT_STACK_NAME } from '../functions/shared/operations/queues';
import { gatherWeeklyReport, renderWeeklyReport, type ReportDeps, weekEnding } from '../functions/shared/operations/report';
import { type Output, printText, UsageError } from './io';

export const REPORT_USAGE = `usage: marketbridge report --week [--stack STACK] [--config FILE] [--ending DATE] [--json]
  STACK: the deployment's CloudFormation stack, whose DLQs' redrives it counts (default ${DEFAULT_STACK_NAME})`;

function awsDeps(config: Config, stack: string): ReportDeps {
  try {
    return {
      config,
      reconcile: awsReconcileDeps(config, { record: false }),
      inbox: awsInbox(),
      sqs: new SQSClient({}),
      stack,
      // The local runtime emulates no CloudWatch: the report then says the figures are not available.
      ...(process.env.AWS_ENDPOINT_URL_SQS && !process.env.AWS_ENDPOINT_URL_CLOUDWATCH ? {} : { cloudwatch: new CloudWatchClient({}) }),
    };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}: set the table variables to the deployment's (stack outputs)`);
  }
}

export async function report(
  args: string[],
  out: Output,
  _stdin?: NodeJS.ReadableStream,
  depsFor: (config: Config, stack: string) => ReportDeps = awsDeps,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { week: { type: 'boolean' }, stack: { type: 'string', default: DEFAULT_STACK_NAME }, config: { type: 'string' }, ending: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: false,
  });
  if (!values.week) throw new UsageError(REPORT_USAGE);
  const ending = values.ending ? new Date(values.ending) : new Date();
  if (Number.isNaN(ending.getTime())) throw new UsageError(`--ending must be a date, got "${values.ending}"`);
  const config = resolveConfig(values.config ? { file: values.config } : {});
  const weekly = await gatherWeeklyReport(depsFor(config, values.stack), weekEnding(ending));
  if (values.json) out.line(weekly);
  else printText(out, renderWeeklyReport(weekly));
  return 0;
}
