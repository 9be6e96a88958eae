import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Context } from 'kindling';
import { shipFunction } from '../../src/closure/index.js';

describe('built-ins passed directly', () => {
  test('travel as the expression that names them in every worker', () => {
    expect(shipFunction(Number, 'map function').src).toBe('Number');
    expect(shipFunction(Math.max, 'reduce function').src).toBe('Math.max');
    expect(shipFunction(JSON.parse, 'map function').src).toBe('JSON.parse');
    expect(shipFunction(Number.parseFloat, 'map function').src).toBe('parseFloat');
    expect(shipFunction(console.log, 'foreach function').src).toBe('console.log');
  });

  describe('run in the workers', () => {
    let sc: Context;
    beforeAll(() => {
      sc = new Context({ master: 'local[2]', progress: false });
    });
    afterAll(async () => {
      await sc.stop();
    });

    test('map(Number), map(parseInt), map(parseFloat) convert each element (called with one argument)', async () => {
      const xs = sc.parallelize(['1', '2', '10', '7'], 2);
      expect(await xs.map(Number).collect()).toEqual([1, 2, 10, 7]);
      // Array.prototype.map would pass the index as parseInt's radix (['1','2','10','7'].map(parseInt) is
      // [1, NaN, 2, NaN]); RDD map passes the element only.
      expect(await xs.map(parseInt).collect()).toEqual([1, 2, 10, 7]);
      expect(await sc.parallelize(['1.5', '2e3']).map(parseFloat).collect()).toEqual([1.5, 2000]);
    });

    test('map(JSON.parse), map(String), filter(Boolean), reduce(Math.max), map(Math.sqrt)', async () => {
      expect(await sc.parallelize(['{"a":1}', '[2]']).map(JSON.parse).collect()).toEqual([{ a: 1 }, [2]]);
      expect(await sc.parallelize([1, true, null]).map(String).collect()).toEqual(['1', 'true', 'null']);
      expect(await sc.parallelize([0, 1, '', 'a', null, 2], 3).filter(Boolean).collect()).toEqual([1, 'a', 2]);
      expect(await sc.parallelize([3, 9, 1, 7], 2).reduce(Math.max)).toBe(9);
      expect(await sc.parallelize([4, 9]).map(Math.sqrt).collect()).toEqual([2, 3]);
      expect(
        await sc
          .parallelize([[1, 'a']])
          .map(JSON.stringify)
          .collect(),
      ).toEqual(['[1,"a"]']);
    });

    test('foreach(console.log) runs without a wrapper', async () => {
      await expect(sc.parallelize([1, 2]).foreach(console.log)).resolves.toBeUndefined();
    });
  });
});
