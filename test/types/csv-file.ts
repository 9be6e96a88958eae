/**
 * Compile-time specification (checked by `tsc -p test`, part of `npm test`): `sc.csvFile` takes its `header` as a
 * boolean known only at run time, giving records or field lists; literal `header`s keep their precise types.
 */
import type { Context, CsvFileOptions, RDD } from 'kindling';

export function csvFileTypeChecks(sc: Context, hasHeader: boolean, options: CsvFileOptions): void {
  const records: RDD<Record<string, string>> = sc.csvFile('a.csv');
  const fields: RDD<string[]> = sc.csvFile('a.csv', { header: false });
  const either: RDD<Record<string, string> | string[]> = sc.csvFile('a.csv', { header: hasHeader });
  const eitherTab: RDD<Record<string, string> | string[]> = sc.csvFile('a.tsv', { header: hasHeader, delimiter: '\t' });
  const nullable: RDD<Record<string, string | null> | Array<string | null>> = sc.csvFile('a.csv', { header: hasHeader, nullValue: 'NA' });
  const permissive: RDD<Record<string, string | null> | Array<string | null>> = sc.csvFile('a.csv', { header: hasHeader, mode: 'PERMISSIVE' });
  const whole: RDD<Record<string, string> | string[]> = sc.csvFile('a.csv', options);
  void [records, fields, either, eitherTab, nullable, permissive, whole];

  // @ts-expect-error a header known only at run time may give field lists, not only records
  const notOnlyRecords: RDD<Record<string, string>> = sc.csvFile('a.csv', { header: hasHeader });
  void notOnlyRecords;
}
