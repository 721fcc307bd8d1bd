/**
 * The personal data the test suite feeds in (sandbox buyers and test fixtures) and detectors for it, so a scan of
 * every log line can prove none of it leaks.
 */
import { profileFor } from '../../local/sandboxes/mirakl/catalogue';

const SANDBOX_PROFILES = ['debenhams', 'decathlon', 'another-marketplace'].map((id, i) =>
  profileFor({ id, apiKey: 'scan' }, i),
);

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function alternatives(values: Iterable<string>): string {
  return [...new Set(values)].map(escape).sort((a, b) => b.length - a.length).join('|');
}

const countries = SANDBOX_PROFILES.flatMap((p) => p.countries);
const firstNames = new Set(['Jane', ...countries.flatMap((c) => c.firstNames)]);
const lastNames = new Set(['Doe', ...countries.flatMap((c) => c.lastNames)]);
const streets = new Set(['Example Road', ...countries.flatMap((c) => c.places.flatMap((place) => place.streets))]);

export const PERSONAL_DATA_DETECTORS: { kind: string; pattern: RegExp }[] = [
  { kind: 'e-mail address', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/ },
  { kind: 'phone number', pattern: /\+\d{1,3}[ .-]?\d{3,4}[ .-]?\d{3}[ .-]?\d{3,4}\b/ },
  { kind: 'buyer name', pattern: new RegExp(`\\b(?:${alternatives(firstNames)})\\s+(?:${alternatives(lastNames)})\\b`, 'u') },
  { kind: 'street address', pattern: new RegExp(`\\b\\d{1,4},?\\s+(?:${alternatives(streets)})\\b`, 'u') },
];

export interface PersonalDataFinding {
  kind: string;
  /** Where it was seen, and the line with the match masked, so the report itself leaks nothing. */
  source: string;
  line: string;
}

export function findPersonalData(text: string, source: string): PersonalDataFinding[] {
  const findings: PersonalDataFinding[] = [];
  for (const line of text.split('\n')) {
    for (const { kind, pattern } of PERSONAL_DATA_DETECTORS) {
      const match = pattern.exec(line);
      if (match) {
        findings.push({ kind, source, line: line.replace(match[0], `<${kind}>`).slice(0, 300) });
      }
    }
  }
  return findings;
}
