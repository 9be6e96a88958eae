/// <reference lib="dom" />
/**
 * The web UI in a real browser (Debian's chromium, driven by playwright-core): pages update live while jobs
 * run, the DAG has one box per stage and the shuffle edges between them, the stage page shows the task
 * quantiles and the skew flag, Storage shows a cached RDD, Executors a killed worker.
 *
 * In CI the browser must be there (.ci/run installs it); elsewhere the tests skip, saying why, when it is not.
 * UPDATE_UI_SCREENSHOTS=1 writes docs/ui/*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AbortError, Context, capture, type RDD, type SchedulerEvent } from 'kindling';
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectGarbage } from '../fixtures/live-heap.js';
import { startHistoryServer } from '../../src/ui/history.js';
import { type BrowserUi, CHROMIUM, haveBrowser, openBrowserUi, shot } from './browser-helpers.js';
import { skewedJob } from '../scheduler/helpers.js';

function when(sc: Context, pred: (e: SchedulerEvent) => boolean): Promise<SchedulerEvent> {
  return new Promise((resolve) => {
    const off = sc.events.onAny((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

describe.skipIf(!haveBrowser)('web UI in Chromium', () => {
  let ui: BrowserUi;
  let page: Page;
  let sc: Context;
  let url: string;
  // The program keeps its cached RDD: one it dropped is unpersisted when collected (Spark's ContextCleaner), and
  // the Storage spec reads it after the spec that made it has returned.
  let ranks: RDD<[number, number]>;
  beforeAll(async () => {
    ui = await openBrowserUi('ui-demo');
    ({ page, sc, url } = ui);
  });
  afterAll(async () => {
    await ui?.close();
  });

  /** Loads a page and waits for its first rendering from the REST API. */
  async function open(p: string): Promise<void> {
    await page.goto(url + p);
    await page.waitForFunction(() => Number(document.body.dataset.rendered ?? 0) >= 1);
  }

  it('shows the jobs of an iterative program appear and complete without reloading', async () => {
    await open('/jobs/');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    expect(await page.locator('#completed-jobs').count()).toBe(0);
    // An iterative program: each iteration is a job over a cached RDD.
    ranks = sc
      .parallelize(
        Array.from({ length: 40 }, (_, i) => [i % 8, 1] as [number, number]),
        4,
      )
      .setName('ranks')
      .cache();
    let sum = 0;
    for (let i = 0; i < 3; i++) {
      const slow = ranks.mapValues(
        capture({ i }, (v: number) => {
          const until = Date.now() + 30;
          while (Date.now() < until);
          return v * (i + 1);
        }),
      );
      // Each iteration's job carries the description given with its job group, as Spark's Jobs page shows it.
      const running = sc.withJobGroup('ranks', () => slow.reduceByKey((a, b) => a + b, 2).collect(), `iteration ${i + 1}`);
      if (i === 1) {
        await page.locator('#active-jobs').waitFor();
        expect(await page.locator('#active-jobs tbody tr').count()).toBe(1);
        await shot(page, 'jobs-running');
      }
      sum += (await running).reduce((s, [, v]) => s + v, 0);
    }
    expect(sum).toBe(40 * (1 + 2 + 3));
    await page.waitForFunction(() => document.querySelectorAll('#completed-jobs tbody tr').length === 3);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator('#active-jobs').count()).toBe(0);
    expect(await page.locator('#completed-jobs tbody tr').first().innerText()).toContain('SUCCEEDED');
    // The description first, the action that ran the job under it.
    expect(await page.locator('#completed-jobs tbody tr').first().innerText()).toMatch(/iteration 3\s+collect at /);
    expect(await page.locator('svg.timeline rect.job').count()).toBe(3);
    await shot(page, 'jobs');
  });

  it('draws a job’s DAG: one box per stage with its RDDs, and the shuffle edges between stages', async () => {
    const words = sc.parallelize('a b c a b a d e f a'.split(' '), 3);
    await words
      .map((w) => [w, 1] as [string, number])
      .reduceByKey((a, b) => a + b, 2)
      .map(([w, n]) => [n, w] as [number, string])
      .groupByKey(2)
      .collect();
    const jobs = (await (await fetch(`${url}/api/v1/applications/${sc.applicationId}/jobs`)).json()) as Array<{ jobId: number; stageIds: number[] }>;
    const job = jobs[0]!;
    expect(job.stageIds).toHaveLength(3);
    await open(`/jobs/job/?id=${job.jobId}`);
    await page.locator('#dag svg').waitFor();
    const boxes = await page.locator('#dag g.stage').evaluateAll((gs) => gs.map((g) => Number((g as HTMLElement).dataset.stageId)));
    expect(boxes.sort()).toEqual(job.stageIds);
    const edges = await page
      .locator('#dag path.edge.shuffle')
      .evaluateAll((ps) => ps.map((p) => [Number((p as HTMLElement).dataset.fromStage), Number((p as HTMLElement).dataset.toStage)]));
    const [s0, s1, s2] = job.stageIds;
    expect(edges.sort()).toEqual([
      [s0, s1],
      [s1, s2],
    ]);
    // Every RDD box sits inside its stage's box.
    expect(await page.locator('#dag g.rdd').count()).toBeGreaterThanOrEqual(5);
    // A drawing wider than the window scrolls in its own box; the page itself does not grow sideways.
    const widths = await page.evaluate(() => ({
      svg: document.querySelector('#dag svg')!.getBoundingClientRect().width,
      page: document.documentElement.scrollWidth,
      window: window.innerWidth,
    }));
    expect(widths.svg).toBeGreaterThan(widths.window - 40);
    expect(widths.page).toBeLessThanOrEqual(widths.window);
    await shot(page, 'job-dag');
  });

  it('shows a stage’s task quantiles, a sortable task table, and the skew flag of a skewed stage', async () => {
    await skewedJob(sc, 1100);
    const stages = (await (await fetch(`${url}/api/v1/applications/${sc.applicationId}/stages`)).json()) as Array<{
      stageId: number;
      attemptId: number;
      kindlingSkew: unknown;
    }>;
    const skewed = stages.find((s) => s.kindlingSkew !== null)!;
    expect(skewed).toBeDefined();
    const summary = (await (await fetch(`${url}/api/v1/applications/${sc.applicationId}/stages/${skewed.stageId}/0/taskSummary`)).json()) as {
      shuffleReadRecords: number[];
    };
    await open(`/stages/stage/?id=${skewed.stageId}&attempt=0`);
    const row = await page.locator('#quantiles tr', { hasText: 'Shuffle Read Records' }).locator('td').allInnerTexts();
    expect(row.slice(1).map(Number)).toEqual(summary.shuffleReadRecords);
    // One row per summarized metric, Spark's output and spill metrics among them.
    expect(await page.locator('#quantiles tbody tr').count()).toBe(17);
    for (const name of ['Output Records', 'Output Size', 'Spill (Memory)', 'Spill (Disk)']) {
      expect(await page.locator('#quantiles tr', { hasText: name }).count()).toBe(1);
    }
    expect(await page.locator('#skew').innerText()).toMatch(/Skewed stage: partition \d+ computed 1\.\d s/);
    // Sorting by duration, slowest first: two clicks on the header.
    await page.locator('#tasks th[data-sort="run"]').click();
    await page.locator('#tasks th[data-sort="run"]').click();
    const firstIndex = await page.locator('#tasks tbody tr').first().locator('td').first().innerText();
    expect(Number(firstIndex)).toBe((skewed.kindlingSkew as { partition: number }).partition);
    await shot(page, 'stage');
  });

  it('lists a cached RDD on the Storage page, with its partitions', async () => {
    // A collection between the specs must not matter while the program holds the RDD.
    collectGarbage();
    await new Promise((r) => setTimeout(r, 20));
    await open('/storage/');
    const row = page.locator('#rdds tbody tr', { hasText: 'ranks' });
    await row.waitFor();
    expect(await row.innerText()).toMatch(/MEMORY_ONLY\s+4\/4\s+100%/);
    await shot(page, 'storage');
    await row.locator('a').click();
    await page.locator('#partitions').waitFor();
    expect(await page.locator('#partitions tbody tr').count()).toBe(4);
  });

  it('shows a killed worker as dead on the Executors page, live, next to its replacement', async () => {
    await open('/executors/');
    expect(await page.locator('#executors tbody tr').count()).toBe(2);
    // Worker 1's replacement, by index: another worker's (a late one of an earlier spec) is not this spec's moment.
    const replaced = when(sc, (e) => e.type === 'workerAdded' && e.replacement && e.workerIndex === 1);
    await sc.faults.killWorker(1);
    await replaced;
    await page.waitForFunction(() => document.querySelectorAll('#executors tbody tr').length === 3);
    const dead = page.locator('#executors tbody tr', { hasText: 'Dead' });
    expect(await dead.count()).toBe(1);
    expect(await dead.locator('td').first().innerText()).toBe('1');
    await shot(page, 'executors');
    // The Jobs page's event timeline draws workers too: three added (the replacement among them), one removed.
    await open('/jobs/');
    expect(await page.locator('svg.timeline line.worker-added').count()).toBe(3);
    expect(await page.locator('svg.timeline line.worker-removed').count()).toBe(1);
    expect(await page.locator('svg.timeline line.worker-removed title').textContent()).toMatch(/^worker 1 removed: /);
    await open('/environment/');
    expect(await page.locator('#properties').innerText()).toContain('local[2]');
    await shot(page, 'environment');
  });
});

describe.skipIf(!haveBrowser)('web UI in Chromium: names from the program are text, never markup', () => {
  it('shows an RDD name, a job description, a job group, an application name and an error holding markup escaped on every page', async () => {
    const evil = (n: number) => `<img src=x onerror="window.__xss=${n}"><script>window.__xss=${n}</script>`;
    const ui = await openBrowserUi(`app ${evil(1)}`);
    const { page, sc, url } = ui;
    try {
      const cached = sc
        .parallelize([1, 2, 3, 4], 2)
        .map((x) => [String(x % 2), x] as [string, number])
        .reduceByKey((a, b) => a + b)
        .setName(`rdd ${evil(2)}`)
        .cache();
      await sc.withJobGroup(`group ${evil(3)}`, () => cached.count(), `description ${evil(4)}`);
      await expect(
        sc
          .parallelize([1], 1)
          .map(() => {
            throw new Error('bad <img src=x onerror="window.__xss=5">');
          })
          .collect(),
      ).rejects.toThrow();
      const api = `${url}/api/v1/applications/${sc.applicationId}`;
      const jobs = (await (await fetch(`${api}/jobs`)).json()) as Array<{ jobId: number; stageIds: number[] }>;
      const rdd = ((await (await fetch(`${api}/storage/rdd`)).json()) as Array<{ id: number }>)[0]!;
      const pages = [
        '/jobs/',
        ...jobs.map((j) => `/jobs/job/?id=${j.jobId}`),
        '/stages/',
        ...jobs.flatMap((j) => j.stageIds.map((s) => `/stages/stage/?id=${s}&attempt=0`)),
        '/storage/',
        `/storage/rdd/?id=${rdd.id}`,
        '/executors/',
        '/environment/',
        `/jobs/job/?id=${encodeURIComponent(evil(6))}`,
        `/stages/stage/?id=0&attempt=${encodeURIComponent(evil(7))}`,
      ];
      const seen = new Set<string>();
      for (const p of pages) {
        await page.goto(url + p);
        await page
          .waitForFunction(() => Number(document.body.dataset.rendered ?? 0) >= 1, undefined, { timeout: 10_000 })
          .catch((e: Error) => {
            throw new Error(`${p}: ${e.message}`);
          });
        // A job page draws its DAG after rendering: give scripts a moment to run, if any got in.
        await page.waitForTimeout(50);
        expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), p).toBeUndefined();
        expect(await page.locator('#content img, #content script').count(), p).toBe(0);
        const text = await page.locator('body').innerText();
        for (const name of ['rdd <img', 'description <img', 'bad <img', 'app <img']) if (text.includes(name)) seen.add(name);
      }
      // The names are shown, as text, somewhere: escaping did not just drop them.
      expect([...seen].sort()).toEqual(['app <img', 'bad <img', 'description <img', 'rdd <img']);
    } finally {
      await ui.close();
    }
  });
});

describe.skipIf(!haveBrowser)('history pages in Chromium: names from a log are text, never markup', () => {
  it('lists an application whose name holds markup escaped, and its pages too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-xss-log-'));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const name = 'app <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
      const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: false, appName: name, eventLog: { dir } });
      await sc.parallelize([1, 2], 1).setName('rdd <img src=x onerror="window.__xss=3">').cache().count();
      await sc.stop();
      const server = await startHistoryServer({ dir, port: 0 });
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}/`);
        await page.locator('#applications').waitFor();
        expect(await page.locator('#applications').innerText()).toContain('app <img');
        for (const p of [
          '/',
          `/history/${sc.applicationId}/jobs/`,
          `/history/${sc.applicationId}/storage/`,
          `/history/${sc.applicationId}/environment/`,
        ]) {
          await page.goto(server.url + p);
          if (p === '/') await page.locator('#applications').waitFor();
          else await page.waitForFunction(() => Number(document.body.dataset.rendered ?? 0) >= 1);
          await page.waitForTimeout(50);
          expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), p).toBeUndefined();
          expect(await page.locator('#content img, #content script').count(), p).toBe(0);
        }
      } finally {
        await server.close();
      }
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveBrowser)('kill link on the Jobs page in Chromium', () => {
  it('shows a kill link on a running job only with ui.killEnabled; clicked and confirmed, it cancels that job', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      for (const killEnabled of [false, true]) {
        const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: { port: 0, killEnabled } });
        const page = await browser.newPage();
        try {
          const url = (await sc.uiWebUrl())!;
          const started = when(sc, (e) => e.type === 'taskStart');
          // Long enough never to end by itself; a cancelled task still computing is ended with its worker.
          const running = sc
            .parallelize([1, 2], 2)
            .map((x) => {
              const until = Date.now() + 120_000;
              while (Date.now() < until);
              return x;
            })
            .collect()
            .then(
              () => 'finished',
              (e: Error) => e,
            );
          await started;
          await page.goto(`${url}/jobs/`);
          await page.locator('#active-jobs tbody tr').first().waitFor();
          const row = page.locator('#active-jobs tbody tr').first();
          expect(await row.innerText()).toContain('RUNNING');
          expect(await row.locator('button.kill').count(), `killEnabled ${killEnabled}`).toBe(killEnabled ? 1 : 0);
          if (!killEnabled) {
            sc.cancelAllJobs();
          } else {
            page.once('dialog', (d) => void d.accept());
            await row.locator('button.kill').click();
          }
          const err = await running;
          expect(err).toBeInstanceOf(AbortError);
          if (killEnabled) expect((err as Error).message).toMatch(/job 0.*killed from the UI/is);
          // The page follows live: the job is no longer active, and it has no kill link once finished.
          await page.waitForFunction(() => document.querySelectorAll('#active-jobs tbody tr').length === 0);
          expect(await page.locator('button.kill').count()).toBe(0);
        } finally {
          await page.close();
          await sc.stop();
        }
      }
    } finally {
      await browser.close();
    }
  });
});
