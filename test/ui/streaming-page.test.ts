/// <reference lib="dom" />
/**
 * The Streaming page in a real browser (Debian's chromium via playwright-core, like browser.test.ts): batches of a
 * running StreamingContext appear live, without reloading, with their records, and the statistics agree with the
 * batch events on the bus; a failing receiver shows its restarts and last error. In CI the browser must be there (.ci/run installs it).
 */
import type { Page } from 'playwright-core';
import { type BatchCompletedEvent, type Context, StreamingContext } from 'kindling';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type BrowserUi, CHROMIUM, haveBrowser, openBrowserUi, shot } from './browser-helpers.js';

describe.skipIf(!haveBrowser)(`Streaming page in Chromium${haveBrowser ? '' : ` (skipped: ${CHROMIUM} not found)`}`, () => {
  let ui: BrowserUi;
  let page: Page;
  let sc: Context;
  let url: string;
  beforeAll(async () => {
    ui = await openBrowserUi('streaming-ui');
    ({ page, sc, url } = ui);
  });
  afterAll(async () => {
    await ui?.close();
  });

  it('says so before any StreamingContext, then shows batches appear live with their records and delays', async () => {
    await page.goto(`${url}/streaming/`);
    await page.locator('#no-streaming').waitFor();
    const ssc = new StreamingContext(sc, { batchInterval: 200 });
    // Batch i holds 10 * (i + 1) records, then the queue runs dry (empty batches).
    const queue = Array.from({ length: 6 }, (_, i) => Array.from({ length: 10 * (i + 1) }, (_, j) => `r${i}-${j}`));
    const completed: BatchCompletedEvent[] = [];
    const off = sc.events.on('batchCompleted', (e) => void completed.push(e));
    ssc.queueStream(queue).foreachRDD(async (rdd) => void (await rdd.count()));
    await ssc.start();
    // The page was loaded before the stream started; the live stream must bring it in.
    await page.locator('#streaming-stats').waitFor({ timeout: 20_000 });
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await page.waitForFunction(() => document.querySelectorAll('#completed-batches tbody tr').length >= 8, undefined, { timeout: 30_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await shot(page, 'streaming');
    await ssc.stop({ stopContext: false, graceful: true });
    off();
    await page.waitForFunction(() => (document.getElementById('streaming-summary')?.textContent ?? '').startsWith('Stopped'), undefined, {
      timeout: 10_000,
    });
    const rows = await page
      .locator('#completed-batches tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    // Newest first; the records column of each batch is what its batchCompleted event said.
    const byId = new Map(completed.map((e) => [e.batch.id, e.records]));
    expect(rows.length).toBe(completed.length);
    for (const r of rows) {
      const id = Number(/#(\d+)/.exec(r[0]!)![1]);
      expect(Number(r[1]!.replace(/,/g, ''))).toBe(byId.get(id));
      expect(r[6]).toBe('1/1');
      expect(r[9]).toBe(''); // a queue stream has no broker, so no lag
      expect(r[10]).toBe('COMPLETED');
    }
    const total = completed.reduce((n, e) => n + e.records, 0);
    expect(total).toBe(10 * (1 + 2 + 3 + 4 + 5 + 6));
    expect(await page.locator('#streaming-summary').innerText()).toContain(
      `${completed.length} completed batches, ${total.toLocaleString('en-US')} records`,
    );
    // Four metrics with a timeline each; processing time is drawn against the batch interval.
    expect(await page.locator('#streaming-stats tbody tr').count()).toBe(4);
    expect(await page.locator('#streaming-stats svg.sparkline polyline').count()).toBe(4);
    expect(await page.locator('#streaming-stats svg.sparkline line.interval').count()).toBe(1);
    expect(await page.locator('#nav a.active').innerText()).toBe('Streaming');
    // A queue stream never fails: its receiver row has no restarts and no error.
    const receivers = await page.locator('#receivers tbody tr td').allInnerTexts();
    expect(receivers.slice(1, 3)).toEqual(['INACTIVE', '0']);
    expect(receivers.slice(3)).toEqual(['', '']);
  });

  it("lists the receivers with their restarts and last error, the input's text escaped", async () => {
    const ssc = new StreamingContext(sc, { batchInterval: 200 });
    // An input whose every attempt fails with text a page must not run as HTML.
    let attempts = 0;
    const failing = async function* (): AsyncGenerator<string> {
      if (++attempts > 0) throw new Error(`<img src=x onerror="window.injected=1"> & attempt ${attempts}`);
      yield 'never';
    };
    // Each restart's console line is expected, not news.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    ssc.fromAsyncIterable(failing, { name: 'feed <i>1</i>', restartDelayMs: 20 }).foreachRDD(async (rdd) => void (await rdd.count()));
    await ssc.start();
    try {
      await page.goto(`${url}/streaming/`);
      await page.waitForFunction(() => Number(document.querySelector('#receivers tbody tr td:nth-child(3)')?.textContent) >= 3, undefined, {
        timeout: 30_000,
      });
      const [name, status, restarts, time, error] = await page.locator('#receivers tbody tr td').allInnerTexts();
      expect(name).toBe('feed <i>1</i>');
      expect(status).toBe('ACTIVE');
      expect(Number(restarts)).toBeGreaterThanOrEqual(3);
      expect(time).toMatch(/\d{1,2}:\d{2}:\d{2}/);
      expect(error).toMatch(/^Error receiving data: <img src=x onerror="window.injected=1"> & attempt \d+$/);
      // Shown as text: no element of the input's made it into the page.
      expect(await page.locator('#receivers img, #receivers i').count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
    } finally {
      await ssc.stop({ stopContext: false });
      warn.mockRestore();
    }
  });
});
