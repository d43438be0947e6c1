import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { which } from '../../../core/util/which.js';
import { ARTIFACTS_DIR } from '../../helpers/media.js';

/** Browser tests write screenshots here; `npm run screenshots` copies them to docs/img. */
export const SCREENSHOT_DIR = join(ARTIFACTS_DIR, 'screenshots');

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/** Debian's chromium, driven by playwright-core (no downloaded browser). */
export async function launchChromium(): Promise<Browser> {
  const exe = which('chromium') ?? '/usr/bin/chromium';
  return chromium.launch({ executablePath: exe, args: CHROMIUM_FLAGS, headless: true });
}

export interface WallPage {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

/** A fresh context (own cookies) logged in through the real login form. */
export async function openWall(
  browser: Browser,
  url: string,
  username: string,
  password: string,
  viewport = { width: 1600, height: 900 },
  /** The browser's own zone: the page must show the gateway's zone whatever this is. */
  timezoneId = 'Asia/Shanghai',
  /** Runs on the context before the page opens (e.g. routeWebSocket to hold pushes back). */
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<WallPage> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId });
  await prepare?.(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.locator('#login-username').fill(username);
  await page.locator('#login-password').fill(password);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.locator('#conn.on').waitFor();
  return { context, page, errors };
}

/** The catalogue keys the page had no string for (`data-i18n-missing` on <html>); '' when none. */
export function i18nMissing(page: Page): Promise<string> {
  // The page side, typed structurally: the project compiles without the DOM lib.
  type Doc = { documentElement: { dataset: Record<string, string | undefined> } };
  return page.evaluate(
    () => (globalThis as unknown as { document: Doc }).document.documentElement.dataset.i18nMissing ?? '',
  );
}
