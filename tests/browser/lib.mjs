// Shared helpers for the browser checks: Chromium flags, a tiny check reporter, and
// human-like pointer movement (minimum-jerk strokes with overshoot and correction, jitter,
// uneven sampling, real waits) for mouse and touch.

import { chromium } from 'playwright-core';

export { chromium };

export const CHROMIUM = '/usr/bin/chromium';
export const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// Headless Chromium sets navigator.webdriver, which the widget reports and the server refuses
// (F024), as it should for any automated browser. The happy-path checks stand in for a person,
// so they turn that flag off; the "webdriver" check leaves it on and expects the refusal.
export const AS_PERSON = ['--disable-blink-features=AutomationControlled'];

let passed = 0;
let failed = 0;
/** The totals so far. */
export function totals() {
  return { passed, failed };
}
export function report(ok, name, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}
export async function check(name, fn) {
  try {
    const detail = await fn();
    report(true, name, detail || '');
  } catch (e) {
    report(false, name, (e && e.message ? e.message : String(e)).split('\n')[0]);
  }
}
export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

/* ----------------------------------------------------------------------------------------- */
/* Human-like movement                                                                       */

export const rand = (lo, hi) => lo + Math.random() * (hi - lo);
export const randInt = (lo, hi) => Math.floor(rand(lo, hi + 1));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Minimum-jerk position profile: 0 → 1 with zero velocity and acceleration at both ends. */
export const minJerk = (s) => 10 * s ** 3 - 15 * s ** 4 + 6 * s ** 5;

/**
 * A drag path from (x0, y0) over `dx` px to the right: a minimum-jerk main stroke that
 * overshoots the target a little, then a short corrective stroke back. Returns
 * [{x, y, wait}] where wait is the pause (ms) before the sample; the whole takes 600–1200 ms
 * in 40–80 samples.
 */
export function humanPath(x0, y0, dx, { overshoot = true } = {}) {
  const total = rand(600, 1200);
  const n = randInt(40, 80);
  const over = overshoot ? rand(4, 12) : 0;
  const settle = overshoot ? rand(0.5, 2.5) : 0; // final position beyond the target
  const nMain = overshoot ? Math.round(n * rand(0.72, 0.82)) : n;
  const nFix = n - nMain;
  const driftAmp = rand(1.2, 3.5);
  const driftPhase = rand(0, Math.PI * 2);
  const path = [];
  for (let i = 1; i <= n; i++) {
    let x;
    if (i <= nMain) {
      x = x0 + (dx + over) * minJerk(i / nMain);
    } else {
      const s = (i - nMain) / nFix;
      x = x0 + dx + over - (over - settle) * minJerk(s);
    }
    const s = i / n;
    const y = y0 + driftAmp * Math.sin(s * Math.PI * rand(0.8, 1.2) + driftPhase) - driftAmp * Math.sin(driftPhase) + rand(-0.6, 0.6);
    path.push({ x, y, wait: (total / n) * rand(0.6, 1.4) });
  }
  return path;
}

/** Move the mouse onto a point from somewhere nearby, in a few uneven steps. */
export async function approach(page, x, y) {
  const fromX = x + rand(-140, -60);
  const fromY = y + rand(40, 110);
  await page.mouse.move(fromX, fromY);
  const steps = randInt(8, 14);
  for (let i = 1; i <= steps; i++) {
    const s = minJerk(i / steps);
    await page.mouse.move(fromX + (x - fromX) * s + rand(-1, 1), fromY + (y - fromY) * s + rand(-1, 1));
    await sleep(rand(8, 22));
  }
  await sleep(rand(80, 200)); // aim before pressing
}

/** Geometry of the slider: where to press the handle and how far it can travel. */
export async function sliderGeometry(page, scope = '') {
  const handle = page.locator(`${scope} #aliyunCaptcha-sliding-slider`.trim());
  await handle.waitFor({ state: 'visible', timeout: 10000 });
  const h = await handle.boundingBox();
  const track = await page.locator(`${scope} #aliyunCaptcha-sliding-body`.trim()).boundingBox();
  expect(h && track, 'slider has no layout box');
  return {
    x: h.x + h.width * rand(0.35, 0.65),
    y: h.y + h.height * rand(0.35, 0.65),
    travel: track.width - h.width - 2, // minus the track's 1px borders
  };
}

/**
 * Drag the slider with the mouse over `fraction` of its travel (1 = to the end), taking
 * a screenshot of `shotTarget` about 60% of the way when `shot` is given.
 */
export async function mouseDrag(page, { fraction = 1, overshoot = fraction >= 1, shot = null, shotTarget = null, scope = '' } = {}) {
  const g = await sliderGeometry(page, scope);
  await approach(page, g.x, g.y);
  await page.mouse.down();
  await sleep(rand(60, 140));
  const path = humanPath(g.x, g.y, g.travel * fraction, { overshoot });
  let shotTaken = !shot;
  for (let i = 0; i < path.length; i++) {
    await sleep(path[i].wait);
    await page.mouse.move(path[i].x, path[i].y);
    if (!shotTaken && i >= path.length * 0.6) {
      shotTaken = true;
      await page.locator(shotTarget).screenshot({ path: shot });
    }
  }
  await sleep(rand(40, 120)); // hold before letting go
  await page.mouse.up();
}

/** The same drag with touch events through CDP (a finger on a phone). */
export async function touchDrag(page, cdp, { fraction = 1, shot = null, shotTarget = null, scope = '' } = {}) {
  const g = await sliderGeometry(page, scope);
  const touch = (type, p) =>
    cdp.send('Input.dispatchTouchEvent', {
      type,
      touchPoints: p ? [{ x: p.x, y: p.y, radiusX: 11, radiusY: 11, force: 0.6, id: 1 }] : [],
    });
  await touch('touchStart', { x: g.x, y: g.y });
  await sleep(rand(80, 160));
  const path = humanPath(g.x, g.y, g.travel * fraction);
  let shotTaken = !shot;
  for (let i = 0; i < path.length; i++) {
    await sleep(path[i].wait);
    await touch('touchMove', path[i]);
    if (!shotTaken && i >= path.length * 0.6) {
      shotTaken = true;
      await page.locator(shotTarget).screenshot({ path: shot });
    }
  }
  await sleep(rand(30, 90));
  await touch('touchEnd', null);
}


/* The demo page */

/** Wait for the verdict panel to show a verdict newer than `afterSeq`; returns it. */
export async function verdict(page, afterSeq = 0) {
  await page.waitForFunction(
    (n) => {
      const el = document.querySelector('#demo-verdict[data-code]');
      return el && Number(el.dataset.seq || 1) > n;
    },
    afterSeq,
    { timeout: 15000 },
  );
  return page.$eval('#demo-verdict', (el) => ({
    code: el.dataset.code,
    result: el.dataset.result,
    seq: Number(el.dataset.seq || 1),
  }));
}

