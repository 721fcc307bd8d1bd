/**
 * The exception inbox on DynamoDB. One item per (type, marketplace, component, record): a repeat updates the
 * same entry (count, last seen, reason) and reopens it if it had been resolved. A single UpdateItem, no read.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EXCEPTION_TYPES, type ExceptionInput, type ExceptionRecorder, exceptionId } from '../exceptions';

/** DynamoDB items hold 400 KB; a larger payload is not kept and the entry says to redrive the DLQ instead. */
const MAX_STORED_PAYLOAD_BYTES = 300 * 1024;

/** The failed events as stored on the entry (JSON), or undefined when there are none or they are too large. */
function storedPayload(exception: ExceptionInput): string | undefined {
  if (!exception.events?.length) return undefined;
  const json = JSON.stringify(exception.events);
  return Buffer.byteLength(json) <= MAX_STORED_PAYLOAD_BYTES ? json : undefined;
}

export class DynamoExceptionRecorder implements ExceptionRecorder {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(exception: ExceptionInput): Promise<void> {
    const { owner, severity } = EXCEPTION_TYPES[exception.type];
    const at = this.now().toISOString();
    const payload = storedPayload(exception);
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id: exceptionId(exception) },
        UpdateExpression:
          'SET #type = :type, #owner = :owner, severity = :severity, marketplace = :marketplace, #ref = :ref, ' +
          'reason = :reason, component = :component, payloadRef = :payloadRef, lastSeen = :at, #status = :open, ' +
          `firstSeen = if_not_exists(firstSeen, :at)${payload ? ', payload = :payload' : ''} ADD occurrences :one`,
        ExpressionAttributeNames: { '#type': 'type', '#owner': 'owner', '#ref': 'ref', '#status': 'status' },
        ExpressionAttributeValues: {
          ':type': exception.type,
          ':owner': owner,
          ':severity': severity,
          ':marketplace': exception.marketplace,
          ':ref': exception.ref,
          ':reason': exception.reason,
          ':component': exception.component,
          ':payloadRef': exception.payloadRef ?? null,
          ':at': at,
          ':open': 'open',
          ':one': 1,
          ...(payload ? { ':payload': payload } : {}),
        },
      }),
    );
  }
}
