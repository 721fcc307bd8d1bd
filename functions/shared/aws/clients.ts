/**
 * AWS SDK clients for the Lambdas, traced. Endpoints come from the standard AWS_ENDPOINT_URL_* variables, which is
 * how the local runtime points these same clients at its loopback emulators.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from '../observability';

export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function eventBridgeClient(): EventBridgeClient {
  return tracer.captureAWSv3Client(new EventBridgeClient({}));
}
