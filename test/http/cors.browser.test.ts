/**
 * CORS as a browser enforces it: a page served from another origin (a small static server
 * this test starts, reached under two names) calls the register with a bearer token.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { LookUpStatusesDocument } from '../generated/graphql';
import { describeWithBrowser, launchChromium } from '../support/browser';
import { requestBody } from '../support/operations';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

const [known] = syntheticIds(1);

/** Runs in the page: a lookup the way a frontend makes it (fetch, JSON, bearer token). */
async function callFromPage(page: Page, url: string, token: string, body: unknown): Promise<{ status: number; json: unknown } | { blocked: string }> {
  return page.evaluate(
    async ([target, bearer, payload]) => {
      try {
        const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify(payload) });
        return { status: res.status, json: await res.json() };
      } catch (error) {
        return { blocked: String(error) };
      }
    },
    [url, token, body] as const,
  );
}

describeWithBrowser('a page on another origin calling the register (CORS in Chromium)', () => {
  let register: TestRegister;
  let api: string;
  let frontend: http.Server;
  let port: number;
  let browser: Browser;
  let token: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    frontend = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>frontend</title><p>frontend</p>'));
    await new Promise<void>((resolve) => frontend.listen(0, '127.0.0.1', resolve));
    port = (frontend.address() as AddressInfo).port;
    // The same static server answers as both; only the first is listed.
    register = await createTestRegister({ KRR_CORS_ORIGINS: `http://saksbehandling.example:${port}` });
    await register.put(aPerson(known));
    api = await register.listen();
    token = await register.agencyToken();
    browser = await launchChromium(['--host-resolver-rules=MAP *.example 127.0.0.1']);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await register?.close();
    frontend?.close();
  });

  const pageAt = async (origin: string) => {
    const page = await browser.newPage();
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    await page.goto(`${origin}/`);
    return page;
  };

  it('gets the answer when the page’s origin is listed', async () => {
    const page = await pageAt(`http://saksbehandling.example:${port}`);
    const graphql = await callFromPage(page, `${api}/graphql`, token, requestBody(LookUpStatusesDocument, { ids: [known] }));
    expect(graphql).toEqual({ status: 200, json: { data: { persons: [{ id: known, status: 'ACTIVE' }] } } });
    const rest = await callFromPage(page, `${api}/rest/v2/personer`, token, { personidentifikatorer: [known] });
    expect(rest).toMatchObject({ status: 200, json: { personer: [{ personidentifikator: known, status: 'AKTIV' }] } });
    await page.close();
  });

  it('is blocked by the browser when it is not', async () => {
    const seen: string[] = [];
    // Express has routed the request by now: originalUrl, not the mount-relative url.
    const record = (req: http.IncomingMessage & { originalUrl?: string }) => seen.push(`${req.method} ${req.originalUrl ?? req.url}`);
    register.server.httpServer.on('request', record);
    const page = await pageAt(`http://elsewhere.example:${port}`);
    const graphql = await callFromPage(page, `${api}/graphql`, token, requestBody(LookUpStatusesDocument, { ids: [known] }));
    expect(graphql).toEqual({ blocked: expect.stringMatching(/Failed to fetch/) });
    const rest = await callFromPage(page, `${api}/rest/v2/personer`, token, { personidentifikatorer: [known] });
    expect(rest).toEqual({ blocked: expect.stringMatching(/Failed to fetch/) });
    expect(consoleErrors.join('\n')).toMatch(/has been blocked by CORS policy/);
    // The preflights were refused, so the lookups themselves were never sent.
    register.server.httpServer.off('request', record);
    expect(seen).toEqual(['OPTIONS /graphql', 'OPTIONS /rest/v2/personer']);
    await page.close();
  });
});
