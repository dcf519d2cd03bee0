/*!
 * Stile widget — AliyunCaptcha.js
 *
 * The browser half of Stile, a self-hosted CAPTCHA service. The Stile server serves this file
 * at /widget/AliyunCaptcha.js and speaks to it over a small JSON protocol:
 *
 *   POST {origin}/api/v1/init    → a verification cycle (certifyId, nonce, challenge kind, the
 *                                  cycle's proof-of-work bits and signing program)
 *   POST {origin}/api/v1/answer  → { passed, captchaVerifyParam } or { passed:false, code, retry }
 *
 * {origin} is the origin this script was loaded from (document.currentScript), so a page can
 * load it from another host; the server answers with CORS headers.
 *
 * The public surface is compatible with Alibaba Cloud CAPTCHA 2.0's web integration, so pages
 * written for it work by changing the script URL:
 *
 *   window.AliyunCaptchaConfig = { region: 'cn', prefix: '...' };
 *   window.initAliyunCaptcha({
 *     SceneId, mode: 'popup' | 'embed', element, button,
 *     captchaVerifyCallback, onBizResultCallback,   // older style: async callback + result
 *     success, fail,                                // newer style
 *     getInstance, slideStyle, language, upLang, rem, timeout, immediate, onError, onClose,
 *     delayBeforeSuccess, zIndex, disableMaskClick, showErrorTip, captchaLogoImg, ...
 *   });
 *
 * Element ids follow the original widget (aliyunCaptcha-mask, aliyunCaptcha-sliding-slider,
 * ...) so existing CSS overrides keep working.
 *
 * Layout of this file:
 *   1. constants, text table, icons
 *   2. small helpers (DOM, maths, storage, network)
 *   3. the stylesheet (injected once)
 *   4. challenge renderers, one object per challenge kind (slider, one-click, silent)
 *   5. the Captcha controller: configuration, popup/embed shell, cycle and delivery logic
 *   6. the global entry point window.initAliyunCaptcha
 *
 * Plain ES2019, no dependencies, no build step.
 */
(function () {
  'use strict';

  /* Served to pages, the script's strings, property names and integers are moved into
   * tables the server writes here with their decoder, keyed anew every hour
   * (http::obfuscate); read as written, this is an empty comment. */
  /*__STILE_OBF__*/

  if (typeof window === 'undefined' || window.__stileWidget) {
    return; // not a browser, or already loaded on this page
  }
  window.__stileWidget = true;

  /* ------------------------------------------------------------------------------------
   * 1. Constants
   * ---------------------------------------------------------------------------------- */

  var SCRIPT = document.currentScript;

  /** The server origin: where this script came from, else the page's own origin. */
  var ORIGIN = (function () {
    try {
      if (SCRIPT && SCRIPT.src) return new URL(SCRIPT.src, location.href).origin;
    } catch (e) {
      /* fall through */
    }
    return location.origin;
  })();

  /** localStorage key of the device token the server hands out. */
  var DEVICE_TOKEN_KEY = 'stile.dt';

  /** A slider handle must travel at least this far (CSS px) before its release is sent. */
  var MIN_TRAVEL_PX = 10;

  /** The most trajectory samples one answer carries (the server accepts up to 2000). */
  var MAX_POINTS = 1800;

  /**
   * The hour's codebook for the signing programs, written in by the server as it serves
   * this script: the byte each kind of operation is sent as, and the mask over seeds and
   * constants. Init says which one this page holds; the server encodes with it for a day.
   */
  var DV_BOOK = typeof __STILE_DV__ === 'object' ? __STILE_DV__ : { dvEpoch: 0, dvCodes: [0, 1, 2, 3, 4], dvMask: 0 };

  /** One-click: how far back (ms) pointer movement before the click is reported. */
  var APPROACH_WINDOW_MS = 3000;

  /** How long a success state is shown before a popup closes (delayBeforeSuccess). */
  var SUCCESS_DELAY_MS = 1000;

  /** How long a failure state is shown before the challenge resets. */
  var FAIL_DELAY_MS = 900;

  /**
   * Built-in texts, one table per language code, keyed by the 13 text keys. Add a language by
   * adding a table; a page can override any text with `upLang: { lang: { KEY: text } }`, and a
   * scene's custom text (from the server) overrides the built-in table.
   */
  var TEXT = /* the 17 built-in languages, from widget/lang.json */ __STILE_TEXT__;

  /** The language used for keys a table lacks. */
  var FALLBACK_LANG = 'en';

  /** Languages written right to left (built in: ar; the others through upLang). */
  var RTL_LANGS = { ar: 1, he: 1, iw: 1, fa: 1, ur: 1, ps: 1, yi: 1, dv: 1, ckb: 1, ug: 1 };

  /** Inline SVG icons (stroke = currentColor), all on a 24×24 grid. */
  var ICON = {
    arrow: '<path d="M4.5 12h14M13 6.5l5.5 5.5-5.5 5.5"/>',
    check: '<path d="M5.5 12.5l4.2 4.2L18.5 7.8"/>',
    cross: '<path d="M7 7l10 10M17 7L7 17"/>',
    spin: '<circle cx="12" cy="12" r="8" stroke-dasharray="34 60"/>',
    refresh: '<path d="M19.5 12a7.5 7.5 0 1 1-2.2-5.3"/><path d="M19.5 4.5v5h-5"/>',
    close: '<path d="M6.5 6.5l11 11M17.5 6.5l-11 11"/>',
    alert: '<circle cx="12" cy="12" r="8.5"/><path d="M12 7.8v5M12 16.2v.1"/>',
    shield: '<path d="M12 3.2l7 2.8v5.3c0 4.4-2.9 8-7 9.5-4.1-1.5-7-5.1-7-9.5V6z"/><path d="M8.8 12.2l2.2 2.2 4.2-4.4"/>'
  };

  /* ------------------------------------------------------------------------------------
   * 2. Helpers
   * ---------------------------------------------------------------------------------- */

  /** An <svg> string for an icon name. */
  function svg(name, cls) {
    return (
      '<svg class="stile-icon ' + (cls || '') + '" viewBox="0 0 24 24" aria-hidden="true" ' +
      'focusable="false" fill="none" stroke="currentColor" stroke-width="2.2" ' +
      'stroke-linecap="round" stroke-linejoin="round">' + ICON[name] + '</svg>'
    );
  }

  /** Create an element: h('div', {id, class, ...attributes}, [children or text]). */
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'class') el.className = v;
      else if (k === 'html') el.innerHTML = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    (children || []).forEach(function (c) {
      if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return el;
  }

  function clamp(v, lo, hi) {
    return Math.min(hi, Math.max(lo, v));
  }

  function round1(v) {
    return Math.round(v * 10) / 10;
  }

  function resolveElement(sel) {
    if (!sel) return null;
    if (typeof sel !== 'string') return sel.nodeType === 1 ? sel : null;
    try {
      return document.querySelector(sel);
    } catch (e) {
      return null;
    }
  }

  function readDeviceToken() {
    try {
      return window.localStorage.getItem(DEVICE_TOKEN_KEY) || '';
    } catch (e) {
      return ''; // storage disabled (private mode, sandboxed frame)
    }
  }

  function writeDeviceToken(token) {
    if (!token) return;
    try {
      window.localStorage.setItem(DEVICE_TOKEN_KEY, token);
    } catch (e) {
      /* storage disabled */
    }
  }

  /** What the widget reports about its environment with every answer. */
  function environment() {
    var nav = window.navigator || {};
    var scr = window.screen || {};
    return {
      webdriver: !!nav.webdriver,
      lang: nav.language || '',
      screen: [scr.width || 0, scr.height || 0],
      touch: nav.maxTouchPoints || 0,
      ua: String(nav.userAgent || '').slice(0, 400),
      platform: String(nav.platform || '').slice(0, 64),
      cores: nav.hardwareConcurrency || 0,
      outer: [window.outerWidth || 0, window.outerHeight || 0],
      gl: glRenderer(),
      untrusted: untrustedEvents
    };
  }

  /** The WebGL renderer's name (once per page): software and virtual-machine GPUs show here. */
  var glName = null;
  function glRenderer() {
    if (glName !== null) return glName;
    glName = '';
    try {
      var gl = document.createElement('canvas').getContext('webgl');
      var ext = gl && gl.getExtension('WEBGL_debug_renderer_info');
      if (ext) glName = String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) || '').slice(0, 200);
    } catch (e) {
      /* no WebGL: nothing to report */
    }
    return glName;
  }

  /**
   * Input events on the widget that the browser did not generate (dispatched by a script:
   * isTrusted is false). Real input never is; counted from the capture phase, page-wide.
   */
  var untrustedEvents = 0;
  ['pointerdown', 'pointermove', 'pointerup', 'mousedown', 'mousemove', 'mouseup', 'touchstart',
    'touchmove', 'touchend', 'click', 'keydown'].forEach(function (type) {
    document.addEventListener(type, function (ev) {
      var t = ev.target;
      if (ev.isTrusted === false && t && t.closest && t.closest('.stile-root')) untrustedEvents++;
    }, true);
  });

  /** A widget error, as handed to onError: { code, message }. */
  function WidgetError(code, message, status) {
    this.code = code;
    this.message = message || code;
    this.status = status || 0;
  }

  /* Proof-of-work (server: risk::pow). Init may ask for `pow` bits: the first counter whose
   * SHA-256 over "certifyId.nonce.counter" starts with that many zero bits goes with the
   * answer. It is worked out in slices between frames while the person looks at the
   * challenge, so at the base level (2^8 hashes) nobody notices it. */

  var SHA_K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];
  var SHA_W = new Int32Array(64);

  /** SHA-256 over an ASCII string, as eight signed 32-bit words. */
  function sha256Words(text) {
    var n = text.length;
    var blocks = ((n + 8) >> 6) + 1;
    var m = new Int32Array(blocks * 16);
    for (var i = 0; i < n; i++) m[i >> 2] |= (text.charCodeAt(i) & 0xff) << (24 - (i & 3) * 8);
    m[n >> 2] |= 0x80 << (24 - (n & 3) * 8);
    m[blocks * 16 - 1] = n * 8;
    var h0 = 0x6a09e667, h1 = 0xbb67ae85 | 0, h2 = 0x3c6ef372, h3 = 0xa54ff53a | 0;
    var h4 = 0x510e527f, h5 = 0x9b05688c | 0, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    var w = SHA_W;
    for (var b = 0; b < blocks; b++) {
      for (var t = 0; t < 16; t++) w[t] = m[b * 16 + t];
      for (t = 16; t < 64; t++) {
        var x = w[t - 15], y = w[t - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      var a = h0, c1 = h1, c2 = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
      for (t = 0; t < 64; t++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var t1 = (h + S1 + ((e & f) ^ (~e & g)) + SHA_K[t] + w[t]) | 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var t2 = (S0 + ((a & c1) ^ (a & c2) ^ (c1 & c2))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c2; c2 = c1; c1 = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + c1) | 0; h2 = (h2 + c2) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
    }
    return [h0, h1, h2, h3, h4, h5, h6, h7];
  }

  function leadingZeroBits(words) {
    var n = 0;
    for (var i = 0; i < words.length; i++) {
      if (words[i] !== 0) return n + Math.clz32(words[i]);
      n += 32;
    }
    return n;
  }

  /** Yield to the page between slices: a message, which background throttling spares. */
  var yieldSlice = (function () {
    if (typeof MessageChannel !== 'function') return function (fn) { setTimeout(fn, 0); };
    var channel = new MessageChannel();
    var queue = [];
    channel.port1.onmessage = function () { var fn = queue.shift(); if (fn) fn(); };
    return function (fn) { queue.push(fn); channel.port2.postMessage(0); };
  })();

  /**
   * Work out the cycle's proof-of-work in slices of about 8 ms. Calls done(counter) once,
   * unless alive() turns false first (the cycle was replaced).
   */
  function solvePow(certifyId, nonce, bits, alive, done) {
    var prefix = certifyId + '.' + nonce + '.';
    var counter = 0;
    (function slice() {
      if (!alive()) return;
      var until = performance.now() + 8;
      do {
        for (var k = 0; k < 256; k++, counter++) {
          if (leadingZeroBits(sha256Words(prefix + counter)) >= bits) {
            done(String(counter));
            return;
          }
        }
      } while (performance.now() < until);
      yieldSlice(slice);
    })();
  }

  /* Dynamic verification (server: risk::dynamic). Init hands each cycle its own signing
   * program, [seedA, seedB, op, k, op, k, …]; the answer's numbers, run through it, are the
   * answer's `sig`. The numbers and the order are the server's `canonical`. */

  var POINTER_CODES = { mouse: 1, touch: 2, pen: 3, keyboard: 4 };

  function tenths(v) {
    var q = Math.floor(Number(v) * 10 + 0.5);
    if (q !== q) q = 0;
    if (q > 2147483647) q = 2147483647;
    if (q < -2147483648) q = -2147483648;
    return q >>> 0;
  }

  function canonicalWords(certifyId, nonce, attempt, a) {
    var out = [];
    var head = certifyId + '.' + nonce;
    for (var i = 0; i < head.length; i++) out.push(head.charCodeAt(i) & 0xff);
    out.push(attempt >>> 0);
    var pointer = POINTER_CODES[a.pointer] || 0;
    var points = function () {
      var pts = a.points || [];
      out.push(pts.length);
      for (var j = 0; j < pts.length; j++) out.push(tenths(pts[j][0]), tenths(pts[j][1]), tenths(pts[j][2]));
    };
    if (a.kind === 'slider') {
      out.push(1, pointer, tenths(a.trackWidth));
      points();
    } else if (a.kind === 'one-click') {
      out.push(2, pointer, tenths(a.click[0]), tenths(a.click[1]), tenths(a.click[2]));
      points();
    } else if (a.kind === 'jigsaw' || a.kind === 'image-restoration') {
      out.push(a.kind === 'jigsaw' ? 3 : 4, pointer, tenths(a.trackWidth), tenths(a.x));
      points();
    } else {
      out.push(5);
    }
    return out;
  }

  function dvStep(ops, s, w) {
    s = (s ^ w) >>> 0;
    for (var i = 0; i + 1 < ops.length; i += 2) {
      var op = ops[i];
      var k = ops[i + 1] >>> 0;
      if (op === 0) s = (s + k) >>> 0;
      else if (op === 1) s = (s ^ k) >>> 0;
      else if (op === 2) {
        var r = 1 + (k % 31);
        s = ((s << r) | (s >>> (32 - r))) >>> 0;
      } else if (op === 3) s = Math.imul(s, k | 1) >>> 0;
      else s = (s ^ (s >>> (1 + (k % 16)))) >>> 0;
    }
    return s;
  }

  /** A program off the wire, read with the page's codebook (an unknown code stays unknown). */
  function dvDecode(wire) {
    var m = DV_BOOK.dvMask >>> 0;
    var out = [];
    for (var i = 0; i < wire.length; i++) {
      var v = Number(wire[i]) >>> 0;
      if (i < 2 || i % 2 === 1) out.push((v ^ m) >>> 0);
      else out.push(DV_BOOK.dvCodes.indexOf(v) < 0 ? 99 : DV_BOOK.dvCodes.indexOf(v));
    }
    return out;
  }

  /** Run the cycle's program over `words`: 16 hex digits. */
  function dvSign(program, words) {
    var ops = program.slice(2);
    var hex = '';
    for (var lane = 0; lane < 2; lane++) {
      var tweak = lane === 0 ? 0 : 0x9e3779b9;
      var s = program[lane] >>> 0;
      for (var i = 0; i < words.length; i++) s = dvStep(ops, s, (words[i] ^ tweak) >>> 0);
      for (i = 0; i < 4; i++) s = dvStep(ops, s, tweak >>> 0);
      hex += ('0000000' + s.toString(16)).slice(-8);
    }
    return hex;
  }

  /**
   * POST JSON to the server with a timeout. Resolves with the parsed body of a 2xx answer;
   * rejects with a WidgetError: the server's { code, message } for other statuses, TIMEOUT or
   * NETWORK_ERROR when no answer came.
   */
  function postJson(path, body, timeoutMs, outerSignal) {
    var ctrl = new AbortController();
    var timedOut = false;
    var timer = setTimeout(function () {
      timedOut = true;
      ctrl.abort();
    }, timeoutMs);
    var onOuterAbort = function () {
      ctrl.abort();
    };
    if (outerSignal) outerSignal.addEventListener('abort', onOuterAbort);
    return fetch(ORIGIN + path, {
      method: 'POST',
      mode: 'cors',
      credentials: 'omit',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: ctrl.signal
    })
      .then(function (res) {
        return res.text().then(function (raw) {
          var data = null;
          try {
            data = raw ? JSON.parse(raw) : null;
          } catch (e) {
            data = null;
          }
          if (!res.ok) {
            throw new WidgetError(
              (data && data.code) || 'HTTP_' + res.status,
              (data && data.message) || res.statusText || 'request failed',
              res.status
            );
          }
          if (!data || typeof data !== 'object') {
            throw new WidgetError('BAD_RESPONSE', 'the server sent no JSON object', res.status);
          }
          return data;
        });
      })
      .catch(function (err) {
        if (err instanceof WidgetError) throw err;
        if (timedOut) throw new WidgetError('TIMEOUT', 'no answer within ' + timeoutMs + ' ms');
        if (err && err.name === 'AbortError') throw new WidgetError('ABORTED', 'request cancelled');
        throw new WidgetError('NETWORK_ERROR', (err && err.message) || 'network error');
      })
      .finally(function () {
        clearTimeout(timer);
        if (outerSignal) outerSignal.removeEventListener('abort', onOuterAbort);
      });
  }

  /* ------------------------------------------------------------------------------------
   * 3. Stylesheet — one <style id="aliyunCaptcha-style">, sizes in em so `rem` scales them.
   * ---------------------------------------------------------------------------------- */

  var CSS = [
    '.stile-root{--stile-brand:#2563eb;--stile-brand-dark:#1d4ed8;--stile-ok:#10b981;',
    '--stile-ok-dark:#059669;--stile-bad:#ef4444;--stile-ink:#0f172a;--stile-muted:#64748b;',
    '--stile-line:#dbe2ea;--stile-track:#f3f6f9;--stile-radius:10px;',
    'font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","PingFang SC",',
    '"Microsoft YaHei",sans-serif;color:var(--stile-ink);box-sizing:border-box;text-align:start;',
    '-webkit-user-select:none;user-select:none;-webkit-tap-highlight-color:transparent}',
    '.stile-root *,.stile-root *::before,.stile-root *::after{box-sizing:border-box}',
    '.stile-icon{width:1.45em;height:1.45em;display:block;flex:none}',

    /* popup shell */
    '#aliyunCaptcha-mask{position:fixed;inset:0;background:rgba(15,23,42,.48);',
    '-webkit-backdrop-filter:blur(2px);backdrop-filter:blur(2px);animation:stile-fade .18s ease-out}',
    '#aliyunCaptcha-window-popup{position:fixed;left:50%;top:50%;transform:translate(-50%,-50%);',
    'background:#fff;border-radius:14px;padding:1.1em 1.3em 1em;max-width:calc(100vw - 16px);',
    'box-shadow:0 24px 60px -12px rgba(15,23,42,.35),0 0 0 1px rgba(15,23,42,.06);',
    'animation:stile-pop .22s cubic-bezier(.2,.9,.3,1.2)}',
    '#aliyunCaptcha-window-popup:focus{outline:none}',
    '.stile-head{display:flex;align-items:center;gap:.75em;margin-bottom:.95em}',
    '.stile-title{flex:1;font-size:1.07em;font-weight:600;letter-spacing:.01em;min-width:0}',
    '.stile-tools{display:flex;gap:.15em;margin-right:-.4em}',
    '.stile-tool{appearance:none;border:0;background:transparent;color:var(--stile-muted);',
    'width:2.2em;height:2.2em;border-radius:8px;display:grid;place-items:center;cursor:pointer;',
    'padding:0;font:inherit;transition:background .15s,color .15s}',
    '.stile-tool .stile-icon{width:1.3em;height:1.3em}',
    '.stile-tool:hover{background:#f1f5f9;color:var(--stile-ink)}',
    '.stile-tool:focus-visible{outline:2px solid var(--stile-brand);outline-offset:1px}',
    '#aliyunCaptcha-btn-refresh:active .stile-icon{transform:rotate(-90deg);transition:transform .2s}',
    '.stile-foot{display:flex;align-items:center;justify-content:flex-end;gap:.35em;',
    'margin-top:.8em;font-size:.8em;color:#94a3b8}',
    '.stile-foot .stile-icon{width:1.25em;height:1.25em;color:var(--stile-ok)}',
    '.stile-foot img{height:1.35em;width:auto;display:block}',
    '.stile-embed{display:inline-block;max-width:100%;vertical-align:top}',
    '.stile-stage{position:relative;max-width:100%}',
    '.stile-sr{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);',
    'clip-path:inset(50%);white-space:nowrap;margin:-1px;padding:0;border:0}',

    /* generic bar: the slider track, the one-click box, loading and error bars share it */
    '.stile-bar{position:relative;max-width:100%;border:1px solid var(--stile-line);',
    'background:var(--stile-track);border-radius:var(--stile-radius);overflow:hidden;',
    'transition:background-color .25s,border-color .25s}',
    '.stile-msg{display:flex;align-items:center;justify-content:center;gap:.5em;padding:0 1em;',
    'color:var(--stile-muted);font-size:.95em;text-align:center}',
    '.stile-msg .stile-icon{width:1.25em;height:1.25em}',
    '.stile-loading{background:linear-gradient(90deg,#f1f5f9 0%,#e8edf3 40%,#f1f5f9 80%);',
    'background-size:300% 100%;animation:stile-sheen 1.3s linear infinite}',
    '.stile-error{background:#fff7ed;border-color:#fed7aa;color:#9a3412;cursor:pointer}',
    '.stile-error:hover{background:#ffedd5}',
    '.stile-error:focus-visible{outline:2px solid var(--stile-brand);outline-offset:2px}',
    '.stile-error span{min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.stile-error small{flex:none;opacity:.65;font-size:.78em;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}',

    /* slider */
    '#aliyunCaptcha-sliding-wrapper{position:relative;max-width:100%}',
    '#aliyunCaptcha-sliding-body{touch-action:none}',
    '#aliyunCaptcha-sliding-left{position:absolute;left:0;top:0;bottom:0;width:0;',
    'background:linear-gradient(90deg,rgba(37,99,235,.06),rgba(37,99,235,.2));',
    'border-radius:var(--stile-radius) 0 0 var(--stile-radius)}',
    '#aliyunCaptcha-sliding-text{position:absolute;inset:0;display:flex;align-items:center;',
    'justify-content:center;padding:0 .8em;white-space:nowrap;overflow:hidden;font-size:.95em;',
    'pointer-events:none;color:var(--stile-muted)}',
    '.stile-shine{background:linear-gradient(100deg,#64748b 0%,#64748b 42%,#cbd5e1 50%,',
    '#64748b 58%,#64748b 100%);background-size:260% 100%;-webkit-background-clip:text;',
    'background-clip:text;color:transparent!important;animation:stile-shine 2.6s linear infinite}',
    '#aliyunCaptcha-sliding-slider{position:absolute;left:0;top:0;bottom:0;display:grid;',
    'place-items:center;background:#fff;color:var(--stile-brand);border-radius:calc(var(--stile-radius) - 1px);',
    'box-shadow:0 0 0 1px rgba(15,23,42,.08),0 1px 2px rgba(15,23,42,.08),0 3px 8px rgba(15,23,42,.1);',
    'cursor:grab;touch-action:none;outline:none;transition:background-color .2s,color .2s,box-shadow .2s}',
    '#aliyunCaptcha-sliding-slider:hover{box-shadow:0 0 0 1px rgba(37,99,235,.35),0 2px 4px rgba(15,23,42,.1),',
    '0 6px 14px rgba(37,99,235,.18)}',
    '#aliyunCaptcha-sliding-slider:focus-visible{box-shadow:0 0 0 2px #fff,0 0 0 4px var(--stile-brand)}',
    '#aliyunCaptcha-sliding-slider .stile-icon{grid-area:1/1}',
    /* one icon per state; class-only selectors so the state rules below win */
    '.stile-slider .stile-icon{display:none}',
    '.stile-slider[data-state=idle] .stile-i-arrow,.stile-slider[data-state=dragging] .stile-i-arrow{display:block}',
    '.stile-slider[data-state=dragging] #aliyunCaptcha-sliding-slider{background:var(--stile-brand);',
    'color:#fff;cursor:grabbing}',
    '.stile-slider[data-state=verifying] .stile-i-spin{display:block;animation:stile-rot .8s linear infinite}',
    '.stile-slider.stile-anim #aliyunCaptcha-sliding-slider{transition:transform .32s cubic-bezier(.3,1.3,.5,1),',
    'background-color .2s,color .2s}',
    '.stile-slider.stile-anim #aliyunCaptcha-sliding-left{transition:width .32s cubic-bezier(.3,1.3,.5,1)}',
    '.stile-slider.stile-anim #aliyunCaptcha-puzzle{transition:left .32s cubic-bezier(.3,1.3,.5,1)}',

    /* picture challenges: jigsaw and image restoration */
    '.stile-imgbox{position:relative;max-width:100%;overflow:hidden;border-radius:var(--stile-radius);',
    'margin-bottom:.75em;background:#e2e8f0;box-shadow:inset 0 0 0 1px rgba(15,23,42,.08)}',
    '#aliyunCaptcha-img{display:block;width:100%;height:100%;pointer-events:none}',
    '#aliyunCaptcha-puzzle{position:absolute;left:0;display:block;pointer-events:none;',
    'filter:drop-shadow(0 2px 3px rgba(0,0,0,.45)) drop-shadow(0 0 1px rgba(255,255,255,.7))}',
    '.stile-picture[data-state=success] .stile-imgbox{box-shadow:inset 0 0 0 2px var(--stile-ok)}',
    '.stile-picture[data-state=fail] .stile-imgbox{animation:stile-shake .35s}',
    '.stile-start{cursor:pointer;color:var(--stile-ink);font-weight:500}',
    '.stile-start .stile-icon{color:var(--stile-brand)}',
    '.stile-start:hover{border-color:var(--stile-brand);background:#eff6ff}',
    '.stile-start:focus-visible{outline:2px solid var(--stile-brand);outline-offset:2px}',
    '[dir=rtl] .stile-head,[dir=rtl] .stile-msg{direction:rtl}',
    /* success / completed */
    '.stile-slider[data-state=success] .stile-i-check,.stile-slider[data-state=completed] .stile-i-check{display:block}',
    '.stile-slider[data-state=success] #aliyunCaptcha-sliding-body,',
    '.stile-slider[data-state=completed] #aliyunCaptcha-sliding-body{border-color:var(--stile-ok);background:#ecfdf5}',
    '.stile-slider[data-state=success] #aliyunCaptcha-sliding-left,',
    '.stile-slider[data-state=completed] #aliyunCaptcha-sliding-left{width:100%!important;border-radius:0;',
    'background:linear-gradient(90deg,#34d399,var(--stile-ok));transition:width .2s}',
    '.stile-slider[data-state=success] #aliyunCaptcha-sliding-slider,',
    '.stile-slider[data-state=completed] #aliyunCaptcha-sliding-slider{background:#fff;color:var(--stile-ok-dark);',
    'box-shadow:0 1px 3px rgba(6,95,70,.3);cursor:default}',
    '.stile-slider[data-state=success] #aliyunCaptcha-sliding-text,',
    '.stile-slider[data-state=completed] #aliyunCaptcha-sliding-text{color:#fff;font-weight:600}',
    /* failure */
    '.stile-slider[data-state=fail] .stile-i-cross{display:block}',
    '.stile-slider[data-state=fail] #aliyunCaptcha-sliding-body{border-color:#fca5a5;background:#fef2f2;',
    'animation:stile-shake .42s cubic-bezier(.36,.07,.19,.97)}',
    '.stile-slider[data-state=fail] #aliyunCaptcha-sliding-left{background:linear-gradient(90deg,',
    'rgba(239,68,68,.06),rgba(239,68,68,.22))}',
    '.stile-slider[data-state=fail] #aliyunCaptcha-sliding-slider{background:var(--stile-bad);color:#fff}',
    '.stile-slider[data-state=fail] #aliyunCaptcha-sliding-text{color:#b91c1c;font-weight:500}',
    '.stile-slider[data-state=verifying] #aliyunCaptcha-sliding-text{color:var(--stile-brand-dark)}',
    '.stile-slider[data-state=verifying] #aliyunCaptcha-sliding-slider{cursor:progress}',
    '.stile-hint #aliyunCaptcha-sliding-body,.stile-hint .stile-bar{animation:stile-shake .42s;',
    'border-color:#fca5a5}',

    /* one-click */
    '#aliyunCaptcha-checkbox{display:flex;align-items:center;gap:.8em;padding:0 1em;cursor:pointer;',
    'background:#fff;outline:none}',
    '#aliyunCaptcha-checkbox:hover{border-color:#b6c2d1}',
    '#aliyunCaptcha-checkbox:focus-visible{box-shadow:0 0 0 2px #fff,0 0 0 4px var(--stile-brand)}',
    '#aliyunCaptcha-checkbox-body{width:1.6em;height:1.6em;flex:none;border:2px solid #94a3b8;',
    'border-radius:6px;background:#fff;display:grid;place-items:center;color:#fff;',
    'transition:background-color .2s,border-color .2s,transform .1s}',
    '#aliyunCaptcha-checkbox:hover #aliyunCaptcha-checkbox-body{border-color:var(--stile-brand)}',
    '#aliyunCaptcha-checkbox:active #aliyunCaptcha-checkbox-body{transform:scale(.92)}',
    '#aliyunCaptcha-checkbox-body .stile-icon{width:1.1em;height:1.1em;grid-area:1/1}',
    '.stile-checkbox .stile-cbi{display:none}',
    '#aliyunCaptcha-checkbox-text{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
    '.stile-checkbox .stile-brandmark{display:flex;align-items:center;gap:.25em;font-size:.75em;color:#94a3b8}',
    '.stile-checkbox .stile-brandmark .stile-icon{width:1.5em;height:1.5em}',
    '.stile-checkbox[data-state=verifying] #aliyunCaptcha-checkbox-body{border-color:var(--stile-brand);',
    'border-width:0;color:var(--stile-brand)}',
    '.stile-checkbox[data-state=verifying] .stile-i-spin{display:block;width:1.6em;height:1.6em;',
    'animation:stile-rot .8s linear infinite}',
    '.stile-checkbox[data-state=verifying] #aliyunCaptcha-checkbox{cursor:progress}',
    '.stile-checkbox[data-state=success] #aliyunCaptcha-checkbox,',
    '.stile-checkbox[data-state=completed] #aliyunCaptcha-checkbox{border-color:var(--stile-ok);background:#ecfdf5;cursor:default}',
    '.stile-checkbox[data-state=success] #aliyunCaptcha-checkbox-body,',
    '.stile-checkbox[data-state=completed] #aliyunCaptcha-checkbox-body{background:var(--stile-ok);',
    'border-color:var(--stile-ok);animation:stile-pulse .35s ease-out}',
    '.stile-checkbox[data-state=success] .stile-i-check,.stile-checkbox[data-state=completed] .stile-i-check{display:block}',
    '.stile-checkbox[data-state=success] #aliyunCaptcha-checkbox-text,',
    '.stile-checkbox[data-state=completed] #aliyunCaptcha-checkbox-text{color:#047857;font-weight:600}',
    '.stile-checkbox[data-state=fail] #aliyunCaptcha-checkbox{border-color:#fca5a5;background:#fef2f2;',
    'animation:stile-shake .42s cubic-bezier(.36,.07,.19,.97)}',
    '.stile-checkbox[data-state=fail] #aliyunCaptcha-checkbox-body{background:var(--stile-bad);border-color:var(--stile-bad)}',
    '.stile-checkbox[data-state=fail] .stile-i-cross{display:block}',
    '.stile-checkbox[data-state=fail] #aliyunCaptcha-checkbox-text{color:#b91c1c}',

    /* silent (No-CAPTCHA first step) */
    '.stile-silent .stile-icon{color:var(--stile-brand);animation:stile-rot .8s linear infinite}',

    /* animations */
    '@keyframes stile-fade{from{opacity:0}}',
    '@keyframes stile-pop{from{opacity:0;transform:translate(-50%,-46%) scale(.96)}}',
    '@keyframes stile-shine{from{background-position:100% 0}to{background-position:-60% 0}}',
    '@keyframes stile-sheen{from{background-position:100% 0}to{background-position:-200% 0}}',
    '@keyframes stile-rot{to{transform:rotate(360deg)}}',
    '@keyframes stile-pulse{50%{transform:scale(1.15)}}',
    '@keyframes stile-shake{10%,90%{transform:translateX(-1px)}20%,80%{transform:translateX(3px)}',
    '30%,50%,70%{transform:translateX(-6px)}40%,60%{transform:translateX(6px)}}',
    '@media (max-width:420px){#aliyunCaptcha-window-popup{padding:1em .9em .85em}.stile-title{font-size:1em}}',
    '@media (prefers-reduced-motion:reduce){.stile-root *,#aliyunCaptcha-mask,#aliyunCaptcha-window-popup',
    '{animation-duration:.01ms!important;animation-iteration-count:1!important;transition:none!important}}',
    '@media (forced-colors:active){#aliyunCaptcha-sliding-slider,#aliyunCaptcha-checkbox-body{border:2px solid ButtonText}}'
  ].join('');

  function injectStyle() {
    if (document.getElementById('aliyunCaptcha-style')) return;
    var style = h('style', { id: 'aliyunCaptcha-style' });
    // Pages with a strict CSP can allow the stylesheet by giving the script tag a nonce.
    if (SCRIPT && SCRIPT.nonce) style.nonce = SCRIPT.nonce;
    style.textContent = CSS;
    (document.head || document.documentElement).appendChild(style);
  }

  /* ------------------------------------------------------------------------------------
   * 4. Renderers — one per challenge kind.
   *
   * A renderer is { mount(ctx) → view }. `ctx` is what the controller lends it:
   *   ctx.t(key)              the text for a key in the current language
   *   ctx.width, ctx.height   the configured size in CSS px (slideStyle × rem)
   *   ctx.now(event?)         ms since the challenge was rendered (event time if given)
   *   ctx.submit(answer)      send an answer; the controller drives the states afterwards
   *   ctx.announce(text)      speak through the aria-live region
   * and the returned view is { el, setState(state, text), reset(), focus(), destroy() } with
   * states idle | verifying | success | fail | completed. New kinds (jigsaw, image restoration)
   * slot in by adding an entry to RENDERERS.
   * ---------------------------------------------------------------------------------- */

  /**
   * Slider: press the handle and drag it to the end of the track. With `ctx.picture` (jigsaw,
   * image restoration) the same track moves a part over a picture instead, and the answer is
   * where the part was released; in embed mode the picture opens from a start button.
   */
  var SliderRenderer = {
    mount: function (ctx) {
      var H = ctx.height;
      var handleW = Math.round(clamp(H * 1.3, 40, 72));
      var pic = ctx.picture || null;
      var tipKey = !pic ? 'SLIDE_TIP' : pic.kind === 'jigsaw' ? 'PUZZLE_TIP' : 'INPAINTING_TIP';
      var panel = null;
      var partEl = null;
      if (pic) {
        var img = h('img', { id: 'aliyunCaptcha-img', src: pic.image, alt: '', draggable: 'false' });
        partEl = h('img', { id: 'aliyunCaptcha-puzzle', src: pic.part, alt: '', draggable: 'false' });
        // percentages of the picture, so the panel may shrink on narrow screens
        partEl.style.width = (pic.partW / pic.width) * 100 + '%';
        partEl.style.height = (pic.partH / pic.height) * 100 + '%';
        partEl.style.top = (pic.partY / pic.height) * 100 + '%';
        panel = h('div', {
          id: 'aliyunCaptcha-img-box',
          class: 'stile-imgbox',
          role: 'img',
          'aria-label': ctx.t(tipKey)
        }, [img, partEl]);
        panel.style.width = ctx.width + 'px';
        panel.style.aspectRatio = pic.width + ' / ' + pic.height;
      }

      var fill = h('div', { id: 'aliyunCaptcha-sliding-left' });
      var text = h('div', { id: 'aliyunCaptcha-sliding-text', class: 'stile-shine', 'aria-hidden': 'true' });
      var handle = h('div', {
        id: 'aliyunCaptcha-sliding-slider',
        role: 'slider',
        tabindex: '0',
        'aria-valuemin': '0',
        'aria-valuemax': '100',
        'aria-valuenow': '0',
        'aria-label': ctx.t(tipKey),
        html: svg('arrow', 'stile-i-arrow') + svg('spin', 'stile-i-spin') +
          svg('check', 'stile-i-check') + svg('cross', 'stile-i-cross')
      });
      handle.style.width = handleW + 'px';
      var body = h('div', { id: 'aliyunCaptcha-sliding-body', class: 'stile-bar' }, [fill, text, handle]);
      body.style.width = ctx.width + 'px';
      body.style.height = H + 'px';
      var wrapper = h('div', {
        id: 'aliyunCaptcha-sliding-wrapper',
        class: 'stile-slider' + (pic ? ' stile-picture' : ''),
        'data-state': 'idle',
        dir: 'ltr'
      }, [panel, body]);
      var opener = null;
      if (pic && ctx.mode === 'embed') {
        // Embed mode: the picture opens from a start button, as in the original widget.
        wrapper.style.display = 'none';
        opener = h('div', {
          id: 'aliyunCaptcha-start',
          class: 'stile-bar stile-msg stile-start',
          role: 'button',
          tabindex: '0',
          html: svg('shield')
        }, [h('span', { text: ctx.t('START_VERIFY') })]);
        opener.style.width = ctx.width + 'px';
        opener.style.height = H + 'px';
        var open = function (ev) {
          if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
          ev.preventDefault();
          opener.style.display = 'none';
          wrapper.style.display = '';
          ctx.rendered();
          handle.focus({ preventScroll: true });
        };
        opener.addEventListener('click', open);
        opener.addEventListener('keydown', open);
      }
      var outer = opener ? h('div', { class: 'stile-picture-embed' }, [opener, wrapper]) : wrapper;

      var state = 'idle';
      var x = 0; // handle offset in CSS px
      var drag = null; // the pointer gesture in progress
      var keyGesture = null; // the keyboard gesture in progress
      var points = [];
      var animTimer = 0;

      /** The handle's maximum travel in CSS px, measured now (layout may have changed). */
      function travel() {
        return Math.max(0, body.clientWidth - handle.offsetWidth);
      }

      /** Ratio of rendered (client) px to CSS px, for pages that transform the widget. */
      function scaleOf() {
        var r = body.getBoundingClientRect();
        return body.offsetWidth ? r.width / body.offsetWidth || 1 : 1;
      }

      function setText(s, shine) {
        text.textContent = s;
        text.classList.toggle('stile-shine', !!shine);
      }

      function place(nx) {
        var max = travel();
        x = clamp(nx, 0, max);
        handle.style.transform = 'translateX(' + x + 'px)';
        if (partEl) partEl.style.left = ((max ? x / max : 0) * (pic.width - pic.partW) / pic.width) * 100 + '%';
        fill.style.width = x > 0 ? x + handleW / 2 + 'px' : '0';
        // fade the tip out as the handle covers it
        text.style.opacity = state === 'idle' || state === 'dragging' ? String(clamp(1 - (x / (max || 1)) * 1.6, 0, 1)) : '';
        handle.setAttribute('aria-valuenow', String(max ? Math.round((x / max) * 100) : 0));
      }

      function animateTo(nx) {
        wrapper.classList.add('stile-anim');
        place(nx);
        clearTimeout(animTimer);
        animTimer = setTimeout(function () {
          wrapper.classList.remove('stile-anim');
        }, 360);
      }

      function setState(s, msg) {
        state = s;
        wrapper.setAttribute('data-state', s);
        handle.setAttribute('aria-disabled', s === 'idle' || s === 'dragging' ? 'false' : 'true');
        if (s === 'idle') {
          setText(ctx.t(tipKey), true);
          text.style.paddingLeft = handleW + 'px';
          text.style.paddingRight = '';
        } else if (s !== 'dragging') {
          if (!pic && (s === 'success' || s === 'completed')) place(travel());
          // a failed handle slides home at once, so the message has the track to itself
          if (s === 'fail') animateTo(0);
          setText(msg || '', false);
          // centre the message in the part of the track the handle does not cover
          var handleAtEnd = x > travel() / 2;
          text.style.paddingLeft = handleAtEnd ? '' : handleW + 'px';
          text.style.paddingRight = handleAtEnd ? handleW + 'px' : '';
          text.style.opacity = '';
        }
      }

      function pushPoint(px, py, t) {
        if (points.length >= MAX_POINTS) {
          // A very long or high-rate drag: halve the resolution, keeping the press.
          points = points.filter(function (q, i) {
            return i % 2 === 0;
          });
        }
        points.push([round1(px), round1(py), t]);
      }

      function send(pointer) {
        var max = travel();
        var answer = {
          kind: pic ? pic.kind : 'slider',
          trackWidth: round1(max),
          pointer: pointer,
          points: points,
          env: environment()
        };
        // where the part's left edge is, in picture px: exactly where the drag ended
        if (pic) answer.x = round1((max ? x / max : 0) * (pic.width - pic.partW));
        points = [];
        ctx.submit(answer);
      }

      /* pointer: mouse, touch and pen */

      function sampleY(ev) {
        return (ev.clientY - drag.top) / drag.scale;
      }

      function onDown(ev) {
        if (state !== 'idle' || drag) return;
        if (ev.pointerType === 'mouse' && ev.button !== 0) return;
        ev.preventDefault();
        keyGesture = null;
        try {
          handle.setPointerCapture(ev.pointerId);
        } catch (e) {
          /* capture is best effort */
        }
        var rect = body.getBoundingClientRect();
        drag = {
          id: ev.pointerId,
          type: ev.pointerType || 'mouse',
          startX: ev.clientX,
          top: rect.top,
          scale: scaleOf()
        };
        wrapper.classList.remove('stile-anim');
        setState('dragging');
        points = [];
        pushPoint(0, sampleY(ev), ctx.now(ev));
        place(0);
      }

      function onMove(ev) {
        if (!drag || ev.pointerId !== drag.id) return;
        var list = typeof ev.getCoalescedEvents === 'function' ? ev.getCoalescedEvents() : [];
        if (!list || !list.length) list = [ev];
        var max = travel();
        for (var i = 0; i < list.length; i++) {
          var e = list[i];
          var nx = clamp((e.clientX - drag.startX) / drag.scale, 0, max);
          pushPoint(nx, sampleY(e), ctx.now(e));
        }
        place(clamp((ev.clientX - drag.startX) / drag.scale, 0, max));
      }

      function onUp(ev) {
        if (!drag || ev.pointerId !== drag.id) return;
        var type = drag.type;
        var max = travel();
        var nx = clamp((ev.clientX - drag.startX) / drag.scale, 0, max);
        var last = points[points.length - 1];
        if (!last || last[0] !== round1(nx)) pushPoint(nx, sampleY(ev), ctx.now(ev));
        place(nx);
        drag = null;
        try {
          handle.releasePointerCapture(ev.pointerId);
        } catch (e) {
          /* already released */
        }
        if (x < MIN_TRAVEL_PX) {
          points = [];
          setState('idle');
          animateTo(0);
          return;
        }
        setState('verifying', ctx.t('VERIFYING'));
        send(type === 'touch' || type === 'pen' ? type : 'mouse');
      }

      function onCancel(ev) {
        if (!drag || ev.pointerId !== drag.id) return;
        drag = null;
        points = [];
        setState('idle');
        animateTo(0);
      }

      /* keyboard: the handle is a focusable slider */

      function onKeyDown(ev) {
        if (state !== 'idle' && state !== 'dragging') return;
        if (drag) return;
        var max = travel();
        // a picture needs fine positioning: small steps, smaller still with Shift
        var step = pic ? Math.max(1, max / (ev.shiftKey ? 200 : 50)) : Math.max(4, max / 20);
        var target = null;
        switch (ev.key) {
          case 'ArrowRight':
          case 'ArrowUp':
            target = x + step;
            break;
          case 'ArrowLeft':
          case 'ArrowDown':
            target = x - step;
            break;
          case 'PageUp':
            target = x + step * 4;
            break;
          case 'PageDown':
            target = x - step * 4;
            break;
          case 'End':
            target = max;
            break;
          case 'Home':
            target = 0;
            break;
          case 'Enter':
          case ' ':
            ev.preventDefault();
            if (keyGesture && x >= MIN_TRAVEL_PX) finishKeys();
            return;
          default:
            return;
        }
        ev.preventDefault();
        var t = ctx.now(ev);
        var y = body.clientHeight / 2;
        if (!keyGesture) {
          keyGesture = { reachedEnd: false };
          points = [];
          pushPoint(x, y, t);
          setState('dragging');
        }
        place(target);
        pushPoint(x, y, t);
        keyGesture.reachedEnd = !pic && x >= max - 0.5;
      }

      function onKeyUp(ev) {
        // A keyboard gesture is released when the end is reached and the key lets go.
        if (keyGesture && keyGesture.reachedEnd && state === 'dragging') finishKeys();
        else if (ev.key === 'Escape' && keyGesture) {
          keyGesture = null;
          points = [];
          setState('idle');
          animateTo(0);
        }
      }

      function finishKeys() {
        keyGesture = null;
        setState('verifying', ctx.t('VERIFYING'));
        send('keyboard');
      }

      function onBlur() {
        if (keyGesture && state === 'dragging') {
          keyGesture = null;
          points = [];
          setState('idle');
          animateTo(0);
        }
      }

      handle.addEventListener('pointerdown', onDown);
      handle.addEventListener('pointermove', onMove);
      handle.addEventListener('pointerup', onUp);
      handle.addEventListener('pointercancel', onCancel);
      handle.addEventListener('lostpointercapture', onCancel);
      handle.addEventListener('keydown', onKeyDown);
      handle.addEventListener('keyup', onKeyUp);
      handle.addEventListener('blur', onBlur);
      // no native drag of the handle's content, no long-press menu on touch screens
      handle.addEventListener('dragstart', function (e) {
        e.preventDefault();
      });
      body.addEventListener('contextmenu', function (e) {
        e.preventDefault();
      });

      setState('idle');

      return {
        el: outer,
        setState: setState,
        reset: function () {
          drag = null;
          keyGesture = null;
          points = [];
          setState('idle');
          animateTo(0);
        },
        focus: function () {
          if (opener && opener.style.display !== 'none') opener.focus({ preventScroll: true });
          else handle.focus({ preventScroll: true });
        },
        destroy: function () {
          clearTimeout(animTimer);
          drag = null;
        }
      };
    }
  };

  /** One-click: a "confirm you are human" box, clicked once. */
  var OneClickRenderer = {
    mount: function (ctx) {
      var box = h('div', {
        id: 'aliyunCaptcha-checkbox-body',
        html: svg('check', 'stile-cbi stile-i-check') + svg('spin', 'stile-cbi stile-i-spin') +
          svg('cross', 'stile-cbi stile-i-cross')
      });
      var text = h('div', { id: 'aliyunCaptcha-checkbox-text', text: ctx.t('CHECK_BOX_TIP') });
      var mark = h('div', { class: 'stile-brandmark', 'aria-hidden': 'true', html: svg('shield') + 'Stile' });
      var bar = h('div', {
        id: 'aliyunCaptcha-checkbox',
        class: 'stile-bar',
        role: 'checkbox',
        tabindex: '0',
        'aria-checked': 'false',
        'aria-label': ctx.t('CHECK_BOX_TIP')
      }, [box, text, mark]);
      bar.style.width = ctx.width + 'px';
      bar.style.height = Math.max(ctx.height, 44) + 'px';
      var wrapper = h('div', { class: 'stile-checkbox', 'data-state': 'idle' }, [bar]);

      var state = 'idle';
      var trail = []; // recent pointer positions: {x, y (client px), t (ms since render)}
      var downType = '';

      function onDocMove(ev) {
        if (state !== 'idle') return;
        trail.push({ x: ev.clientX, y: ev.clientY, t: ctx.now(ev) });
        if (trail.length > 600) trail.splice(0, trail.length - 600);
      }

      function send(pointer, clientX, clientY, t) {
        var r = box.getBoundingClientRect();
        var since = t - APPROACH_WINDOW_MS;
        var pts = trail
          .filter(function (p) {
            return p.t >= since && p.t <= t;
          })
          .map(function (p) {
            return [round1(p.x - r.left), round1(p.y - r.top), p.t];
          });
        trail = [];
        setState('verifying', ctx.t('VERIFYING'));
        ctx.submit({
          kind: 'one-click',
          pointer: pointer,
          points: pts,
          click: [round1(clientX - r.left), round1(clientY - r.top), t],
          env: environment()
        });
      }

      function onDown(ev) {
        downType = ev.pointerType || 'mouse';
      }

      function onClick(ev) {
        if (state !== 'idle') return;
        ev.preventDefault();
        var t = ctx.now(ev);
        var keyboard = ev.detail === 0 && !downType; // activated without a pointer press
        if (keyboard) {
          var r = box.getBoundingClientRect();
          send('keyboard', r.left + r.width / 2, r.top + r.height / 2, t);
        } else {
          var type = ev.pointerType || downType || 'mouse';
          send(type === 'touch' || type === 'pen' ? type : 'mouse', ev.clientX, ev.clientY, t);
        }
        downType = '';
      }

      function onKey(ev) {
        if (ev.key !== 'Enter' && ev.key !== ' ') return;
        ev.preventDefault();
        if (state !== 'idle') return;
        var r = box.getBoundingClientRect();
        send('keyboard', r.left + r.width / 2, r.top + r.height / 2, ctx.now(ev));
      }

      function setState(s, msg) {
        state = s;
        wrapper.setAttribute('data-state', s);
        bar.setAttribute('aria-checked', s === 'success' || s === 'completed' ? 'true' : 'false');
        bar.setAttribute('aria-busy', s === 'verifying' ? 'true' : 'false');
        text.textContent = s === 'idle' ? ctx.t('CHECK_BOX_TIP') : msg || '';
      }

      document.addEventListener('pointermove', onDocMove, { passive: true });
      bar.addEventListener('pointerdown', onDown);
      bar.addEventListener('click', onClick);
      bar.addEventListener('keydown', onKey);

      return {
        el: wrapper,
        setState: setState,
        reset: function () {
          setState('idle');
        },
        focus: function () {
          bar.focus({ preventScroll: true });
        },
        destroy: function () {
          document.removeEventListener('pointermove', onDocMove);
        }
      };
    }
  };

  /**
   * No-CAPTCHA's silent step: nothing to do for the user; the environment is reported at once
   * and the server either passes the cycle or answers with a secondary challenge to render.
   */
  var SilentRenderer = {
    mount: function (ctx) {
      var msg = h('div', { class: 'stile-bar stile-msg', html: svg('spin') });
      var label = h('span', { text: ctx.t('VERIFYING') });
      msg.appendChild(label);
      msg.style.width = ctx.width + 'px';
      msg.style.height = ctx.height + 'px';
      var wrapper = h('div', { class: 'stile-silent', 'data-state': 'verifying' }, [msg]);
      var timer = setTimeout(function () {
        ctx.submit({ kind: 'silent', env: environment() });
      }, 0);
      return {
        el: wrapper,
        setState: function (s, text) {
          wrapper.setAttribute('data-state', s);
          label.textContent = text || ctx.t('VERIFYING');
        },
        reset: function () {},
        focus: function () {},
        destroy: function () {
          clearTimeout(timer);
        }
      };
    }
  };

  /** Challenge kinds this widget can render, by the server's `challenge.kind`. */
  var RENDERERS = {
    slider: SliderRenderer,
    jigsaw: SliderRenderer,
    'image-restoration': SliderRenderer,
    'one-click': OneClickRenderer,
    silent: SilentRenderer
  };

  /* ------------------------------------------------------------------------------------
   * 5. The controller
   * ---------------------------------------------------------------------------------- */

  var instanceCount = 0;

  /**
   * One widget instance: owns the shell (popup or embed), the verification cycle, the current
   * renderer, and the delivery of the pass token to the page.
   */
  function Captcha(options) {
    var opt = options || {};
    var global = window.AliyunCaptchaConfig || {};
    var slide = opt.slideStyle || {};
    var rem = Number(opt.rem) > 0 ? Number(opt.rem) : 1;

    this.id = ++instanceCount;
    this.opt = opt;
    this.sceneId = String(opt.SceneId || opt.sceneId || '');
    this.prefix = String(opt.prefix || global.prefix || '');
    this.mode = opt.mode === 'embed' ? 'embed' : 'popup';
    this.timeout = Number(opt.timeout) > 0 ? Number(opt.timeout) : 5000;
    this.width = Math.round(Math.max(320, Number(slide.width) || 360) * rem);
    if (this.mode === 'popup' && window.innerWidth > 0) {
      // a phone narrower than the popup: shrink to the screen (popup padding, 8 px margins)
      this.width = Math.min(this.width, Math.floor(window.innerWidth - 16 - 37 * rem));
    }
    this.height = Math.round(Math.max(30, Number(slide.height) || 40) * rem);
    this.rem = rem;
    this.zIndex = Number(opt.zIndex) || 99999;
    this.delay = opt.delayBeforeSuccess === false ? 0 : SUCCESS_DELAY_MS;
    this.showErrorTip = opt.showErrorTip !== false;
    this.useCallback = typeof opt.captchaVerifyCallback === 'function';

    this.lang = opt.language ? String(opt.language) : '';
    this.customText = {};

    this.cycle = null; // the current verification cycle from /init
    this.renderer = null; // the mounted challenge view
    this.kind = '';
    this.status = 'new'; // new | loading | ready | busy | passed | completed | error | destroyed
    this.param = ''; // the pass token waiting for delivery (embed + callback + button)
    this.generation = 0; // bumps on every refresh; stale async results are dropped
    this.renderedAt = 0;
    this.timers = [];
    this.abort = null;
    this.visible = false;
    this.listeners = [];
    this.lastFocus = null;

    injectStyle();
    this.element = resolveElement(opt.element);
    this.button = resolveElement(opt.button);
    this.buildShell();
    this.applyLang();
    this.bindButton();

    if (this.mode === 'embed') {
      this.visible = true;
      this.refresh();
    }
  }

  /** The text for a key: page override (upLang) → scene custom text → built-in table. */
  Captcha.prototype.t = function (key) {
    var lang = this.lang || 'cn';
    var up = this.opt.upLang && this.opt.upLang[lang];
    if (up && up[key]) return String(up[key]);
    if (this.customText[key]) return String(this.customText[key]);
    var table = TEXT[lang] || TEXT[FALLBACK_LANG];
    return table[key] || TEXT[FALLBACK_LANG][key] || key;
  };

  /** Set the text direction of the widget for its language (Arabic lays out right to left). */
  Captcha.prototype.applyLang = function () {
    var code = String(this.lang || 'cn').toLowerCase().split(/[-_]/)[0];
    var dir = RTL_LANGS[code] ? 'rtl' : 'ltr';
    [this.root, this.mask].forEach(function (el) {
      if (el) el.setAttribute('dir', dir);
    });
    if (this.root) this.root.setAttribute('lang', this.lang || 'zh');
    if (this.titleEl) this.titleEl.textContent = this.lang ? this.t('POPUP_TITLE') : '\u00a0';
  };

  /** Milliseconds since the current challenge was rendered, for an event or for now. */
  Captcha.prototype.now = function (ev) {
    var ts = ev && ev.timeStamp > 0 ? ev.timeStamp : performance.now();
    return Math.max(0, Math.round(ts - this.renderedAt));
  };

  Captcha.prototype.listen = function (target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    this.listeners.push([target, type, fn, opts]);
  };

  Captcha.prototype.later = function (ms, fn) {
    var self = this;
    var gen = this.generation;
    var id = setTimeout(function () {
      self.timers = self.timers.filter(function (t) {
        return t !== id;
      });
      if (gen === self.generation && self.status !== 'destroyed') fn();
    }, ms);
    this.timers.push(id);
  };

  Captcha.prototype.clearTimers = function () {
    this.timers.forEach(clearTimeout);
    this.timers = [];
  };

  /** Build the popup (mask + window) or the embedded frame; the challenge goes in `stage`. */
  Captcha.prototype.buildShell = function () {
    var self = this;
    this.stage = h('div', { class: 'stile-stage' });
    this.live = h('div', { class: 'stile-sr', 'aria-live': 'polite', 'aria-atomic': 'true' });

    if (this.mode === 'embed') {
      this.root = h('div', { id: 'aliyunCaptcha-window-embed', class: 'stile-root stile-embed' }, [this.stage, this.live]);
      this.root.style.fontSize = 14 * this.rem + 'px';
      (this.element || document.body).appendChild(this.root);
      return;
    }

    // Without a configured language the scene's default arrives with /init; the title waits.
    this.titleEl = h('div', {
      id: 'aliyunCaptcha-title',
      class: 'stile-title',
      text: this.lang ? this.t('POPUP_TITLE') : '\u00a0'
    });
    var refreshBtn = h('button', {
      id: 'aliyunCaptcha-btn-refresh',
      class: 'stile-tool',
      type: 'button',
      title: 'Refresh',
      'aria-label': 'Refresh',
      html: svg('refresh')
    });
    var closeBtn = h('button', {
      id: 'aliyunCaptcha-btn-close',
      class: 'stile-tool',
      type: 'button',
      title: 'Close',
      'aria-label': 'Close',
      html: svg('close')
    });
    var foot = h('div', { class: 'stile-foot' });
    if (this.opt.captchaLogoImg) {
      foot.appendChild(h('img', { src: this.opt.captchaLogoImg, alt: '' }));
    } else {
      foot.innerHTML = svg('shield') + '<span>Stile</span>';
    }
    this.mask = h('div', { id: 'aliyunCaptcha-mask', class: 'stile-root' });
    this.root = h('div', {
      id: 'aliyunCaptcha-window-popup',
      class: 'stile-root stile-popup',
      role: 'dialog',
      'aria-modal': 'true',
      'aria-labelledby': 'aliyunCaptcha-title',
      tabindex: '-1'
    }, [h('div', { class: 'stile-head' }, [this.titleEl, h('div', { class: 'stile-tools' }, [refreshBtn, closeBtn])]), this.stage, foot, this.live]);
    this.root.style.fontSize = 14 * this.rem + 'px';
    this.mask.style.zIndex = String(this.zIndex);
    this.root.style.zIndex = String(this.zIndex + 1);
    this.mask.style.display = 'none';
    this.root.style.display = 'none';
    document.body.appendChild(this.mask);
    document.body.appendChild(this.root);

    refreshBtn.addEventListener('click', function () {
      if (self.status !== 'busy' && self.status !== 'passed') self.refresh();
    });
    closeBtn.addEventListener('click', function () {
      self.closeByUser();
    });
    this.mask.addEventListener('click', function () {
      if (!self.opt.disableMaskClick) self.closeByUser();
    });
    this.root.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') {
        ev.stopPropagation();
        self.closeByUser();
      } else if (ev.key === 'Tab') {
        self.trapFocus(ev);
      }
    });
  };

  /** Keep Tab focus inside the popup while it is open. */
  Captcha.prototype.trapFocus = function (ev) {
    var items = Array.prototype.filter.call(
      this.root.querySelectorAll('button,[tabindex="0"]'),
      function (el) {
        return el.offsetParent !== null;
      }
    );
    if (!items.length) return;
    var first = items[0];
    var last = items[items.length - 1];
    if (ev.shiftKey && document.activeElement === first) {
      ev.preventDefault();
      last.focus();
    } else if (!ev.shiftKey && document.activeElement === last) {
      ev.preventDefault();
      first.focus();
    }
  };

  /**
   * The business button: in popup mode it opens the popup; in embed mode with
   * captchaVerifyCallback it delivers the pass token (or asks to finish the challenge first).
   */
  Captcha.prototype.bindButton = function () {
    var self = this;
    if (!this.button) return;
    if (this.mode === 'popup') {
      this.listen(this.button, 'click', function (ev) {
        ev.preventDefault();
        self.show();
      });
    } else if (this.useCallback) {
      this.listen(this.button, 'click', function (ev) {
        ev.preventDefault();
        if (self.status === 'passed' && self.param) {
          self.deliverCallback(self.param);
        } else if (self.status === 'completed') {
          // The token was spent; a new action needs a new verification.
          self.refresh().then(function () {
            self.hint();
          });
        } else if (self.status !== 'busy') {
          self.hint();
        }
      });
    }
  };

  /** Draw attention to an unfinished challenge (FINISH_CAPTCHA). */
  Captcha.prototype.hint = function () {
    var self = this;
    this.announce(this.t('FINISH_CAPTCHA'));
    this.stage.classList.remove('stile-hint');
    void this.stage.offsetWidth; // restart the animation
    this.stage.classList.add('stile-hint');
    if (this.renderer) this.renderer.focus();
    this.later(500, function () {
      self.stage.classList.remove('stile-hint');
    });
  };

  Captcha.prototype.announce = function (text) {
    var live = this.live;
    live.textContent = '';
    // a fresh text node after a tick makes screen readers repeat identical messages
    setTimeout(function () {
      live.textContent = text;
    }, 30);
  };

  /** Replace the stage content with a message bar (loading or error). */
  Captcha.prototype.showBar = function (kind, html) {
    var self = this;
    this.unmountRenderer();
    var bar = h('div', { class: 'stile-bar stile-msg stile-' + kind, html: html || '' });
    bar.style.width = this.width + 'px';
    bar.style.height = this.height + 'px';
    if (kind === 'error') {
      bar.setAttribute('role', 'button');
      bar.setAttribute('tabindex', '0');
      var retry = function (ev) {
        if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
        ev.preventDefault();
        self.refresh();
      };
      bar.addEventListener('click', retry);
      bar.addEventListener('keydown', retry);
    }
    this.stage.textContent = '';
    this.stage.appendChild(bar);
    return bar;
  };

  Captcha.prototype.unmountRenderer = function () {
    if (this.renderer) {
      try {
        this.renderer.destroy();
      } catch (e) {
        /* keep going */
      }
      this.renderer = null;
    }
  };

  /** Mount the renderer for a challenge kind; false when this build cannot render it. */
  Captcha.prototype.mountChallenge = function (kind, challenge) {
    var self = this;
    var impl = RENDERERS[kind];
    if (!impl) {
      this.fail(new WidgetError('UNSUPPORTED_TYPE', 'challenge kind "' + kind + '" is not supported by this widget'));
      return false;
    }
    this.unmountRenderer();
    this.kind = kind;
    this.renderedAt = this.renderedAt || performance.now();
    var gen = this.generation;
    this.renderer = impl.mount({
      t: function (key) {
        return self.t(key);
      },
      width: this.width,
      height: this.height,
      mode: this.mode,
      picture: challenge && challenge.image ? challenge : null,
      rendered: function () {
        self.renderedAt = performance.now();
      },
      now: function (ev) {
        return self.now(ev);
      },
      submit: function (answer) {
        if (gen === self.generation) self.submit(answer);
      },
      announce: function (text) {
        self.announce(text);
      }
    });
    this.stage.textContent = '';
    this.stage.appendChild(this.renderer.el);
    this.status = 'ready';
    return true;
  };

  /** Report an error: onError({code, message}) and an error bar the user can click to retry. */
  Captcha.prototype.fail = function (err) {
    this.status = 'error';
    this.setPopupShown(this.visible);
    if (this.titleEl) this.titleEl.textContent = this.t('POPUP_TITLE');
    var code = err.code || 'ERROR';
    // No answer, an overloaded or failing server: CONGESTION; anything else: CAPTCHA_FAIL.
    var transport = code === 'TIMEOUT' || code === 'NETWORK_ERROR' || err.status >= 500 || err.status === 429;
    var text = this.t(transport ? 'CONGESTION' : 'CAPTCHA_FAIL');
    this.showBar(
      'error',
      this.showErrorTip ? svg('alert') + '<span></span> <small></small>' : svg('refresh')
    );
    var bar = this.stage.firstChild;
    if (this.showErrorTip) {
      bar.querySelector('span').textContent = text;
      // verification codes (F005…) are shown; longer technical codes only as a tooltip
      if (/^[A-Z]\d{3}$/.test(code)) bar.querySelector('small').textContent = code;
      bar.title = code + ': ' + (err.message || '');
      bar.setAttribute('aria-label', text + ' (' + code + ')');
      this.announce(text);
    } else {
      bar.setAttribute('aria-label', 'Retry');
    }
    if (typeof this.opt.onError === 'function') {
      try {
        this.opt.onError({ code: code, message: err.message || code });
      } catch (e) {
        console.error(e);
      }
    }
  };

  /** Start a new verification cycle: POST /api/v1/init and render its challenge. */
  Captcha.prototype.refresh = function () {
    var self = this;
    if (this.status === 'destroyed') return Promise.resolve();
    this.generation++;
    this.clearTimers();
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    var gen = this.generation;
    this.cycle = null;
    this.param = '';
    this.renderedAt = 0;
    this.status = 'loading';
    this.showBar('loading', '');
    var body = {
      sceneId: this.sceneId,
      prefix: this.prefix,
      pageUrl: location.href,
      lang: this.lang,
      deviceToken: readDeviceToken(),
      dvEpoch: DV_BOOK.dvEpoch
    };
    if (this.opt.EncryptedSceneId) body.encryptedSceneId = String(this.opt.EncryptedSceneId);
    return postJson('/api/v1/init', body, this.timeout, this.abort.signal).then(
      function (data) {
        if (gen !== self.generation || self.status === 'destroyed') return;
        writeDeviceToken(data.deviceToken);
        if (!self.opt.language && data.language) self.lang = String(data.language);
        self.customText = data.customText && typeof data.customText === 'object' ? data.customText : {};
        self.applyLang();
        if (self.titleEl) self.titleEl.textContent = self.t('POPUP_TITLE');
        var cycle = (self.cycle = {
          certifyId: data.certifyId,
          nonce: data.nonce,
          attempt: Number(data.attempt) || 0,
          maxAttempts: Number(data.maxAttempts) || 0,
          expiresAt: Date.now() + (Number(data.expiresIn) || 1200) * 1000,
          pow: null,
          powWaiting: null,
          program: Array.isArray(data.dv) ? dvDecode(data.dv) : null
        });
        var bits = Math.min(Number(data.pow) || 0, 32);
        if (bits > 0) {
          solvePow(String(data.certifyId), String(data.nonce), bits, function () {
            return gen === self.generation && self.status !== 'destroyed';
          }, function (counter) {
            cycle.pow = counter;
            var waiting = cycle.powWaiting;
            cycle.powWaiting = null;
            if (waiting) waiting();
          });
        } else {
          cycle.pow = '';
        }
        var kind = data.challenge && data.challenge.kind;
        if (kind === 'silent' && self.mode === 'embed') {
          // No-CAPTCHA runs in popup mode only: its secondary challenge needs the popup.
          self.fail(new WidgetError('MODE_UNSUPPORTED', 'No-CAPTCHA scenes need mode "popup"'));
          return;
        }
        if (kind === 'silent') self.setPopupShown(false); // invisible unless a challenge follows
        else self.setPopupShown(self.visible);
        if (self.mountChallenge(String(kind), data.challenge) && self.visible) self.focusChallenge();
      },
      function (err) {
        if (gen !== self.generation || self.status === 'destroyed' || err.code === 'ABORTED') return;
        self.fail(err);
      }
    );
  };

  /** Send an answer for the current cycle and act on the verdict. */
  Captcha.prototype.submit = function (answer) {
    var self = this;
    var cycle = this.cycle;
    if (!cycle || this.status !== 'ready') return;
    this.status = 'busy';
    if (answer.kind !== 'silent') this.announce(this.t('VERIFYING'));
    var gen = this.generation;
    if (cycle.pow === null) {
      // The proof-of-work is still being worked out: send as soon as it is done.
      cycle.powWaiting = function () {
        if (gen !== self.generation || self.status !== 'busy') return;
        self.status = 'ready';
        self.submit(answer);
      };
      return;
    }
    var attempt = cycle.attempt + 1;
    var body = { certifyId: cycle.certifyId, nonce: cycle.nonce, attempt: attempt, answer: answer };
    if (cycle.pow) body.pow = cycle.pow;
    if (cycle.program) body.sig = dvSign(cycle.program, canonicalWords(cycle.certifyId, cycle.nonce, attempt, answer));
    postJson('/api/v1/answer', body, this.timeout, this.abort && this.abort.signal).then(
      function (res) {
        if (gen !== self.generation || self.status === 'destroyed') return;
        cycle.attempt = attempt;
        if (res.passed && res.captchaVerifyParam) {
          self.passed(String(res.captchaVerifyParam));
        } else if (!res.passed && res.secondary && res.secondary.kind) {
          // No-CAPTCHA escalated: render the secondary challenge within the same cycle.
          self.renderedAt = 0;
          self.setPopupShown(self.visible);
          if (self.mountChallenge(String(res.secondary.kind), res.secondary)) self.focusChallenge();
        } else {
          self.rejected(res);
        }
      },
      function (err) {
        if (gen !== self.generation || self.status === 'destroyed' || err.code === 'ABORTED') return;
        // The server may or may not have counted this attempt; only a new cycle is safe.
        self.fail(err);
      }
    );
  };

  /** A wrong or suspicious answer: show the failure, then retry in place or start over. */
  Captcha.prototype.rejected = function (res) {
    var self = this;
    var text = this.t('SLIDE_FAIL');
    if (this.renderer) this.renderer.setState('fail', text);
    this.announce(text);
    if (typeof this.opt.fail === 'function') {
      try {
        this.opt.fail({ code: res.code || 'F015', retry: !!res.retry });
      } catch (e) {
        console.error(e);
      }
    }
    this.later(FAIL_DELAY_MS, function () {
      if (res.retry && res.challenge && res.challenge.kind) {
        // a picture challenge retries on a new picture
        self.renderedAt = 0;
        if (self.mountChallenge(String(res.challenge.kind), res.challenge)) self.focusChallenge();
      } else if (res.retry) {
        self.status = 'ready';
        if (self.renderer) {
          self.renderer.reset();
          self.renderer.focus();
        }
      } else {
        self.refresh();
      }
    });
  };

  /** The challenge is passed: show it, then deliver the pass token the configured way. */
  Captcha.prototype.passed = function (param) {
    var self = this;
    this.status = 'passed';
    this.param = param;
    var text = this.t('SUCCESS');
    if (this.renderer) this.renderer.setState('success', text);
    this.announce(text);

    if (this.mode === 'popup') {
      var shownAt = Date.now();
      var closeAfterDelay = function (fn) {
        self.later(Math.max(0, self.delay - (Date.now() - shownAt)), function () {
          self.hidePopup();
          fn();
        });
      };
      if (this.useCallback) {
        this.deliverCallback(param, closeAfterDelay);
      } else {
        closeAfterDelay(function () {
          self.deliverSuccess(param);
        });
      }
      return;
    }
    // embed
    if (this.useCallback) {
      if (!this.button || this.opt.immediate) this.deliverCallback(param);
      // otherwise the token waits for the business button
    } else {
      this.deliverSuccess(param);
    }
  };

  /** Newer style: success(captchaVerifyParam). */
  Captcha.prototype.deliverSuccess = function (param) {
    this.param = '';
    this.status = 'completed';
    if (this.mode === 'embed' && this.renderer) this.renderer.setState('success', this.t('SUCCESS'));
    if (typeof this.opt.success === 'function') {
      try {
        this.opt.success(param);
      } catch (e) {
        console.error(e);
      }
    }
  };

  /**
   * Older style: await captchaVerifyCallback(param) → {captchaResult, bizResult}. On a true
   * captchaResult the widget completes and onBizResultCallback(bizResult) follows; otherwise it
   * shows CAPTCHA_FAIL and starts a new cycle. `wrap` lets popup mode close first.
   */
  Captcha.prototype.deliverCallback = function (param, wrap) {
    var self = this;
    var gen = this.generation;
    this.param = '';
    this.status = 'busy';
    Promise.resolve()
      .then(function () {
        return self.opt.captchaVerifyCallback(param);
      })
      .catch(function (e) {
        console.error('captchaVerifyCallback failed:', e);
        return { captchaResult: false };
      })
      .then(function (result) {
        if (gen !== self.generation || self.status === 'destroyed') return;
        var ok = !!(result && result.captchaResult);
        var biz = result ? result.bizResult : undefined;
        if (ok) {
          self.status = 'completed';
          var done = function () {
            if (typeof self.opt.onBizResultCallback === 'function') {
              try {
                self.opt.onBizResultCallback(biz);
              } catch (e) {
                console.error(e);
              }
            }
          };
          if (self.mode === 'embed') {
            if (self.renderer) self.renderer.setState('completed', self.t('CAPTCHA_COMPLETED'));
            self.announce(self.t('CAPTCHA_COMPLETED'));
            done();
          } else if (wrap) {
            wrap(done);
          } else {
            done();
          }
        } else {
          var text = self.t('CAPTCHA_FAIL');
          if (self.renderer) self.renderer.setState('fail', text);
          self.announce(text);
          self.later(FAIL_DELAY_MS + 300, function () {
            self.refresh();
          });
        }
      });
  };

  Captcha.prototype.focusChallenge = function () {
    if (this.renderer && (this.mode === 'popup' || this.opt.autoFocus)) this.renderer.focus();
  };

  /** Show the popup (fetching a fresh challenge when needed) or the embedded widget. */
  Captcha.prototype.show = function () {
    if (this.status === 'destroyed') return;
    this.visible = true;
    if (this.mode === 'embed') {
      this.root.style.display = '';
      if (this.status === 'new') this.refresh();
      return;
    }
    var self = this;
    var expired = this.cycle && Date.now() > this.cycle.expiresAt - 10000;
    if (this.status === 'ready' && this.renderer && !expired && this.kind !== 'silent') {
      // Re-opened before finishing: same challenge, handle back at the start.
      this.setPopupShown(true);
      this.renderer.reset();
      this.renderer.focus();
    } else if (this.status !== 'loading' && this.status !== 'busy' && this.status !== 'passed') {
      // new, completed (the token was spent), error, or an expired cycle: start over. The
      // popup opens when the challenge arrives (a No-CAPTCHA silent step never opens it),
      // or after a moment on a slow network, with its loading bar.
      this.refresh();
      this.later(250, function () {
        if (self.status === 'loading' && self.visible) self.setPopupShown(true);
      });
    } else if (this.kind !== 'silent') {
      this.setPopupShown(true);
    }
  };

  /** Popup mode: display or hide the window and mask, keeping focus where a user expects. */
  Captcha.prototype.setPopupShown = function (on) {
    if (this.mode !== 'popup' || !this.mask) return;
    var isOpen = this.root.style.display !== 'none';
    if (on === isOpen) return;
    if (!on) {
      this.mask.style.display = 'none';
      this.root.style.display = 'none';
      return;
    }
    this.mask.style.display = '';
    this.root.style.display = '';
    this.lastFocus = this.lastFocus || document.activeElement;
    this.root.focus({ preventScroll: true }); // Escape works before the challenge arrives
  };

  Captcha.prototype.hidePopup = function () {
    if (this.mode !== 'popup' || !this.mask) return false;
    var wasOpen = this.root.style.display !== 'none';
    this.mask.style.display = 'none';
    this.root.style.display = 'none';
    this.visible = false;
    if (wasOpen && this.lastFocus && typeof this.lastFocus.focus === 'function') {
      try {
        this.lastFocus.focus({ preventScroll: true });
      } catch (e) {
        /* element gone */
      }
    }
    this.lastFocus = null;
    return wasOpen;
  };

  /** The user closed the popup (close button, mask, Escape). */
  Captcha.prototype.closeByUser = function () {
    if (this.hidePopup() && typeof this.opt.onClose === 'function') {
      try {
        this.opt.onClose();
      } catch (e) {
        console.error(e);
      }
    }
  };

  Captcha.prototype.hide = function () {
    if (this.mode === 'embed') {
      this.visible = false;
      this.root.style.display = 'none';
      return;
    }
    this.closeByUser();
  };

  Captcha.prototype.destroy = function () {
    if (this.status === 'destroyed') return;
    this.status = 'destroyed';
    this.generation++;
    this.clearTimers();
    if (this.abort) this.abort.abort();
    this.unmountRenderer();
    this.listeners.forEach(function (l) {
      l[0].removeEventListener(l[1], l[2], l[3]);
    });
    this.listeners = [];
    [this.mask, this.root].forEach(function (el) {
      if (el && el.parentNode) el.parentNode.removeChild(el);
    });
  };

  /** The object handed to getInstance: the documented instance methods. */
  Captcha.prototype.publicApi = function () {
    var self = this;
    return {
      show: function () {
        self.show();
      },
      hide: function () {
        self.hide();
      },
      refresh: function () {
        if (self.mode === 'embed' || self.visible) self.refresh();
        else self.status = 'new'; // fetched on the next show()
      },
      destroyCaptcha: function () {
        self.destroy();
      },
      /** No-CAPTCHA: run the silent step now (it also runs on its own once rendered). */
      startTracelessVerification: function () {
        if (self.mode === 'popup') self.show();
        else if (self.status === 'new' || self.status === 'error') self.refresh();
      }
    };
  };

  /* ------------------------------------------------------------------------------------
   * 6. Entry point
   * ---------------------------------------------------------------------------------- */

  /** Live instances, so that a second init on the same element replaces the first. */
  var LIVE = [];

  window.initAliyunCaptcha = function (options) {
    var start = function () {
      var el = resolveElement(options && options.element);
      var btn = resolveElement(options && options.button);
      LIVE = LIVE.filter(function (c) {
        if (c.status === 'destroyed') return false;
        var same = (el && c.element === el) || (btn && c.button === btn);
        if (same) {
          console.warn('initAliyunCaptcha: replacing the widget already on this element');
          c.destroy();
        }
        return !same;
      });
      var captcha = new Captcha(options);
      LIVE.push(captcha);
      var api = captcha.publicApi();
      if (options && typeof options.getInstance === 'function') {
        try {
          options.getInstance(api);
        } catch (e) {
          console.error(e);
        }
      }
      return api;
    };
    if (document.body) return start();
    // Called from <head>: wait for the body to exist.
    var api = null;
    var queued = [];
    document.addEventListener('DOMContentLoaded', function () {
      api = start();
      queued.forEach(function (name) {
        api[name]();
      });
    });
    var proxy = {};
    ['show', 'hide', 'refresh', 'destroyCaptcha', 'startTracelessVerification'].forEach(function (name) {
      proxy[name] = function () {
        if (api) api[name]();
        else queued.push(name);
      };
    });
    return proxy;
  };
  window.initAliyunCaptcha.version = 'stile-1';

  /* ------------------------------------------------------------------------------------
   * 7. Declarative form: <div class="stile-captcha" data-sceneid="…"></div> inside a <form>
   *    renders an embedded widget and puts the pass token into a hidden field.
   *
   *    data-sceneid (or data-sitekey)  the scene id (required)
   *    data-prefix                      the tenant prefix (else AliyunCaptchaConfig.prefix)
   *    data-lang                        language code (else the scene's default)
   *    data-field                       hidden field name (default captchaVerifyParam)
   *    data-callback / data-expired-callback / data-error-callback
   *                                     names of global functions called with the token,
   *                                     on expiry (the token is only good for 90 s), on error
   * ---------------------------------------------------------------------------------- */

  /** A pass token must reach the server within 90 s; the field is cleared a little before. */
  var TOKEN_LIFETIME_MS = 80000;

  function globalFn(name) {
    var fn = name && window[name];
    return typeof fn === 'function' ? fn : null;
  }

  function renderDeclarative(el) {
    if (!el || el.getAttribute('data-stile-rendered')) return null;
    var d = el.dataset || {};
    var sceneId = d.sceneid || d.sitekey || '';
    if (!sceneId) {
      console.error('stile-captcha: data-sceneid is missing', el);
      return null;
    }
    el.setAttribute('data-stile-rendered', '1');
    var fieldName = d.field || 'captchaVerifyParam';
    var form = el.closest ? el.closest('form') : null;
    var field = h('input', { type: 'hidden', name: fieldName, value: '' });
    (form || el).appendChild(field);
    var holder = h('div', { class: 'stile-declarative' });
    el.appendChild(holder);
    var expiry = 0;
    var instance = null;
    var opts = {
      SceneId: sceneId,
      prefix: d.prefix,
      mode: 'embed',
      element: holder,
      language: d.lang,
      slideStyle: d.width ? { width: Number(d.width) } : undefined,
      success: function (param) {
        field.value = param;
        clearTimeout(expiry);
        expiry = setTimeout(function () {
          field.value = '';
          var onExpired = globalFn(d.expiredCallback);
          if (onExpired) onExpired();
          if (instance) instance.refresh();
        }, TOKEN_LIFETIME_MS);
        var cb = globalFn(d.callback);
        if (cb) cb(param);
      },
      fail: function () {
        field.value = '';
      },
      onError: function (err) {
        field.value = '';
        var cb = globalFn(d.errorCallback);
        if (cb) cb(err);
      },
      getInstance: function (i) {
        instance = i;
      }
    };
    return window.initAliyunCaptcha(opts);
  }

  function renderAll() {
    Array.prototype.forEach.call(document.querySelectorAll('.stile-captcha'), renderDeclarative);
  }

  window.stileCaptcha = { render: renderDeclarative, renderAll: renderAll };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', renderAll);
  else renderAll();
})();
