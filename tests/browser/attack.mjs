#!/usr/bin/env node
// Headless Chromium as an attacker drives it, for the adversarial suite
// (tests/api/adversarial.rs): each attacker opens the demo page of a slider scene <n> times
// and drags the way its kind of script does; an attempt passes when the demo backend gets a
// token that verifies (T001).
//
//   node tests/browser/attack.mjs <baseUrl> <sceneId> <n> <screenshotDir>
//
// Attackers:
// - "plain": headless Chromium as it comes (navigator.webdriver set, "HeadlessChrome" in its
//   user agent), a straight drag with Playwright's `mouse.move(..., {steps})`;
// - "stealth": the same drag from a browser whose automation flags are patched away (what
//   any stealth kit does);
// - "stealth-eased": the patched browser dragging an ease-in-out path with jitter, sent
//   frame by frame with real waits (a "human cursor" script).
//
// Prints one JSON line per attacker: {"attacker", "passed", "n", "codes"}.

import { join } from 'node:path';
import { AS_PERSON, ARGS, CHROMIUM, chromium, playPath, rand, randInt, sleep, sliderGeometry } from './lib.mjs';

const [baseArg, sceneId, nArg, shotDir] = process.argv.slice(2);
if (!baseArg || !sceneId || !nArg || !shotDir) {
  console.error('usage: node attack.mjs <baseUrl> <sceneId> <n> <screenshotDir>');
  process.exit(2);
}
const baseUrl = baseArg.replace(/\/+$/, '');
const n = Number(nArg);

/** The eased path with jitter of a "human cursor" script, one sample per frame. */
function easedPath(x0, y0, dx) {
  const steps = randInt(25, 60);
  const j = rand(0.3, 2);
  const path = [];
  for (let i = 1; i <= steps; i++) {
    const s = i / steps;
    const e = s < 0.5 ? 4 * s ** 3 : 1 - (-2 * s + 2) ** 3 / 2;
    path.push({ x: x0 + dx * e + rand(-j, j), y: y0 + rand(-j, j), wait: 1000 / 60 + rand(-2, 2) });
  }
  return path;
}

/** One attempt: the demo's popup, a drag of `kind`; the verdict code, or what stopped it. */
async function attempt(context, kind, shot = null) {
  const page = await context.newPage();
  try {
    await page.goto(`${baseUrl}/demo/${encodeURIComponent(sceneId)}?mode=popup&style=callback&lang=en`);
    await page.click('#demo-submit');
    await page.locator('#aliyunCaptcha-window-popup').waitFor({ state: 'visible', timeout: 8000 });
    const g = await sliderGeometry(page);
    await page.mouse.move(g.x - rand(40, 120), g.y + rand(20, 80));
    await page.mouse.move(g.x, g.y, { steps: randInt(5, 12) });
    await page.mouse.down();
    if (kind === 'stealth-eased') {
      await sleep(rand(60, 140));
      await playPath(page, easedPath(g.x, g.y, g.travel), (p) => page.mouse.move(p.x, p.y));
      await sleep(rand(40, 120));
    } else {
      await page.mouse.move(g.x + g.travel, g.y, { steps: randInt(10, 30) });
    }
    await page.mouse.up();
    // The backend's verdict on a token, or the widget's failure, whichever comes first.
    const outcome = await page
      .waitForFunction(
        () => {
          const v = document.querySelector('#demo-verdict[data-code]');
          if (v) return v.dataset.code;
          const failed = document.querySelector('.stile-stage [data-state=fail], [data-state=fail]');
          return failed ? 'refused' : null;
        },
        null,
        { timeout: 15000 },
      )
      .then((h) => h.jsonValue());
    if (shot) await page.screenshot({ path: shot });
    return outcome;
  } catch (e) {
    return `error: ${(e && e.message ? e.message : String(e)).split('\n')[0].slice(0, 80)}`;
  } finally {
    await page.close();
  }
}

const attackers = [
  ['plain', ARGS],
  ['stealth', [...ARGS, ...AS_PERSON]],
  ['stealth-eased', [...ARGS, ...AS_PERSON]],
];
// STILE_ATTACKERS=stealth-eased runs only the attackers named (comma-separated).
const only = (process.env.STILE_ATTACKERS || '').split(',').filter(Boolean);
for (const [kind, args] of attackers.filter(([k]) => only.length === 0 || only.includes(k))) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args });
  const context = await browser.newContext({ viewport: { width: 1100, height: 820 } });
  const codes = {};
  let passed = 0;
  for (let i = 0; i < n; i++) {
    const code = await attempt(context, kind, i === 0 ? join(shotDir, `attack-${kind}.png`) : null);
    codes[code] = (codes[code] || 0) + 1;
    if (code === 'T001') passed++;
  }
  console.log(JSON.stringify({ attacker: kind, passed, n, codes }));
  await browser.close();
}
