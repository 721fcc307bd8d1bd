/** What the CDK tests look up in a synthesised template: a construct's logical id and a role's default policy. */
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The logical id a construct (or its default CloudFormation child) has in its stack's template. */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return element.stack.getLogicalId(element);
}

/** The statements of the policy CDK attaches to `role` for its grants, as synthesised in `resources`. */
export function defaultPolicyStatements(resources: Record<string, { Properties: Record<string, any> }>, role: IConstruct | undefined): PolicyStatement[] {
  if (!role) throw new Error('the function has no role');
  const policy = resources[logicalId(role.node.findChild('DefaultPolicy'))];
  if (!policy) throw new Error(`no default policy for ${role.node.path} in the template`);
  return policy.Properties.PolicyDocument.Statement as PolicyStatement[];
}
