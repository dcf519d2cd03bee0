// Shared helpers for the browser checks: Chromium flags, a tiny check reporter, and
// human-like pointer movement (the motor model of Stile's synthetic people: lognormal submovements,
// corrections, tremor, display-rate sampling, real waits) for mouse and touch.

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
// Headless Chromium sets navigator.webdriver and says "HeadlessChrome" in its user agent,
// which the widget reports and the server refuses (F024), as it should for any automated
// browser. The happy-path checks stand in for a person, so they turn both off (as any
// stealth kit does); the "webdriver" check leaves them on and expects the refusal.
export const AS_PERSON = [
  '--disable-blink-features=AutomationControlled',
  '--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
];

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
/** Where a failed check's page is photographed: set `page` and `dir` to have it done. */
export const onFailure = { page: null, dir: null };
export async function check(name, fn) {
  try {
    const detail = await fn();
    report(true, name, detail || '');
  } catch (e) {
    report(false, name, (e && e.message ? e.message : String(e)).split('\n')[0]);
    if (onFailure.page && onFailure.dir) {
      const file = `FAIL-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`;
      await onFailure.page.screenshot({ path: `${onFailure.dir}/${file}` }).catch(() => {});
    }
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

/** A standard normal sample (Box–Muller). */
const normal = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
/** The standard normal CDF (Abramowitz–Stegun 7.1.26 for erf). */
function phi(z) {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return 0.5 * (1 + (z >= 0 ? erf : -erf));
}

/**
 * A person's drag from (x0, y0) over `dx` px to the right, from the same motor model as
 * Stile's synthetic people (src/risk/behaviour/synth.rs): a primary submovement whose speed
 * follows a lognormal profile and lasts as long as Fitts's law says, landing off target
 * now and then; corrective submovements; tremor, a vertical arc and a slow drift; samples
 * at the display's rate on whole pixels; a hold before release. The path is scaled to end
 * exactly on target (a person aiming at what they see). Returns [{x, y, wait}], wait being
 * the pause (ms) before the sample.
 */
export function humanPath(x0, y0, dx) {
  const d = Math.max(1, dx);
  const sub = (amp, start, dur, sigma) => {
    const mu = Math.log(dur / (Math.exp(3 * sigma) - Math.exp(-3 * sigma)));
    return { amp, start: start - Math.exp(mu - 3 * sigma), end: start + dur, mu, sigma };
  };
  const at = (s, t) => (t <= s.start ? 0 : s.amp * phi((Math.log(t - s.start) - s.mu) / s.sigma));
  const tempo = Math.exp(0.25 * normal());
  const mt = (rand(120, 280) + rand(90, 190) * Math.log2(d / 12 + 1)) * tempo;
  const subs = [sub(d * (1 + 0.02 + (0.05 + 0.02 / tempo) * normal()), 0, mt, rand(0.18, 0.42))];
  let reached = subs[0].amp;
  let start = mt * rand(0.55, 0.8);
  for (let i = 0; i < 3; i++) {
    const miss = d - reached;
    if (Math.abs(miss) < rand(1, 4)) break;
    const amp = miss * (1 + 0.12 * normal());
    const dur = rand(140, 320) * (1 + Math.min(Math.abs(amp) / 40, 1.5));
    subs.push(sub(amp, start, dur, rand(0.2, 0.45)));
    reached += amp;
    start += dur * rand(0.6, 0.9);
  }
  const end = Math.max(...subs.map((s) => s.end)) + rand(60, 420);
  const progress = (t) => subs.reduce((sum, s) => sum + at(s, t), 0);
  const k = d / progress(end);
  // A hand never holds one pixel row for a whole drag: the path bows a little either way.
  const arc = (Math.random() < 0.5 ? -1 : 1) * rand(0.012, 0.04) * d;
  const tremF = rand(8, 12), tremA = rand(0.04, 0.35), tremP = rand(0, 2 * Math.PI);
  const walkStep = rand(0.05, 0.3);
  let walk = 0;
  const frame = 1000 / 60;
  const path = [];
  for (let t = frame; t <= end; ) {
    const p = progress(t) * k;
    const tremor = tremA * Math.sin((2 * Math.PI * tremF * t) / 1000 + tremP);
    walk = 0.97 * walk + walkStep * normal();
    const f = Math.min(Math.max(p / d, 0), 1.2);
    const wait = frame * (Math.random() < 0.04 ? 2 : 1) + rand(-1.2, 1.2);
    path.push({
      x: Math.round(x0 + p + tremor),
      y: Math.round(y0 + arc * 4 * f * (1 - f) + walk + tremor * 0.7),
      wait,
    });
    t += wait;
  }
  path.push({ x: Math.round(x0 + d), y: path.length ? path[path.length - 1].y : y0, wait: frame });
  return path;
}

/**
 * A person's reach with the mouse from (x0, y0) to (x1, y1), from the same motor model as
 * Stile's synthetic people pointing at a box (src/risk/behaviour/pointing.rs): lognormal
 * submovements along and across the line, lasting as Fitts's law says for a `w` px target,
 * landing off now and then and corrected; a path that bows to one side; tremor; samples at
 * the display's rate on whole pixels. Returns [{x, y, wait}] like humanPath.
 */
export function humanReach(x0, y0, x1, y1, w = 24) {
  const d = Math.max(1, Math.hypot(x1 - x0, y1 - y0));
  const ux = (x1 - x0) / d, uy = (y1 - y0) / d;
  const sub = (amp, start, dur, sigma) => {
    const mu = Math.log(dur / (Math.exp(3 * sigma) - Math.exp(-3 * sigma)));
    return { amp, start: start - Math.exp(mu - 3 * sigma), end: start + dur, mu, sigma };
  };
  const at = (s, t) => (t <= s.start ? 0 : s.amp * phi((Math.log(t - s.start) - s.mu) / s.sigma));
  const tempo = Math.exp(0.25 * normal());
  const mt = (rand(100, 250) + rand(80, 180) * Math.log2(d / w + 1)) * tempo;
  const sigma = rand(0.18, 0.42);
  const along = [sub(d * (1 + 0.01 + (0.04 + 0.02 / tempo) * normal()), 0, mt, sigma)];
  const across = [sub(d * 0.03 * normal(), 0, mt, sigma)];
  let ra = along[0].amp, rc = across[0].amp;
  let start = mt * rand(0.55, 0.8);
  for (let i = 0; i < 3; i++) {
    const ma = d - ra, mc = -rc;
    if (Math.hypot(ma, mc) < 0.5 * w * rand(0.3, 1)) break;
    const k = 1 + 0.12 * normal();
    const dur = rand(140, 320) * (1 + Math.min(Math.hypot(ma, mc) / 40, 1.5));
    const sg = rand(0.2, 0.45);
    along.push(sub(ma * k, start, dur, sg));
    across.push(sub(mc * k, start, dur, sg));
    ra += ma * k;
    rc += mc * k;
    start += dur * rand(0.6, 0.9);
  }
  const end = Math.max(...along.map((s) => s.end));
  const arc = rand(-0.1, 0.1) * d, skew = rand(0.6, 1.4);
  const tremF = rand(8, 12), tremA = rand(0.04, 0.35), p1 = rand(0, 2 * Math.PI), p2 = rand(0, 2 * Math.PI);
  // Scaled to end exactly on the point (a person aiming at what they see, as humanPath).
  const aEnd = along.reduce((sum, s) => sum + at(s, end), 0) || d;
  const cEnd = across.reduce((sum, s) => sum + at(s, end), 0);
  const frame = 1000 / 60;
  const path = [];
  let last = '';
  let waited = 0;
  for (let t = frame; t <= end; ) {
    const raw = along.reduce((sum, s) => sum + at(s, t), 0);
    const a = (raw * d) / aEnd;
    const f = Math.min(Math.max(a / d, 0), 1) ** skew;
    const c = across.reduce((sum, s) => sum + at(s, t), 0) - (cEnd * raw) / aEnd + arc * 4 * f * (1 - f);
    const ph = (2 * Math.PI * tremF * t) / 1000;
    const x = Math.round(x0 + (a + tremA * Math.sin(ph + p1)) * ux - (c + tremA * Math.sin(ph + p2)) * uy);
    const y = Math.round(y0 + (a + tremA * Math.sin(ph + p1)) * uy + (c + tremA * Math.sin(ph + p2)) * ux);
    const wait = frame * (Math.random() < 0.04 ? 2 : 1) + rand(-1.2, 1.2);
    waited += wait;
    // A still mouse reports nothing: only moves that change the pixel are sent.
    if (`${x},${y}` !== last) {
      path.push({ x, y, wait: waited });
      last = `${x},${y}`;
      waited = 0;
    }
    t += wait;
  }
  const [ex, ey] = [Math.round(x1), Math.round(y1)];
  if (`${ex},${ey}` !== last) path.push({ x: ex, y: ey, wait: waited + frame });
  return path;
}

/**
 * Move the mouse onto a point the way a person does: it rests somewhere on the page, then
 * reaches the point (humanReach, sent on schedule) and hovers a moment before pressing.
 */
export async function approach(page, x, y) {
  const view = page.viewportSize() || { width: 1280, height: 800 };
  let fromX, fromY;
  do {
    const d = rand(120, 520), a = rand(0, 2 * Math.PI);
    fromX = x + d * Math.cos(a);
    fromY = y + d * Math.sin(a);
  } while (fromX < 2 || fromY < 2 || fromX > view.width - 2 || fromY > view.height - 2);
  await page.mouse.move(fromX, fromY);
  await sleep(rand(400, 900)); // at rest: the reach starts after this
  await playPath(page, humanReach(fromX, fromY, x, y), (p) => page.mouse.move(p.x, p.y));
  await sleep(rand(80, 300)); // hover before pressing
}

/**
 * Send each sample of `path` with `send` at the time the path gives it, counted from the
 * start, so that the time a command takes to reach the browser (longer on a busy machine)
 * does not stretch the drag the way a sleep per sample would. With `shot`, a screenshot of
 * `shotTarget` is taken about 60% of the way without pausing the drag.
 */
export async function playPath(page, path, send, { shot = null, shotTarget = null } = {}) {
  const t0 = performance.now();
  let due = 0;
  let shooting = null;
  for (let i = 0; i < path.length; i++) {
    due += path[i].wait;
    const ahead = t0 + due - performance.now();
    if (ahead > 0) await sleep(ahead);
    await send(path[i]);
    if (shot && !shooting && i >= path.length * 0.6) {
      shooting = page.locator(shotTarget).screenshot({ path: shot });
    }
  }
  if (shooting) await shooting;
}

/** Geometry of the slider: where to press the handle and how far it can travel. */
export async function sliderGeometry(page, scope = '') {
  const handle = page.locator(`${scope} #aliyunCaptcha-sliding-slider`.trim());
  await handle.waitFor({ state: 'visible', timeout: 10000 });
  // A person drags once the popup has settled: it opens with a short scale-up, and a box
  // measured mid-way is a few percent small (a drag aimed by it falls short of the end).
  const trackLocator = page.locator(`${scope} #aliyunCaptcha-sliding-body`.trim());
  let track = await trackLocator.boundingBox();
  for (let i = 0; i < 40; i++) {
    await sleep(50);
    const again = await trackLocator.boundingBox();
    const settled = track && again && again.x === track.x && again.width === track.width;
    track = again;
    if (settled) break;
  }
  const h = await handle.boundingBox();
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
export async function mouseDrag(page, { fraction = 1, shot = null, shotTarget = null, scope = '' } = {}) {
  const g = await sliderGeometry(page, scope);
  await approach(page, g.x, g.y);
  await page.mouse.down();
  await sleep(rand(60, 140));
  const path = humanPath(g.x, g.y, g.travel * fraction);
  await playPath(page, path, (p) => page.mouse.move(p.x, p.y), { shot, shotTarget });
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
  await playPath(page, path, (p) => touch('touchMove', p), { shot, shotTarget });
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

