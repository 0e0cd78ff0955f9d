import type { Browser } from 'playwright-core';
import { describeWithBrowser, launchChromium } from '../support/browser';
import { createTestRegister, type TestRegister } from '../support/register';

describeWithBrowser('the REST API page (/rest/docs) in a real browser', () => {
  let register: TestRegister;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    register = await createTestRegister();
    base = await register.listen();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await register?.close();
  });

  it('shows every REST endpoint with nothing fetched from anywhere but the service', async () => {
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    // Anything not from the service fails, as it would on a closed network.
    await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : (elsewhere.push(route.request().url()), route.abort())));
    await page.goto(`${base}/rest/docs`);
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    const shown = await page.locator('.opblock-summary-path').allInnerTexts();
    const paths = shown.map((text) => text.replace(/\u200b/g, '').trim());
    for (const path of ['/rest/v1/personer', '/rest/v2/personer', '/rest/v2/krr/hentEndringer', '/rest/v1/person', '/.well-known/jwks.json']) {
      expect(paths).toContain(path);
    }
    expect(elsewhere).toEqual([]);
    await page.close();
  });
});
