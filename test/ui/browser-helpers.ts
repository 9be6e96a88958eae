/**
 * What the browser specs share: Debian's chromium (CHROMIUM_PATH to use another), which CI must have (.ci/run
 * installs it), screenshots written to docs/ui when UPDATE_UI_SCREENSHOTS=1, and one page on a fresh context's UI.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Context } from 'kindling';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`CI must run the browser tests, but ${CHROMIUM} is missing (.ci/run installs chromium)`);
if (!haveBrowser) console.warn(`browser tests skipped: ${CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_PATH)`);

const shots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/ui');

/** Writes docs/ui/NAME.png when UPDATE_UI_SCREENSHOTS=1. */
export async function shot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_UI_SCREENSHOTS !== '1') return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

export interface BrowserUi {
  readonly browser: Browser;
  readonly page: Page;
  readonly sc: Context;
  readonly url: string;
  close(): Promise<void>;
}

/** A chromium page and a local[2] context whose UI listens on a free port. */
export async function openBrowserUi(appName: string): Promise<BrowserUi> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const sc = new Context({ master: 'local[2]', progress: false, hints: false, appName, ui: { port: 0 } });
  const url = (await sc.uiWebUrl())!;
  return {
    browser,
    page,
    sc,
    url,
    close: async () => {
      await browser.close();
      await sc.stop();
    },
  };
}
