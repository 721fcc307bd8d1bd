/** The stack deploys each enabled marketing connector with the shared construct, and only the enabled ones. */
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfig, sandboxConfigInput } from '../../functions/shared/config';
import { addMarketBridge } from '../../lib/marketbridge-app';

describe('marketing connectors in the stack', () => {
  it('none without configuration', () => {
    expect(addMarketBridge(new App(), sandboxConfig).marketing).toEqual({});
  });

  it('each enabled connector gets its queue, DLQ, rule and function; synthesis passes cdk-nag', () => {
    const config = parseConfig({
      ...sandboxConfigInput,
      connectors: {
        klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo', maxConcurrency: 3 },
        dotdigital: { enabled: true, secretName: 'marketbridge/dotdigital', listId: 4001 },
        sfmc: { enabled: false, secretName: 'marketbridge/sfmc', subdomain: 'tenant' },
      },
    });
    const app = new App();
    const stack = addMarketBridge(app, config);
    expect(Object.keys(stack.marketing).sort()).toEqual(['dotdigital', 'klaviyo']);
    expect(() => app.synth()).not.toThrow();
    const template = Template.fromStack(stack);
    // The marketing connectors' mappings (the privacy consumer has its own, with small batches).
    const marketing = Object.values(stack.marketing).map((c) => stack.getLogicalId(c.function.node.defaultChild as CfnElement));
    const mappings = (
      Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as {
        Properties: { ScalingConfig?: { MaximumConcurrency: number }; BatchSize?: number; FunctionName: { Ref: string } };
      }[]
    ).filter((m) => marketing.includes(m.Properties.FunctionName.Ref));
    // Klaviyo's configured 3, Dotdigital's default 6 (what a history load needs to fill its bulk tier).
    expect(mappings.map((m) => m.Properties.ScalingConfig?.MaximumConcurrency).sort()).toEqual([3, 6]);
    expect(mappings.every((m) => m.Properties.BatchSize === 500)).toBe(true);
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Timeout: number; Description?: string } }[];
    expect(functions.find((f) => f.Properties.Description?.includes('Dotdigital'))?.Properties.Timeout).toBe(120);
  });
});
