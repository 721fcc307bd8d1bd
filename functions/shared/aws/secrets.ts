/**
 * Secrets come from Secrets Manager by name, cached for five minutes per warm Lambda. A secret may be a plain
 * string or a JSON object; callers name the field they need, and errors name the secret, never its value.
 */
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

const MAX_AGE_SECONDS = 300;

export async function readSecretField(secretName: string, field: string): Promise<string> {
  const value = await getSecret(secretName, { maxAge: MAX_AGE_SECONDS });
  if (typeof value !== 'string' || value === '') throw new Error(`secret ${secretName} is empty or binary`);
  if (!value.trimStart().startsWith('{')) return value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(`secret ${secretName} looks like JSON but does not parse`);
  }
  const fieldValue = (parsed as Record<string, unknown>)[field];
  if (typeof fieldValue !== 'string' || fieldValue === '') {
    throw new Error(`secret ${secretName} has no string field "${field}"`);
  }
  return fieldValue;
}
