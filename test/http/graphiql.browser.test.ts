import type { Browser, Page } from 'playwright-core';
import { aPerson, syntheticIds } from '../support/people';
import { describeWithBrowser, launchChromium } from '../support/browser';
import { createTestRegister, type TestRegister } from '../support/register';

const [known] = syntheticIds(1);

describeWithBrowser('GraphiQL in a real browser', () => {
  let register: TestRegister;
  let base: string;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    register = await createTestRegister();
    await register.put(aPerson(known, { email: null }));
    base = await register.listen();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`${base}/graphql`);
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await register?.close();
  });

  /**
   * GraphiQL 3's editors are CodeMirror 5 instances, reachable from their wrapper element.
   * Setting the text directly avoids CodeMirror's auto-closing of brackets while typing.
   */
  const setEditor = (selector: string, value: string) =>
    page.evaluate(
      ([sel, text]) => {
        type Wrapper = HTMLElement & { CodeMirror?: { setValue(v: string): void } };
        const visible = [...document.querySelectorAll<Wrapper>(sel)].find((el) => el.offsetParent !== null);
        if (!visible?.CodeMirror) throw new Error(`no visible editor at ${sel}`);
        visible.CodeMirror.setValue(text);
      },
      [selector, value] as const,
    );

  it('loads the schema and shows it in the documentation explorer', async () => {
    await page.getByRole('button', { name: /documentation explorer/i }).click();
    await page.getByText('Query', { exact: true }).first().click();
    await page.waitForSelector('text=persons');
    await page.getByText('persons', { exact: true }).first().click();
    await page.waitForSelector('text=Look up 1 to 1000 people');
  });

  it('runs a lookup with the Authorization header set in the Headers editor', async () => {
    await setEditor('.graphiql-query-editor .CodeMirror', `query { persons(ids: ["${known}"]) { id status contactInfo { email { address } } } }`);
    // As a user would: open the Headers tab, select what is there, paste the header.
    await page.getByRole('button', { name: /^headers$/i }).click();
    await page.locator('.graphiql-editor-tool .CodeMirror:visible').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${await register.agencyToken()}` }));
    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(() => document.querySelector('.result-window')?.textContent?.includes('"ACTIVE"'), null, { timeout: 15_000 });
    const result = await page.locator('.result-window').textContent();
    expect(result).toContain(known);
    expect(result).toContain('"email": null');
  });

  it('made every request to the service itself, none to a CDN', () => {
    expect(requested.length).toBeGreaterThan(4);
    const elsewhere = requested.filter((url) => !url.startsWith(base) && !url.startsWith('data:'));
    expect(elsewhere).toEqual([]);
  });
});
