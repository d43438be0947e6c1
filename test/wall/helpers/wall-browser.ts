import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium, openWall, SCREENSHOT_DIR, type WallPage } from './browser.js';
import { PASSWORD, startHarness, type Harness } from './wall-harness.js';

export interface WallBrowser {
  h: Harness;
  browser: Browser;
  /** A fresh context logged in as `user` through the login form (openWall's options). */
  open(
    user: string,
    viewport?: { width: number; height: number },
    timezoneId?: string,
    prepare?: (context: BrowserContext) => Promise<void>,
  ): Promise<WallPage>;
  /** Closes every opened context, then chromium, then the harness gateway. */
  close(): Promise<void>;
}

/**
 * One harness gateway and one Debian chromium for a browser test file, and the walls it opens,
 * closed together, so each file does not repeat the launch, login and teardown.
 */
export async function startWallBrowser(opts: Parameters<typeof startHarness>[0]): Promise<WallBrowser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const h = await startHarness(opts);
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (err) {
    await h.close();
    throw err;
  }
  const pages: WallPage[] = [];
  let closing: Promise<void> | undefined;
  return {
    h,
    browser,
    async open(user, viewport, timezoneId, prepare) {
      const p = await openWall(browser, h.url, user, PASSWORD, viewport, timezoneId, prepare);
      pages.push(p);
      return p;
    },
    close: () =>
      (closing ??= (async () => {
        for (const p of pages) await p.context.close();
        await browser.close();
        await h.close();
      })()),
  };
}
