/**
 * The one way MarketBridge defines a Lambda: Node.js 22 on ARM, ESM bundled by the locally installed esbuild (never
 * Docker), AWS SDK left to the runtime, X-Ray active, an explicit log group with retention, the Powertools
 * environment and the deployment configuration. Grants add the matching environment variable at the same time,
 * so a function can never be given a table or bus it does not know the name of (or the reverse).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type Config, encodeConfigForEnvironment } from '../../functions/shared/config';
import { CONFIG_ENV, EVENT_BUS_ENV, type TableDefinition } from '../../functions/shared/aws/tables';

/** Repository root: entries, the lock file and esbuild are resolved from here whatever the working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Lambda's limit on the total size of a function's environment variables. */
const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** The X-Ray SDK inside Powertools Tracer is CommonJS; an ESM bundle needs `require` recreated. */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

/**
 * One metrics namespace per deployment, its stack's name (the default stack's is MarketBridge, as it always was):
 * a staging stack's alarms and dashboard never read production's figures. The weekly report queries the same
 * (ReportDeps.stack).
 */
export function metricsNamespace(scope: Construct): string {
  return Stack.of(scope).stackName;
}

// NodejsFunction silently falls back to Docker when esbuild is missing; the build machines have no Docker.
function assertLocalEsbuild(): void {
  try {
    createRequire(import.meta.url).resolve('esbuild');
  } catch {
    throw new Error('esbuild is not installed locally (npm ci): MarketBridge bundles Lambdas with local esbuild, never Docker');
  }
}

export type DynamoDbAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchGetItem' | 'BatchWriteItem' | 'Query';

export interface MarketBridgeFunctionProps {
  /** Handler module relative to the repository root, e.g. `functions/poller.ts`; it exports `handler`. */
  readonly entry: string;
  /** POWERTOOLS_SERVICE_NAME: the name the function's logs, metrics and traces carry. */
  readonly serviceName: string;
  readonly description: string;
  readonly config: Config;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly reservedConcurrentExecutions?: number;
  /** Lambda's own retries of asynchronous invocations (schedules, event targets). */
  readonly retryAttempts?: number;
}

export class MarketBridgeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: MarketBridgeFunctionProps) {
    assertLocalEsbuild();
    // A role of our own: logs are granted on this function's log group only, instead of the managed
    // AWSLambdaBasicExecutionRole that allows writing to every log group in the account.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.serviceName} function role`,
    });
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      // Logs are operational, not business data, and expire anyway: do not orphan them on stack deletion.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      retryAttempts: props.retryAttempts,
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace(scope),
        // Without the deploy-time `operations` block (alarm thresholds, subscribers' addresses): no function reads it.
        // Compressed: a full deployment's configuration is larger than Lambda's 4 KB environment.
        [CONFIG_ENV]: encodeConfigForEnvironment({ ...props.config, operations: undefined }),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
      },
    });
    logGroup.grantWrite(role);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the pinned runtime: supported by Lambda, tested by Powertools 2.35, and the closest to the ' +
        'Node versions our local runtime and tests run on; moving to nodejs24.x is a deliberate, tested upgrade.',
    });
    // Tracing.ACTIVE adds the X-Ray statement to the role's default policy.
    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; every other statement ' +
        'of this policy names its table, bus, log group or secret (asserted by the CDK tests).',
    });
    // Checked at synthesis, after every grant has added its variable; a deploy would fail much later.
    this.node.addValidation({ validate: () => this.validateEnvironmentSize() });
  }

  /** Read/write access to one table, with the table's name in the environment variable TABLES defines for it. */
  grantTable(definition: TableDefinition, table: ITable, actions: readonly DynamoDbAction[]): void {
    this.addEnvironment(definition.envVar, table.tableName);
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: actions.map((action) => `dynamodb:${action}`), resources: [table.tableArn] }),
    );
  }

  /** events:PutEvents on this bus only, with its name in EVENT_BUS_NAME. */
  grantPublish(bus: IEventBus): void {
    this.addEnvironment(EVENT_BUS_ENV, bus.eventBusName);
    bus.grantPutEventsTo(this);
  }

  /** GetSecretValue only (grantRead would add DescribeSecret); the secret's name comes from the configuration. */
  grantSecretValue(secret: ISecret): void {
    // A secret referenced by name has no full ARN: Secrets Manager appends six random characters to it.
    const resource = secret.secretFullArn ?? `${secret.secretArn}-??????`;
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [resource] }));
  }

  private validateEnvironmentSize(): string[] {
    // Names of tables and the bus are still references here; their resolved length is close to the real names'.
    const environment = Stack.of(this).resolve((this.node.defaultChild as CfnFunction).environment) as
      | CfnFunction.EnvironmentProperty
      | undefined;
    const size = Object.entries(environment?.variables ?? {}).reduce(
      (total, [key, value]) =>
        total + key.length + (typeof value === 'string' ? Buffer.byteLength(value) : JSON.stringify(value).length),
      0,
    );
    return size > LAMBDA_ENVIRONMENT_LIMIT_BYTES
      ? [`environment is about ${size} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit (is the configuration too large for ${CONFIG_ENV}?)`]
      : [];
  }
}
