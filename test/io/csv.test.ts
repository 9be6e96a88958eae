/**
 * The CSV line parser with Spark's reader options: quote, escape, white space, null and empty values.
 */
import { describe, expect, it } from 'vitest';
import { checkCsvOptions, CsvLineParser } from '../../src/io/csv.js';

describe('CsvLineParser options', () => {
  it('reads RFC 4180 by default: doubled quotes, no nulls, white space kept', () => {
    expect(new CsvLineParser(',').push(' a ,"say ""hi""",,""')).toEqual([' a ', 'say "hi"', '', '']);
  });

  it("escape: Spark's backslash escapes the quote and itself inside quotes, and is itself elsewhere", () => {
    const p = new CsvLineParser(',', { escape: '\\' });
    expect(p.push('"a\\"b","c\\\\d","e\\f",g\\"h')).toEqual(['a"b', 'c\\d', 'e\\f', 'g\\"h']);
  });

  it('quote: another character, or none', () => {
    expect(new CsvLineParser(';', { quote: "'" }).push("'a;b';'it''s';\"x\"")).toEqual(['a;b', "it's", '"x"']);
    expect(new CsvLineParser(',', { quote: '' }).push('"a,b"')).toEqual(['"a', 'b"']);
  });

  it('ignoreLeadingWhiteSpace / ignoreTrailingWhiteSpace trim values, quoted ones around their quotes', () => {
    const both = new CsvLineParser(',', { ignoreLeadingWhiteSpace: true, ignoreTrailingWhiteSpace: true });
    expect(both.push('  a  ,  " b "  ,\t,x')).toEqual(['a', ' b ', '', 'x']);
    expect(new CsvLineParser(',', { ignoreLeadingWhiteSpace: true }).push('  a  , "b" ')).toEqual(['a  ', 'b ']);
    // A tab delimiter is not white space to drop.
    expect(new CsvLineParser('\t', { ignoreLeadingWhiteSpace: true, ignoreTrailingWhiteSpace: true }).push('\t a \t')).toEqual(['', 'a', '']);
  });

  it('nullValue: a field equal to it is null, but a quoted empty field reads emptyValue (Spark 2.4+)', () => {
    expect(new CsvLineParser(',', { nullValue: '' }).push('a,,""')).toEqual(['a', null, '']);
    expect(new CsvLineParser(',', { nullValue: 'NA', emptyValue: '-' }).push('NA,"NA","",NAN')).toEqual([null, null, '-', 'NAN']);
  });

  it('refuses characters that cannot work', () => {
    expect(() => checkCsvOptions(',', { quote: ',' })).toThrow(/other than the quote/);
    expect(() => checkCsvOptions(',', { escape: ',' })).toThrow(/other than the quote, the escape/);
    expect(() => checkCsvOptions(',', { quote: 'ab' })).toThrow(/quote must be one character/);
    expect(() => checkCsvOptions(',', { comment: '' })).toThrow(/comment must be one character/);
    expect(() => checkCsvOptions(',', { quote: '', escape: '\\', comment: '#', nullValue: '', emptyValue: '' })).not.toThrow();
  });
});
