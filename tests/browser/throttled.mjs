#!/usr/bin/env node
// What a person sees when the site's tenant is over its QPS quota (SPEC §7): the widget's
// init is refused with 429 Throttling, the widget says the network is busy and offers a
// retry; once the quota is back, the retry brings the slider.
//
//   node tests/browser/throttled.mjs <baseUrl> <sceneId> <screenshotDir> <quotaBackAtUnixMs>
//
// The caller has used up the tenant's quota so that it comes back at <quotaBackAtUnixMs>.
// Prints one line per check and finally "N passed, M failed"; exits 1 on any failure.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AS_PERSON, ARGS, CHROMIUM, chromium, report, sleep, totals } from './lib.mjs';

const [baseArg, sceneId, shotDir, backAtArg] = process.argv.slice(2);
if (!baseArg || !sceneId || !shotDir || !backAtArg) {
  console.error('usage: node throttled.mjs <baseUrl> <sceneId> <screenshotDir> <quotaBackAtUnixMs>');
  process.exit(2);
}
const baseUrl = baseArg.replace(/\/+$/, '');
const backAt = Number(backAtArg);
mkdirSync(shotDir, { recursive: true });

const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...AS_PERSON] });
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  // Recorded as each response arrives, its body filled in when read: the widget may show
  // its message before this handler has read a body, so the checks wait for the bodies.
  const inits = [];
  page.on('response', (res) => {
    if (res.url().endsWith('/api/v1/init')) {
      const init = { status: res.status(), body: null, retryAfter: res.headers()['retry-after'] };
      init.read = res.json().then(
        (body) => (init.body = body),
        () => {}
      );
      inits.push(init);
    }
  });
  const bodiesRead = () => Promise.all(inits.map((i) => i.read));
  await page.goto(`${baseUrl}/demo/${encodeURIComponent(sceneId)}?mode=embed&style=callback&lang=en`);

  const bar = page.locator('.stile-bar.stile-error');
  await bar.waitFor({ state: 'visible', timeout: 10000 }).catch(() => {});
  await bodiesRead();
  const refused = inits.find((i) => i.status === 429);
  report(
    !!refused && refused.body?.code === 'Throttling' && Number(refused.retryAfter) >= 1,
    'init over the quota is refused with 429 Throttling and Retry-After',
    JSON.stringify(inits.map((i) => [i.status, i.body?.code, i.retryAfter]))
  );
  const text = (await bar.textContent().catch(() => '')) || '';
  report(text.includes('Network is busy, please try again later'), 'the widget says the network is busy', text);
  report(
    (await bar.getAttribute('role').catch(() => null)) === 'button',
    'the message is a button that retries'
  );
  await page.screenshot({ path: join(shotDir, 'throttled-busy.png') });

  // The quota comes back; the person clicks the message.
  await sleep(Math.max(0, backAt - Date.now()) + 300);
  await bar.click();
  const slider = page.locator('#aliyunCaptcha-sliding-body');
  const shown = await slider.waitFor({ state: 'visible', timeout: 10000 }).then(() => true, () => false);
  report(shown, 'once the quota is back, the retry shows the slider', JSON.stringify(inits.map((i) => i.status)));
  report(inits.at(-1)?.status === 200, 'the retried init was admitted');
  await page.screenshot({ path: join(shotDir, 'throttled-recovered.png') });
} finally {
  await browser.close();
}
const { passed, failed } = totals();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
