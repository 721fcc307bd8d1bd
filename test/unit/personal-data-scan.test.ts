import { describe, expect, it } from 'vitest';
import { findPersonalData } from '../support/personalData';

describe('personal-data detectors used by the whole-suite log scan', () => {
  it.each([
    ['e-mail address', '{"message":"sent","to":"q7k2m9x1ab.c0d3@notification.mirakl.net"}'],
    ['phone number', 'calling +44 7700 900123 now'],
    ['buyer name', '{"buyer":"Amelia Taylor"}'],
    ['buyer name', 'name=Léa Dubois'],
    ['street address', 'ship to 12 Example Road'],
    ['street address', 'at 221 Deansgate, Manchester'],
  ])('finds a %s and masks it in the report', (kind, line) => {
    const [finding] = findPersonalData(line, 'worker.log');
    expect(finding?.kind).toBe(kind);
    expect(finding?.line).toContain(`<${kind}>`);
  });

  it('leaves ordinary operational lines alone', () => {
    const lines = [
      '{"level":"INFO","message":"ingest run finished","marketplace":"debenhams","report":{"events":{"Order Confirmed":3}}}',
      'event debenhams:DEB-1001-A:refund:1106 delivered in 120 ms',
      'arn:aws:lambda:eu-west-1:000000000000:function:marketbridge-poller',
      '{"_aws":{"Timestamp":1795328953076},"WebhookRejected401":1}',
      'mirakl:debenhams:C-1001 profile upserted',
    ].join('\n');
    expect(findPersonalData(lines, 'worker.log')).toEqual([]);
  });
});
