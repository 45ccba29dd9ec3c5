/**
 * What a page of a web UI weighs on first load: bytes on the wire as encoded
 * (compressed), measured by Chromium itself. Shared by the UI benchmark and
 * the browser test that holds the UI under its size budget.
 */
import type { Browser } from 'playwright-core';

/** Bytes on the wire (as encoded) for everything a page loads until the network is idle. */
export async function firstLoadBytes(browser: Browser, url: string): Promise<{ bytes: number; requests: number; apiBytes: number }> {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  let bytes = 0;
  let apiBytes = 0;
  let requests = 0;
  const urls = new Map<string, string>();
  cdp.on('Network.requestWillBeSent', (e: { requestId: string; request: { url: string } }) => void urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e: { requestId: string; encodedDataLength: number }) => {
    // The UI itself (HTML, script, styles) apart from the data it then asks the API for.
    if (new URL(urls.get(e.requestId) ?? url).pathname.startsWith('/api/')) apiBytes += e.encodedDataLength;
    else {
      bytes += e.encodedDataLength;
      requests++;
    }
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  await page.close();
  return { bytes, requests, apiBytes };
}
