#!/usr/bin/env node
// End-to-end check of the Stile widget in a real browser (Debian's Chromium via playwright-core).
//
//   node tests/browser/slider.mjs <baseUrl> <sceneId> <screenshotDir> [<powSceneId>]
//
// <sceneId> must be a slider scene with a demo page at <baseUrl>/demo/<sceneId>. For each of
// popup/embed × captchaVerifyCallback/success the script fills the demo's sign-up form, drags the
// slider like a person (lognormal submovements with corrections, tremor and drift, display-rate
// samples sent on schedule), expects the demo backend's verdict T001, then replays the same token and expects
// F008. It also checks: a drag released halfway fails without a verdict; the keyboard path; a
// touch drag on a phone-sized page; that a browser showing navigator.webdriver is refused; and,
// given <powSceneId> (a scene asking 18 bits of proof-of-work of everyone), that the widget
// works the proof out and passes. Every /api/v1/answer request is checked against the widget
// protocol on the way, its proof-of-work against node's own SHA-256.
//
// Prints one line per check and finally "N passed, M failed"; exits 1 on any failure.
// Needs `npm ci` in tests/browser (playwright-core only; the browser is /usr/bin/chromium —
// never `npx playwright install`).

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  AS_PERSON, ARGS, CHROMIUM, chromium, check, expect, mouseDrag, rand, randInt, report, sleep, totals, touchDrag, verdict,
} from './lib.mjs';

const [baseArg, sceneId, shotDir, powSceneId] = process.argv.slice(2);
if (!baseArg || !sceneId || !shotDir) {
  console.error('usage: node slider.mjs <baseUrl> <sceneId> <screenshotDir> [<sceneId asking 18 bits of work>]');
  process.exit(2);
}
const baseUrl = baseArg.replace(/\/+$/, '');
mkdirSync(shotDir, { recursive: true });
// Every drag answered, one JSON array of [x, y, t] per line, to see how the behaviour model
// rates them: `cargo run --release --bin train-behaviour -- --explain <file>`.
const tracesFile = join(shotDir, 'slider-drags.jsonl');
writeFileSync(tracesFile, '');

/* ----------------------------------------------------------------------------------------- */
/* Page helpers                                                                              */

function demoUrl(mode, style, scene = sceneId) {
  return `${baseUrl}/demo/${encodeURIComponent(scene)}?mode=${mode}&style=${style}&lang=en`;
}

/** Leading zero bits of SHA-256 over `text` (the proof-of-work, checked independently). */
function zeroBits(text) {
  const d = createHash('sha256').update(text).digest();
  let n = 0;
  for (const b of d) {
    if (b === 0) { n += 8; continue; }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/**
 * Open a page and watch it: uncaught errors, and every answer the widget sends (checked against
 * the protocol: certifyId, nonce, attempt sequence, slider answer shape).
 */
async function openDemo(context, mode, style, scene = sceneId) {
  const page = await context.newPage();
  const watch = { errors: [], answers: [], problems: [], inits: new Map() };
  page.on('pageerror', (e) => watch.errors.push(e.message));
  page.on('response', async (res) => {
    if (res.request().method() !== 'POST' || !res.url().endsWith('/api/v1/init')) return;
    try {
      const init = await res.json();
      watch.inits.set(init.certifyId, { ...init, at: performance.now() });
    } catch (e) {
      /* an error response */
    }
  });
  page.on('request', (req) => {
    if (req.method() !== 'POST' || !req.url().endsWith('/api/v1/answer')) return;
    try {
      const body = JSON.parse(req.postData() || '{}');
      body.sentAt = performance.now();
      watch.answers.push(body);
      if (!/^[0-9a-f]{16}$/.test(body.sig || '')) watch.problems.push(`answer not signed: ${body.sig}`);
      // The proof-of-work init asked for, checked with node's own SHA-256.
      const init = watch.inits.get(body.certifyId);
      if (init && init.pow > 0) {
        if (typeof body.pow !== 'string' || zeroBits(`${body.certifyId}.${body.nonce}.${body.pow}`) < init.pow) {
          watch.problems.push(`proof-of-work ${body.pow} does not meet ${init.pow} bits`);
        }
      }
      if (body.answer && body.answer.pointer !== 'keyboard' && Array.isArray(body.answer.points)) {
        appendFileSync(tracesFile, JSON.stringify(body.answer.points) + '\n');
      }
      const problem = protocolProblem(body);
      if (problem) watch.problems.push(problem);
    } catch (e) {
      watch.problems.push('answer body is not JSON');
    }
  });
  await page.goto(demoUrl(mode, style, scene), { waitUntil: 'load' });
  await page.fill('#demo-username', `ada_${randInt(1000, 9999)}`);
  await page.fill('#demo-password', 'correct horse battery staple');
  return { page, watch };
}

/** What is wrong with an /api/v1/answer body, or null. */
function protocolProblem(body) {
  if (typeof body.certifyId !== 'string' || !body.certifyId) return 'no certifyId';
  if (typeof body.nonce !== 'string' || !body.nonce) return 'no nonce';
  if (!Number.isInteger(body.attempt) || body.attempt < 1) return `bad attempt ${body.attempt}`;
  const a = body.answer || {};
  if (a.kind !== 'slider') return null;
  if (!(a.trackWidth >= 100)) return `bad trackWidth ${a.trackWidth}`;
  if (!['mouse', 'touch', 'pen', 'keyboard'].includes(a.pointer)) return `bad pointer ${a.pointer}`;
  if (!Array.isArray(a.points) || a.points.length < 2) return 'too few points';
  if (a.pointer !== 'keyboard' && a.points[0][0] !== 0) return `first point x is ${a.points[0][0]}, not 0`;
  for (let i = 0; i < a.points.length; i++) {
    const p = a.points[i];
    if (p.length !== 3 || p.some((v) => typeof v !== 'number' || !Number.isFinite(v))) return `bad point ${i}`;
    if (p[0] < 0 || p[0] > a.trackWidth) return `point ${i} x=${p[0]} outside 0..${a.trackWidth}`;
    if (i && p[2] < a.points[i - 1][2]) return `time runs backwards at point ${i}`;
  }
  const env = a.env || {};
  if (typeof env.webdriver !== 'boolean' || !Array.isArray(env.screen)) return 'env missing';
  return null;
}

function widgetSelector(mode) {
  return mode === 'popup' ? '#aliyunCaptcha-window-popup' : '#aliyunCaptcha-window-embed';
}

/** Open the popup (popup mode) or wait for the embedded slider. */
async function revealSlider(page, mode) {
  if (mode === 'popup') {
    await page.click('#demo-submit');
    await page.locator('#aliyunCaptcha-window-popup').waitFor({ state: 'visible', timeout: 5000 });
  }
  try {
    await page.locator('#aliyunCaptcha-sliding-slider').waitFor({ state: 'visible', timeout: 10000 });
  } catch (e) {
    // Say what the widget shows instead (an error bar carries the code in its title).
    const shown = await page
      .$eval('.stile-stage', (el) => `${el.textContent.trim()} ${el.firstElementChild?.title || ''}`.trim())
      .catch(() => 'no widget on the page');
    throw new Error(`no slider appeared; the widget shows: ${shown || '(nothing)'}`);
  }
}

/** Wait until the slider's data-state is one of `states`. */
async function waitForSliderState(page, states, timeout = 5000) {
  await page.waitForFunction(
    (wanted) => wanted.includes(document.querySelector('#aliyunCaptcha-sliding-wrapper')?.dataset.state),
    states,
    { timeout },
  );
}

function watchProblems(watch) {
  const all = [...watch.problems, ...watch.errors.map((e) => `page error: ${e}`)];
  expect(all.length === 0, all.join('; '));
}

/* ----------------------------------------------------------------------------------------- */
/* Checks                                                                                    */

async function passAndReplay(browser, mode, style) {
  const name = `${mode}+${style}`;
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, deviceScaleFactor: 2 });
  try {
    const { page, watch } = await openDemo(context, mode, style);
    let first;
    await check(`${name}: drag to the end gives verdict T001`, async () => {
      await revealSlider(page, mode);
      await mouseDrag(page, { shot: join(shotDir, `${name}-drag.png`), shotTarget: widgetSelector(mode) });
      if (mode === 'embed' && style === 'callback') {
        // The token waits for the business button.
        await waitForSliderState(page, ['success'], 10000);
        await sleep(300); // let the success transition settle
        await page.locator(widgetSelector(mode)).screenshot({ path: join(shotDir, `${name}-passed.png`) });
        await sleep(rand(250, 600));
        await page.click('#demo-submit');
      }
      first = await verdict(page);
      expect(first.result === 'true' && first.code === 'T001', `verdict ${first.code} result ${first.result}`);
      if (mode === 'popup') {
        await page.locator('#aliyunCaptcha-window-popup').waitFor({ state: 'hidden', timeout: 5000 });
      } else {
        await waitForSliderState(page, ['success', 'completed']);
      }
      await page.screenshot({ path: join(shotDir, `${name}-final.png`), fullPage: true });
      watchProblems(watch);
      const a = watch.answers[watch.answers.length - 1].answer;
      return `${a.points.length} points, pointer ${a.pointer}`;
    });
    await check(`${name}: replaying the same token gives F008`, async () => {
      expect(first, 'no first verdict');
      await page.click('#demo-replay');
      const again = await verdict(page, first.seq);
      expect(again.code === 'F008' && again.result === 'false', `verdict ${again.code} result ${again.result}`);
    });
  } finally {
    await context.close();
  }
}

async function releaseHalfway(browser) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, deviceScaleFactor: 2 });
  try {
    const { page, watch } = await openDemo(context, 'embed', 'success');
    await check('halfway release: failure shown, handle resets, no verdict', async () => {
      await revealSlider(page, 'embed');
      await mouseDrag(page, { fraction: rand(0.4, 0.6) });
      await waitForSliderState(page, ['fail'], 5000);
      await sleep(350); // let the handle slide home
      await page.locator('#aliyunCaptcha-window-embed').screenshot({ path: join(shotDir, 'halfway-fail.png') });
      await waitForSliderState(page, ['idle'], 5000);
      await sleep(500);
      const code = await page.$eval('#demo-verdict', (el) => el.getAttribute('data-code'));
      expect(code === null, `a verdict appeared: ${code}`);
      expect(watch.answers.length === 1, `${watch.answers.length} answers sent`);
      watchProblems(watch);
    });
  } finally {
    await context.close();
  }
}

async function keyboardPath(browser) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, deviceScaleFactor: 2 });
  try {
    const { page, watch } = await openDemo(context, 'embed', 'success');
    await check('keyboard: ArrowRight to the end gives verdict T001', async () => {
      await revealSlider(page, 'embed');
      await page.focus('#aliyunCaptcha-sliding-slider');
      const label = await page.getAttribute('#aliyunCaptcha-sliding-slider', 'aria-label');
      expect(label, 'handle has no aria-label');
      for (let i = 0; i < 40; i++) {
        const now = Number(await page.getAttribute('#aliyunCaptcha-sliding-slider', 'aria-valuenow'));
        if (now >= 100) break;
        await page.keyboard.down('ArrowRight');
        await sleep(rand(30, 70));
        await page.keyboard.up('ArrowRight');
        await sleep(rand(40, 110));
      }
      const v = await verdict(page);
      expect(v.code === 'T001', `verdict ${v.code}`);
      const a = watch.answers[watch.answers.length - 1].answer;
      expect(a.pointer === 'keyboard', `pointer ${a.pointer}`);
      watchProblems(watch);
      return `${a.points.length} points`;
    });
  } finally {
    await context.close();
  }
}

async function touchOnPhone(browser) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    hasTouch: true,
    isMobile: true,
  });
  try {
    const { page, watch } = await openDemo(context, 'popup', 'callback');
    const cdp = await context.newCDPSession(page);
    await check('touch (390×844): popup+callback drag gives verdict T001', async () => {
      await page.tap('#demo-submit');
      await page.locator('#aliyunCaptcha-window-popup').waitFor({ state: 'visible', timeout: 5000 });
      await touchDrag(page, cdp, { shot: join(shotDir, 'touch-drag.png'), shotTarget: '#aliyunCaptcha-window-popup' });
      const v = await verdict(page).catch(async (e) => {
        const state = await page
          .$eval('#aliyunCaptcha-sliding-slider', (el) => el.closest('[data-state]')?.dataset.state)
          .catch(() => 'gone');
        await page.screenshot({ path: join(shotDir, 'touch-no-verdict.png') });
        throw new Error(`${e.message.split('\n')[0]}; ${watch.answers.length} answers sent, slider state ${state}`);
      });
      expect(v.result === 'true' && v.code === 'T001', `verdict ${v.code} result ${v.result}`);
      await sleep(300); // the popup shows its success state for a moment before closing
      await page.screenshot({ path: join(shotDir, 'touch-final.png') });
      await page.locator('#aliyunCaptcha-window-popup').waitFor({ state: 'hidden', timeout: 5000 });
      const a = watch.answers[watch.answers.length - 1].answer;
      expect(a.pointer === 'touch', `pointer ${a.pointer}`);
      watchProblems(watch);
      return `${a.points.length} points`;
    });
  } finally {
    await context.close();
  }
}

/** A scene that asks for an 18-bit proof-of-work of everyone: the widget works it out. */
async function heavyProofOfWork(browser) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  try {
    const { page, watch } = await openDemo(context, 'embed', 'success', powSceneId);
    await check('proof-of-work at 18 bits: the widget solves it and the drag passes', async () => {
      await revealSlider(page, 'embed');
      await mouseDrag(page);
      const v = await verdict(page);
      expect(v.code === 'T001', `verdict ${v.code}`);
      watchProblems(watch);
      const a = watch.answers[watch.answers.length - 1];
      const init = watch.inits.get(a.certifyId);
      expect(init && init.pow === 18, `init asked for ${init && init.pow} bits`);
      return `counter ${a.pow}; answer sent ${Math.round(a.sentAt - init.at)} ms after init`;
    });
  } finally {
    await context.close();
  }
}

async function webdriverRefused() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const { page, watch } = await openDemo(context, 'embed', 'success');
    await check('navigator.webdriver set: a perfect drag is refused', async () => {
      expect(await page.evaluate(() => navigator.webdriver), 'navigator.webdriver is not set here');
      await revealSlider(page, 'embed');
      await mouseDrag(page);
      await waitForSliderState(page, ['fail'], 5000);
      await sleep(300);
      const code = await page.$eval('#demo-verdict', (el) => el.getAttribute('data-code'));
      expect(code === null, `a verdict appeared: ${code}`);
      expect(watch.answers.length === 1 && watch.answers[0].answer.env.webdriver === true, 'webdriver not reported');
    });
  } finally {
    await browser.close();
  }
}

/* ----------------------------------------------------------------------------------------- */

const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...AS_PERSON] });
try {
  for (const mode of ['popup', 'embed']) {
    for (const style of ['callback', 'success']) {
      await passAndReplay(browser, mode, style);
    }
  }
  await releaseHalfway(browser);
  await keyboardPath(browser);
  await touchOnPhone(browser);
  if (powSceneId) await heavyProofOfWork(browser);
} catch (e) {
  report(false, 'browser run', e.message.split('\n')[0]);
} finally {
  await browser.close();
}
try {
  await webdriverRefused();
} catch (e) {
  report(false, 'webdriver run', e.message.split('\n')[0]);
}

const { passed, failed } = totals();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
