/**
 * The AWS JSON protocol as the SDK v3 clients speak it (POST /, `X-Amz-Target: Service.Operation`, JSON body;
 * errors as `__type` + `message` with status 400), served on loopback for the emulated services.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export const LOCAL_REGION = 'eu-west-1';
export const LOCAL_ACCOUNT = '000000000000';
/** Dummy credentials: the emulators do not check signatures, the SDK only needs something to sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** An error the emulator returns as the service would: the SDK turns `code` into the exception name. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

/** One emulated operation: parsed JSON input in, JSON-serialisable output back. */
export type AwsOperation = (input: Record<string, unknown>) => unknown;

/** Operations keyed by their `X-Amz-Target`, e.g. `AWSEvents.PutEvents`. */
export type AwsOperations = Record<string, AwsOperation>;

/** Large enough for a full PutEvents request (10 entries of 1 MB) plus JSON overhead. */
const MAX_REQUEST_BYTES = 12 * 1024 * 1024;

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, status: number, contentType: string, payload: unknown, errorType?: string) {
  const body = JSON.stringify(payload ?? {});
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(body);
}

export interface AwsJsonServer {
  endpoint: string;
  close(): Promise<void>;
}

export async function startAwsJsonServer(operations: AwsOperations): Promise<AwsJsonServer> {
  const server = createServer((request, response) => {
    void (async () => {
      // Echo the client's protocol version (1.0 for SQS, 1.1 for EventBridge and Secrets Manager).
      const contentType = request.headers['content-type'] ?? 'application/x-amz-json-1.1';
      const fail = (error: AwsError) =>
        send(response, error.status, contentType, { __type: error.code, message: error.message }, error.code);
      const target = request.headers['x-amz-target'];
      const operation = typeof target === 'string' ? operations[target] : undefined;
      if (request.method !== 'POST' || !operation) {
        return fail(new AwsError('UnknownOperationException', `operation ${String(target)} is not emulated`));
      }
      const body = await readBody(request, MAX_REQUEST_BYTES);
      if (!body) return fail(new AwsError('RequestEntityTooLarge', 'request body too large', 413));
      let input: unknown;
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch {
        return fail(new AwsError('SerializationException', 'request body is not valid JSON'));
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        return fail(new AwsError('SerializationException', 'request body must be a JSON object'));
      }
      try {
        send(response, 200, contentType, await operation(input as Record<string, unknown>));
      } catch (error) {
        if (error instanceof AwsError) return fail(error);
        fail(new AwsError('InternalFailure', (error as Error).message, 500));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

export function requireString(input: Record<string, unknown>, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}
