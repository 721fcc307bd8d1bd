/** Secrets Manager `GetSecretValue` over an in-memory store, addressable by name or ARN like the service. */
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsError, LOCAL_ACCOUNT, LOCAL_REGION, requireString, type AwsOperations } from './protocol';

interface StoredSecret {
  name: string;
  arn: string;
  value: string;
  versionId: string;
  createdDate: number;
}

export class LocalSecrets {
  private readonly secrets = new Map<string, StoredSecret>();

  /** Creates or replaces a secret (a new version, as PutSecretValue would). */
  put(name: string, value: string): string {
    const existing = this.secrets.get(name);
    // Real secret ARNs end in a dash and six random characters.
    const arn =
      existing?.arn ??
      `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}-${randomBytes(3).toString('hex')}`;
    this.secrets.set(name, { name, arn, value, versionId: randomUUID(), createdDate: Date.now() });
    return arn;
  }

  has(name: string): boolean {
    return this.secrets.has(name);
  }

  /** Looks a secret up by name or full ARN. */
  find(id: string): StoredSecret | undefined {
    return this.secrets.get(id) ?? [...this.secrets.values()].find((secret) => secret.arn === id);
  }

  operations(): AwsOperations {
    return {
      'secretsmanager.GetSecretValue': (input) => {
        const secret = this.find(requireString(input, 'SecretId'));
        if (!secret) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        if (input.VersionId !== undefined && input.VersionId !== secret.versionId) {
          throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for VersionId");
        }
        if (input.VersionStage !== undefined && input.VersionStage !== 'AWSCURRENT') {
          throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label");
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: secret.versionId,
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: secret.createdDate / 1000,
        };
      },
    };
  }
}
