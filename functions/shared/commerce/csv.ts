/**
 * The small CSV dialect the commerce loop reads and writes: RFC 4180 quoting (a doubled quote inside quotes) with a
 * chosen delimiter, `;` for Mirakl's stock files, `,` for SKU map files. Enough for files of a few columns.
 */

/** Rows of fields; blank lines are skipped, a UTF-8 BOM is ignored, CRLF and LF both end a row. */
export function parseCsv(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  const input = text.replace(/^\uFEFF/, '');
  const endRow = () => {
    if (fieldStarted || row.length > 0 || field !== '') row.push(field);
    if (row.length > 0 && !(row.length === 1 && row[0] === '')) rows.push(row);
    row = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < input.length; i += 1) {
    const char = input[i] as string;
    if (quoted) {
      if (char === '"' && input[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') {
      quoted = true;
      fieldStarted = true;
    } else if (char === delimiter) {
      row.push(field);
      field = '';
      fieldStarted = true;
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && input[i + 1] === '\n') i += 1;
      endRow();
    } else {
      field += char;
      fieldStarted = true;
    }
  }
  if (quoted) throw new Error('CSV ends inside a quoted field');
  endRow();
  return rows;
}

/** Rows as objects keyed by the header row's names. */
export function parseCsvRecords(text: string, delimiter: string): { header: string[]; records: Record<string, string>[] } {
  const [header = [], ...rows] = parseCsv(text, delimiter);
  const names = header.map((name) => name.trim());
  return { header: names, records: rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i] ?? '']))) };
}

function quote(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** Every field quoted, rows ended by LF. */
export function formatCsv(rows: readonly (readonly string[])[], delimiter: string): string {
  return rows.map((row) => row.map(quote).join(delimiter)).join('\n') + '\n';
}
