import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { aPerson, syntheticIds } from '../support/people';
import { describeWithBrowser, launchChromium } from '../support/browser';
import { createTestRegister, type TestRegister } from '../support/register';
import { killAllServices, startService, type RunningService } from '../support/service';

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
    // Raw on purpose: what a person types into GraphiQL's editor, not a document a client sends.
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

describeWithBrowser('GraphiQL in development (npm start), first query in one click', () => {
  let service: RunningService;
  let browser: Browser;
  let page: Page;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-graphiql-dev-'));

  beforeAll(async () => {
    // NODE_ENV unset: development, as `npm start` runs on a newcomer's machine.
    service = await startService({ KRR_DATA_DIR: dataDir, KRR_SEED_COUNT: '200' });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(service.url);
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    await page.waitForSelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror-line', { timeout: 20_000 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    killAllServices();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The whole text of the shown CodeMirror at `selector` (it renders only the lines in view; GraphiQL hides editors with `.hidden`). */
  const editorText = (selector: string) =>
    page.evaluate((sel) => {
      type Wrapper = HTMLElement & { CodeMirror?: { getValue(): string } };
      const shown = [...document.querySelectorAll<Wrapper>(sel)].find((el) => el.offsetParent !== null && !el.closest('.hidden'));
      return shown?.CodeMirror?.getValue() ?? '';
    }, selector);
  const headers = async () => JSON.parse(await editorText('.graphiql-editor-tool .CodeMirror'));
  const result = async () => JSON.parse(await editorText('.result-window .CodeMirror'));
  const waitForResult = () =>
    page.waitForFunction(() => (document.querySelector('.result-window')?.textContent ?? '').includes('"data"'), null, { timeout: 20_000 }).catch(async (e) => {
      throw new Error(`${e}\n${await page.locator('.graphiql-container').textContent()}`);
    });

  it('shows the printed agency token in the Headers tab, and one press of run shows the people', async () => {
    expect(await headers()).toEqual({ Authorization: `Bearer ${service.token}` });
    await page.locator('.graphiql-execute-button').click();
    await waitForResult();
    const { data, errors } = await result();
    expect(errors).toBeUndefined();
    // 200 seeded people plus 5 not registered, all looked up.
    expect(data.persons).toHaveLength(205);
    expect(new Set(data.persons.map((p: { status: string }) => p.status))).toEqual(new Set(['ACTIVE', 'DELETED', 'NOT_REGISTERED']));
  });

  it('has a second tab signed in as a sample citizen, for the self-service operations', async () => {
    await page.locator('.graphiql-tab').nth(1).click();
    // GraphiQL turns the run button into a menu of the tab's operations once it has parsed the
    // tab's document, a moment after the switch: a click before that runs nothing. Wait for the
    // menu button, as a user waits to see it.
    await page.locator('.graphiql-execute-button[aria-haspopup="menu"]').click({ timeout: 10_000 });
    await page.getByRole('menuitem', { name: 'Me' }).click({ timeout: 10_000 });
    await waitForResult();
    const { data, errors } = await result();
    expect(errors).toBeUndefined();
    expect(data.me).toMatchObject({ status: 'ACTIVE', id: expect.stringMatching(/^\d{11}$/) });
  });

  it('puts either token in the current tab from the sidebar switch', async () => {
    await page.getByRole('button', { name: /development tokens/i }).click();
    // On the citizen's tab: its own token, then the agency's at the press of a button.
    expect((await headers()).Authorization).not.toBe(`Bearer ${service.token}`);
    await page.getByRole('button', { name: /^Agency/ }).click();
    expect(await headers()).toEqual({ Authorization: `Bearer ${service.token}` });
  });
});
