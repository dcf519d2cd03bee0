//! Pixel surfaces and the few drawing primitives the generators need.
//!
//! Two surfaces share one drawing API ([`Surface`]): an opaque RGB [`Canvas`] (the
//! backgrounds and scenes) and a transparent RGBA [`Layer`] placed at an origin in canvas
//! coordinates (pieces and removed objects). Every shape is drawn from a signed distance
//! function (negative inside, in pixels), which gives anti-aliased edges for free and lets
//! the jigsaw code shade by "distance to the piece's edge". Channels are `f32` in 0‥255.

/// A colour: red, green, blue in 0‥255.
pub(crate) type Rgb = [f32; 3];

/// Something that can be painted on, pixel by pixel, in canvas coordinates.
pub(crate) trait Surface {
    /// Width and height in pixels.
    fn size(&self) -> (usize, usize);
    /// Canvas coordinates of this surface's top-left pixel.
    fn origin(&self) -> (i32, i32) {
        (0, 0)
    }
    /// Canvas units per pixel: 1 for a full-resolution surface, 2 for a draft drawn at
    /// half resolution (shapes are still described in full-resolution coordinates).
    fn scale(&self) -> f32 {
        1.0
    }
    /// Paints `colour` with opacity `alpha` (0‥1) over the pixel at surface index (x, y).
    fn blend(&mut self, x: usize, y: usize, colour: Rgb, alpha: f32);
}

/// An opaque RGB image. Its pixel buffer comes from, and returns to, a small per-thread
/// pool: a canvas is 720 KB, and allocating a fresh one per challenge costs more in page
/// faults than drawing on it.
pub(crate) struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<Rgb>,
    /// Canvas units per pixel (see [`Surface::scale`]).
    pub scale: f32,
}

thread_local! {
    /// Spare canvas buffers of this thread (at most [`POOL_KEEP`]).
    static SPARE: std::cell::RefCell<Vec<Vec<Rgb>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How many spare buffers a thread keeps (a jigsaw uses two canvases at once).
const POOL_KEEP: usize = 4;

/// A spare buffer, as it was left, for `n` pixels: the smallest that fits, so that a
/// draft's buffer does not get regrown into a full canvas's (fresh pages) while a
/// full-sized one sits unused; else the largest; else a new one.
fn spare(n: usize) -> Vec<Rgb> {
    SPARE
        .with(|s| {
            let mut s = s.borrow_mut();
            let best = (0..s.len())
                .filter(|&i| s[i].capacity() >= n)
                .min_by_key(|&i| s[i].capacity())
                .or_else(|| (0..s.len()).max_by_key(|&i| s[i].capacity()))?;
            Some(s.swap_remove(best))
        })
        .unwrap_or_default()
}

/// An empty buffer with room for `n` pixels, reused when one is spare.
fn buffer(n: usize) -> Vec<Rgb> {
    let mut v = spare(n);
    v.clear();
    v.reserve(n);
    v
}

/// A buffer of `n` pixels whose values are whatever a spare buffer held (zeros where it
/// was shorter), for a caller that overwrites every one: no pass to clear them first.
fn scratch(n: usize) -> Vec<Rgb> {
    let mut v = spare(n);
    v.truncate(n);
    v.resize(n, [0.0; 3]);
    v
}

impl Drop for Canvas {
    fn drop(&mut self) {
        let px = std::mem::take(&mut self.px);
        if px.capacity() > 0 {
            SPARE.with(|s| {
                let mut s = s.borrow_mut();
                if s.len() < POOL_KEEP {
                    s.push(px);
                }
            });
        }
    }
}

impl Clone for Canvas {
    fn clone(&self) -> Canvas {
        let mut px = buffer(self.px.len());
        px.extend_from_slice(&self.px);
        Canvas {
            w: self.w,
            h: self.h,
            px,
            scale: self.scale,
        }
    }
}

impl Canvas {
    pub fn new(w: usize, h: usize, fill: Rgb) -> Canvas {
        let mut px = buffer(w * h);
        px.resize(w * h, fill);
        Canvas {
            w,
            h,
            px,
            scale: 1.0,
        }
    }

    /// A draft: a canvas of `w × h` canvas units (both even) drawn at half resolution, for
    /// the parts of a picture whose detail survives a 2× upscale (see [`Canvas::upscale2`]).
    pub fn draft(w: usize, h: usize) -> Canvas {
        debug_assert!(
            w.is_multiple_of(2) && h.is_multiple_of(2),
            "a draft of {w}×{h}"
        );
        let mut c = Canvas::new(w / 2, h / 2, [0.0; 3]);
        c.scale = 2.0;
        c
    }

    /// This half-resolution draft bilinearly upscaled to full resolution (twice its size).
    ///
    /// Output pixel x samples the draft at x / 2 - 0.25, so even pixels blend a draft pixel
    /// with its left neighbour 3:1 and odd ones with its right neighbour; rows likewise.
    pub fn upscale2(&self) -> Canvas {
        let (sw, sh) = (self.w, self.h);
        let (w, h) = (sw * 2, sh * 2);
        let mut px = scratch(w * h);
        let mut row = vec![[0.0f32; 3]; sw];
        let (mut left, mut right) = (vec![[0.0f32; 3]; sw - 1], vec![[0.0f32; 3]; sw - 1]);
        for (y, out) in px.chunks_exact_mut(w).enumerate() {
            // Rows: y = 2i blends rows i - 1 and i; y = 2i + 1 rows i and i + 1 (clamped).
            let i = y / 2;
            let (a, b, wa) = if y % 2 == 0 {
                (i.saturating_sub(1), i, 0.25)
            } else {
                (i, (i + 1).min(sh - 1), 0.75)
            };
            let (ra, rb) = (
                &self.px[a * sw..(a + 1) * sw],
                &self.px[b * sw..(b + 1) * sw],
            );
            let (fa, fb) = (
                row.as_flattened_mut(),
                (ra.as_flattened(), rb.as_flattened()),
            );
            for ((r, p), q) in fa.iter_mut().zip(fb.0).zip(fb.1) {
                *r = p * wa + q * (1.0 - wa);
            }
            // Columns: each pair of neighbours l, r gives 3l + r and l + 3r (over 4),
            // worked out channel by channel on the flat rows (a loop that vectorises),
            // then interleaved.
            let f = row.as_flattened();
            for ((a, b), (l, r)) in left
                .as_flattened_mut()
                .iter_mut()
                .zip(right.as_flattened_mut())
                .zip(f.iter().zip(&f[3..]))
            {
                *a = l * 0.75 + r * 0.25;
                *b = l * 0.25 + r * 0.75;
            }
            out[0] = row[0];
            out[w - 1] = row[sw - 1];
            for ((o, a), b) in out[1..w - 1].chunks_exact_mut(2).zip(&left).zip(&right) {
                o[0] = *a;
                o[1] = *b;
            }
        }
        Canvas {
            w,
            h,
            px,
            scale: 1.0,
        }
    }

    /// Builds a canvas from packed RGB8 bytes (`w * h * 3` of them).
    pub fn from_rgb8(w: usize, h: usize, bytes: &[u8]) -> Canvas {
        let mut px = buffer(w * h);
        px.extend(
            bytes
                .chunks_exact(3)
                .map(|c| [f32::from(c[0]), f32::from(c[1]), f32::from(c[2])]),
        );
        Canvas {
            w,
            h,
            px,
            scale: 1.0,
        }
    }

    #[cfg(test)]
    pub fn get(&self, x: usize, y: usize) -> Rgb {
        self.px[y * self.w + x]
    }

    /// Fills the canvas with a vertical gradient through `stops` (evenly spaced, ≥ 1).
    pub fn vertical_gradient(&mut self, stops: &[Rgb]) {
        let n = stops.len().max(1);
        for y in 0..self.h {
            let t = y as f32 / (self.h.max(2) - 1) as f32 * (n - 1) as f32;
            let i = (t as usize).min(n.saturating_sub(2));
            let c = if n == 1 {
                stops[0]
            } else {
                mix(stops[i], stops[i + 1], t - i as f32)
            };
            self.px[y * self.w..(y + 1) * self.w].fill(c);
        }
    }

    /// Adds `field` (values roughly in -1‥1) scaled by `amp`, tinted per channel by `tint`,
    /// to the whole canvas. The field is bilinearly upscaled.
    pub fn add_field(&mut self, field: &Field, amp: f32, tint: Rgb) {
        let (w, h) = (self.w, self.h);
        field.rows_upscaled(w, h, |y, values| {
            for (p, &v) in self.px[y * w..(y + 1) * w].iter_mut().zip(values) {
                let d = v * amp;
                p[0] += d * tint[0];
                p[1] += d * tint[1];
                p[2] += d * tint[2];
            }
        });
    }

    /// Applies an affine colour transform: `c' = m · c + b` (per pixel).
    pub fn grade(&mut self, m: [[f32; 3]; 3], b: Rgb) {
        for p in &mut self.px {
            let [r, g, bl] = *p;
            *p = [
                m[0][0] * r + m[0][1] * g + m[0][2] * bl + b[0],
                m[1][0] * r + m[1][1] * g + m[1][2] * bl + b[1],
                m[2][0] * r + m[2][1] * g + m[2][2] * bl + b[2],
            ];
        }
    }

    /// Packs the canvas into RGB8, adding per-pixel grain of ±`grain` (deterministic in
    /// `seed`) on the way.
    #[cfg(test)]
    pub fn to_rgb8(&self, seed: u64, grain: f32) -> Vec<u8> {
        let mut out = Vec::new();
        self.to_rgb8_into(seed, grain, &mut out);
        out
    }

    /// [`Canvas::to_rgb8`] into a caller's buffer (resized to fit), so that it can be reused.
    #[cfg(test)]
    pub fn to_rgb8_into(&self, seed: u64, grain: f32, out: &mut Vec<u8>) {
        let src = self.px.as_flattened();
        out.clear();
        // Clamp (NaN too), then round by adding 1.5 · 2²³, which
        // leaves the integer in the low mantissa bits: every step vectorises on any x86-64,
        // where a saturating `f32 as u8` compiles to a scalar loop.
        out.extend(
            src.iter()
                .map(|&v| (clamp255(v) + 12_582_912.0).to_bits() as u8),
        );
        add_grain(out, seed, grain);
    }
}

/// How many grain values a thread keeps (a power of two).
const GRAIN_LEN: usize = 1 << 14;

/// The grain table: uniform integers in -8‥8 from a fixed seed (so that an image stays a
/// pure function of its own seed), stored twice over so that any window of [`GRAIN_LEN`]
/// is one slice. An image adds a window of it, scaled, starting at an offset taken from
/// its seed.
static GRAIN: std::sync::LazyLock<Vec<i8>> = std::sync::LazyLock::new(|| {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6772_6169_6e00_0001);
    let half: Vec<i8> = (0..GRAIN_LEN).map(|_| rng.random_range(-8..=8)).collect();
    [half.as_slice(), half.as_slice()].concat()
});

/// The grain table (twice [`GRAIN_LEN`] values in -8‥8, the second half repeating the first).
pub(crate) fn grain_table() -> &'static [i8] {
    &GRAIN
}

#[cfg(test)]
/// Adds grain of up to ±`amp` (at most 8) to every byte, saturating. The pattern repeats
/// every 16 KB of bytes (about 18 rows, shifted sideways), which at these amplitudes and
/// after JPEG no eye or filter can use; it costs a table read and an add per byte.
fn add_grain(bytes: &mut [u8], seed: u64, amp: f32) {
    let k = (amp.clamp(0.0, 8.0) * 4.0) as i16;
    if k == 0 {
        return;
    }
    let g = &*GRAIN;
    let mut off = ((seed ^ (seed >> 32)) as usize) % GRAIN_LEN;
    for chunk in bytes.chunks_mut(GRAIN_LEN) {
        let len = chunk.len();
        for (b, &n) in chunk.iter_mut().zip(&g[off..off + len]) {
            // n · amp / 8, rounded symmetrically.
            let v = i16::from(*b) + ((i16::from(n) * k + 16) >> 5);
            *b = v.clamp(0, 255) as u8;
        }
        off = (off + len) % GRAIN_LEN;
    }
}

impl Surface for Canvas {
    fn size(&self) -> (usize, usize) {
        (self.w, self.h)
    }

    fn scale(&self) -> f32 {
        self.scale
    }

    #[inline]
    fn blend(&mut self, x: usize, y: usize, colour: Rgb, alpha: f32) {
        let p = &mut self.px[y * self.w + x];
        *p = mix(*p, colour, alpha);
    }
}

/// A transparent RGBA image (straight alpha) whose top-left sits at `origin` on a canvas.
pub(crate) struct Layer {
    pub w: usize,
    pub h: usize,
    pub ox: i32,
    pub oy: i32,
    /// Colour and opacity (0‥1) per pixel.
    pub px: Vec<[f32; 4]>,
}

impl Layer {
    pub fn new(ox: i32, oy: i32, w: usize, h: usize) -> Layer {
        Layer {
            w,
            h,
            ox,
            oy,
            px: vec![[0.0; 4]; w * h],
        }
    }

    /// Packs into RGBA8 with grain of ±`grain` on the colour of visible pixels.
    pub fn to_rgba8(&self, seed: u64, grain: f32) -> Vec<u8> {
        // Transparent pixels stay as allocated (zero); the others are written four bytes at
        // once rather than pushed one by one (a capacity check each): 29% fewer instructions.
        let mut out = vec![0u8; self.px.len() * 4];
        let mut g = Grain::new(seed);
        for (o, p) in out.as_chunks_mut::<4>().0.iter_mut().zip(&self.px) {
            let n = g.next() * grain;
            if p[3] <= 0.0 {
                continue;
            }
            *o = [
                clamp_u8(p[0] + n),
                clamp_u8(p[1] + n),
                clamp_u8(p[2] + n),
                clamp_u8(p[3] * 255.0),
            ];
        }
        out
    }
}

impl Surface for Layer {
    fn size(&self) -> (usize, usize) {
        (self.w, self.h)
    }

    fn origin(&self) -> (i32, i32) {
        (self.ox, self.oy)
    }

    #[inline]
    fn blend(&mut self, x: usize, y: usize, colour: Rgb, alpha: f32) {
        let p = &mut self.px[y * self.w + x];
        let da = p[3];
        let oa = alpha + da * (1.0 - alpha);
        if oa <= 1e-6 {
            return;
        }
        let k = da * (1.0 - alpha);
        for c in 0..3 {
            p[c] = (colour[c] * alpha + p[c] * k) / oa;
        }
        p[3] = oa;
    }
}

/// Linear interpolation between two colours.
#[inline]
pub(crate) fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Multiplies a colour's channels by `k` (a shade: `k < 1` darker).
pub(crate) fn scale(c: Rgb, k: f32) -> Rgb {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// `v` clamped to 0‥255 (NaN to 255), written as comparisons so that it compiles to a
/// plain max and min and vectorises (`f32::clamp` keeps NaN, `max`/`min` need extra work
/// for it).
#[inline]
pub(crate) fn clamp255(v: f32) -> f32 {
    let v = if v > 0.0 { v } else { 0.0 };
    if v < 255.0 { v } else { 255.0 }
}

#[inline]
pub(crate) fn clamp_u8(v: f32) -> u8 {
    v.clamp(0.0, 255.0) as u8
}

/// Coverage of a pixel whose centre is at signed distance `d` from an edge.
#[inline]
pub(crate) fn coverage(d: f32) -> f32 {
    (0.5 - d).clamp(0.0, 1.0)
}

/// Paints the shape `sdf` (canvas coordinates, negative inside) in `colour` at opacity
/// `alpha`, visiting only the pixels of the canvas-space box `[x0, x1) × [y0, y1)`.
///
/// `sdf` must be a distance bound (1-Lipschitz: it changes by at most 1 per pixel moved),
/// which every primitive here and their unions, intersections and differences are. That
/// lets each row skip ahead: `d` pixels outside, nothing within `d - 1` can be covered;
/// `d` pixels inside, everything within `-d - 1` is fully covered.
pub(crate) fn fill<S: Surface>(
    s: &mut S,
    bbox: [f32; 4],
    colour: Rgb,
    alpha: f32,
    sdf: impl Fn(f32, f32) -> f32,
) {
    let (w, h) = s.size();
    let (ox, oy) = s.origin();
    // Pixel (x, y) covers canvas units [x·k, (x + 1)·k); distances are measured in pixels.
    let k = s.scale();
    let inv = 1.0 / k;
    let xa = (((bbox[0] * inv).floor() as i32 - 1 - ox).max(0) as usize).min(w);
    let xb = (((bbox[2] * inv).ceil() as i32 + 1 - ox).max(0) as usize).min(w);
    let ya = (((bbox[1] * inv).floor() as i32 - 1 - oy).max(0) as usize).min(h);
    let yb = (((bbox[3] * inv).ceil() as i32 + 1 - oy).max(0) as usize).min(h);
    for y in ya..yb {
        let cy = ((y as i32 + oy) as f32 + 0.5) * k;
        let mut x = xa;
        while x < xb {
            let cx = ((x as i32 + ox) as f32 + 0.5) * k;
            let d = sdf(cx, cy) * inv;
            if d >= 2.0 {
                x += (d - 0.5) as usize;
            } else if d <= -2.0 {
                let run = ((-d - 0.5) as usize).min(xb - x);
                for i in x..x + run {
                    s.blend(i, y, colour, alpha);
                }
                x += run;
            } else {
                let a = coverage(d) * alpha;
                if a > 0.0 {
                    s.blend(x, y, colour, a);
                }
                x += 1;
            }
        }
    }
}

/// Paints the axis-aligned box `r` = `[x0, y0, x1, y1]` (canvas units) in `colour` at
/// opacity `alpha`, each pixel covered by the exact fraction of its area inside the box: no
/// distance to evaluate, which matters for the hundreds of lit windows of a city.
pub(crate) fn fill_box<S: Surface>(s: &mut S, r: [f32; 4], colour: Rgb, alpha: f32) {
    let (w, h) = s.size();
    let (ox, oy) = s.origin();
    let inv = 1.0 / s.scale();
    // The box in this surface's pixel coordinates.
    let (x0, x1) = (r[0] * inv - ox as f32, r[2] * inv - ox as f32);
    let (y0, y1) = (r[1] * inv - oy as f32, r[3] * inv - oy as f32);
    let span = |a: f32, b: f32, n: usize| {
        (
            (a.floor().max(0.0) as usize).min(n),
            (b.ceil().max(0.0) as usize).min(n),
        )
    };
    let (xa, xb) = span(x0, x1, w);
    let (ya, yb) = span(y0, y1, h);
    // Overlap of pixel [i, i + 1) with [a, b).
    let part = |i: usize, a: f32, b: f32| ((i as f32 + 1.0).min(b) - (i as f32).max(a)).max(0.0);
    for y in ya..yb {
        let cy = part(y, y0, y1) * alpha;
        for x in xa..xb {
            let a = part(x, x0, x1) * cy;
            if a > 0.0 {
                s.blend(x, y, colour, a);
            }
        }
    }
}

/// Signed distance to a circle.
#[inline]
pub(crate) fn sd_circle(x: f32, y: f32, cx: f32, cy: f32, r: f32) -> f32 {
    ((x - cx) * (x - cx) + (y - cy) * (y - cy)).sqrt() - r
}

/// Signed distance (approximate, exact on the axes) to an axis-aligned ellipse.
#[inline]
pub(crate) fn sd_ellipse(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
    let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
    ((dx * dx + dy * dy).sqrt() - 1.0) * rx.min(ry)
}

/// Signed distance to a rectangle `[x0, x1] × [y0, y1]` with corners rounded by `r`.
#[inline]
pub(crate) fn sd_rect(x: f32, y: f32, r: [f32; 4], round: f32) -> f32 {
    let (cx, cy) = ((r[0] + r[2]) * 0.5, (r[1] + r[3]) * 0.5);
    let (hx, hy) = ((r[2] - r[0]) * 0.5 - round, (r[3] - r[1]) * 0.5 - round);
    let qx = (x - cx).abs() - hx;
    let qy = (y - cy).abs() - hy;
    let outside = (qx.max(0.0) * qx.max(0.0) + qy.max(0.0) * qy.max(0.0)).sqrt();
    outside + qx.max(qy).min(0.0) - round
}

/// A convex polygon (at most 6 vertices, either winding), ready for distance queries.
#[derive(Clone, Copy)]
pub(crate) struct Convex {
    /// Per edge: outward unit normal and offset, so that distance = n · p - c.
    edges: [(f32, f32, f32); 6],
    n: usize,
}

impl Convex {
    pub fn new(pts: &[(f32, f32)]) -> Convex {
        let n = pts.len().min(6);
        // Twice the signed area: positive for clockwise on screen (y down).
        let area: f32 = (0..n)
            .map(|i| {
                let (a, b) = (pts[i], pts[(i + 1) % n]);
                a.0 * b.1 - b.0 * a.1
            })
            .sum();
        let flip = if area >= 0.0 { 1.0 } else { -1.0 };
        let mut edges = [(0.0, 0.0, f32::NEG_INFINITY); 6];
        for (i, e) in edges.iter_mut().enumerate().take(n) {
            let (ax, ay) = pts[i];
            let (bx, by) = pts[(i + 1) % n];
            let (ex, ey) = (bx - ax, by - ay);
            let len = (ex * ex + ey * ey).sqrt().max(1e-6);
            let (nx, ny) = (flip * ey / len, -flip * ex / len);
            *e = (nx, ny, nx * ax + ny * ay);
        }
        Convex { edges, n }
    }

    /// Signed distance: exact inside and on the edges, a lower bound outside.
    #[inline]
    pub fn sd(&self, x: f32, y: f32) -> f32 {
        self.edges[..self.n]
            .iter()
            .fold(f32::NEG_INFINITY, |d, &(nx, ny, c)| {
                d.max(nx * x + ny * y - c)
            })
    }
}

/// Bounding box `[x0, y0, x1, y1]` of points.
pub(crate) fn bbox_of(pts: &[(f32, f32)]) -> [f32; 4] {
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    for &(x, y) in pts {
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    b
}

/// A low-resolution scalar field (value noise), upscaled on use.
pub(crate) struct Field {
    pub w: usize,
    pub h: usize,
    pub v: Vec<f32>,
}

impl Field {
    /// Fractal value noise at `w × h`: `octaves` layers, the first with `cells` lattice cells
    /// across, each next one twice as fine and `gain` times as strong. Values ≈ -1‥1.
    pub fn value_noise(
        rng: &mut impl rand::Rng,
        w: usize,
        h: usize,
        cells: usize,
        octaves: usize,
        gain: f32,
    ) -> Field {
        let mut v = vec![0.0f32; w * h];
        let mut amp = 1.0;
        let mut total = 0.0;
        let mut cells = cells.max(1);
        for _ in 0..octaves {
            let gw = cells + 2;
            let gh = (cells * h).div_ceil(w) + 2;
            let lattice: Vec<f32> = (0..gw * gh).map(|_| rng.random_range(-1.0..1.0)).collect();
            let sx = cells as f32 / w as f32;
            // Separable: interpolate every lattice row across the columns once, then blend
            // two such rows per output row (a loop that vectorises).
            let cols: Vec<(usize, f32)> = (0..w)
                .map(|x| {
                    let fx = x as f32 * sx;
                    (fx as usize, smooth(fx - (fx as usize) as f32))
                })
                .collect();
            let rows_needed = ((h - 1) as f32 * sx) as usize + 2;
            let mut across = Vec::with_capacity(rows_needed.min(gh) * w);
            for row in lattice.chunks_exact(gw).take(rows_needed) {
                across.extend(
                    cols.iter()
                        .map(|&(ix, tx)| row[ix] + (row[ix + 1] - row[ix]) * tx),
                );
            }
            for (y, out) in v.chunks_exact_mut(w).enumerate() {
                let fy = y as f32 * sx;
                let iy = fy as usize;
                let ty = smooth(fy - iy as f32);
                let (r0, r1) = (
                    &across[iy * w..(iy + 1) * w],
                    &across[(iy + 1) * w..(iy + 2) * w],
                );
                for ((o, &a), &b) in out.iter_mut().zip(r0).zip(r1) {
                    *o += (a + (b - a) * ty) * amp;
                }
            }
            total += amp;
            amp *= gain;
            cells *= 2;
        }
        for x in &mut v {
            *x /= total;
        }
        Field { w, h, v }
    }

    /// Calls `f(y, row)` for every row `y` of a `cw × ch` canvas with the field's values
    /// for that row (`cw` of them), bilinearly upscaled. Whole rows rather than a call per
    /// pixel, so that what the caller does with them runs as a plain loop over two slices.
    pub fn rows_upscaled(&self, cw: usize, ch: usize, mut f: impl FnMut(usize, &[f32])) {
        if (self.w, self.h) == (cw, ch) {
            for (y, row) in self.v.chunks_exact(cw).enumerate() {
                f(y, row);
            }
            return;
        }
        let kx = self.w as f32 / cw as f32;
        let ky = self.h as f32 / ch as f32;
        // Every field row interpolated across the canvas's columns once, then two of those
        // blended per canvas row.
        let cols: Vec<(usize, usize, f32)> = (0..cw)
            .map(|x| {
                let fx = ((x as f32 + 0.5) * kx - 0.5).clamp(0.0, (self.w - 1) as f32);
                let ix = fx as usize;
                (ix, (ix + 1).min(self.w - 1), fx - ix as f32)
            })
            .collect();
        let mut across = Vec::with_capacity(self.h * cw);
        for r in self.v.chunks_exact(self.w) {
            across.extend(
                cols.iter()
                    .map(|&(ix, jx, tx)| r[ix] + (r[jx] - r[ix]) * tx),
            );
        }
        let mut row = vec![0.0f32; cw];
        for y in 0..ch {
            let fy = ((y as f32 + 0.5) * ky - 0.5).clamp(0.0, (self.h - 1) as f32);
            let iy = fy as usize;
            let jy = (iy + 1).min(self.h - 1);
            let ty = fy - iy as f32;
            let (top, bot) = (
                &across[iy * cw..(iy + 1) * cw],
                &across[jy * cw..(jy + 1) * cw],
            );
            for ((o, &t), &b) in row.iter_mut().zip(top).zip(bot) {
                *o = t + (b - t) * ty;
            }
            f(y, &row);
        }
    }
}

#[inline]
fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// A tiny deterministic generator of per-pixel grain in -1‥1 (xorshift; not for secrets).
pub(crate) struct Grain(u64);

impl Grain {
    pub fn new(seed: u64) -> Grain {
        Grain(seed | 1)
    }

    #[inline]
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_circle_covers_its_centre_and_not_its_corner() {
        let mut c = Canvas::new(20, 20, [0.0; 3]);
        fill(&mut c, [5.0, 5.0, 15.0, 15.0], [255.0; 3], 1.0, |x, y| {
            sd_circle(x, y, 10.0, 10.0, 5.0)
        });
        assert_eq!(c.get(10, 10), [255.0; 3]);
        assert_eq!(c.get(5, 5), [0.0; 3]);
        let edge = c.get(14, 10)[0];
        assert!(edge > 0.0 && edge <= 255.0);
    }

    #[test]
    fn a_layer_keeps_what_it_was_not_painted_with_transparent() {
        let mut l = Layer::new(100, 50, 10, 10);
        fill(
            &mut l,
            [100.0, 50.0, 105.0, 55.0],
            [10.0, 20.0, 30.0],
            1.0,
            |x, y| sd_rect(x, y, [100.0, 50.0, 105.0, 55.0], 0.0),
        );
        assert_eq!(l.px[0][3], 1.0);
        assert_eq!(l.px[9 * 10 + 9][3], 0.0);
    }

    #[test]
    fn skipping_fill_matches_a_pixel_by_pixel_reference() {
        let shapes: [&dyn Fn(f32, f32) -> f32; 3] = [
            &|x, y| sd_circle(x, y, 40.0, 30.0, 23.3),
            &|x, y| sd_rect(x, y, [5.2, 7.7, 70.1, 44.9], 4.0),
            &|x, y| Convex::new(&[(3.0, 50.0), (40.0, 2.0), (77.0, 55.0)]).sd(x, y),
        ];
        for sdf in shapes {
            let mut fast = Canvas::new(80, 60, [0.0; 3]);
            fill(&mut fast, [0.0, 0.0, 80.0, 60.0], [255.0; 3], 0.8, sdf);
            for y in 0..60 {
                for x in 0..80 {
                    let want = coverage(sdf(x as f32 + 0.5, y as f32 + 0.5)) * 0.8 * 255.0;
                    let got = fast.get(x, y)[0];
                    assert!((got - want).abs() < 1e-3, "({x}, {y}): {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn a_box_covers_its_pixels_by_area_at_any_scale() {
        let mut c = Canvas::new(10, 10, [0.0; 3]);
        fill_box(&mut c, [2.0, 2.0, 5.5, 4.0], [200.0; 3], 1.0);
        assert_eq!(c.get(3, 3), [200.0; 3]);
        assert!((c.get(5, 3)[0] - 100.0).abs() < 1e-3, "half covered");
        assert_eq!(c.get(6, 3), [0.0; 3]);
        assert_eq!(c.get(3, 4), [0.0; 3]);
        // On a draft (2 units per pixel) the same box covers half as many pixels.
        let mut d = Canvas::draft(20, 20);
        fill_box(&mut d, [2.0, 2.0, 6.0, 4.0], [200.0; 3], 0.5);
        assert_eq!(d.get(1, 1), [100.0; 3]);
        assert_eq!(d.get(2, 1), [100.0; 3]);
        assert_eq!(d.get(3, 1), [0.0; 3]);
    }

    #[test]
    fn a_draft_upscales_smoothly_to_twice_its_size() {
        let mut d = Canvas::draft(8, 4);
        for (i, p) in d.px.iter_mut().enumerate() {
            *p = [(i % 4) as f32 * 40.0, 10.0, 20.0];
        }
        let c = d.upscale2();
        assert_eq!((c.w, c.h, c.scale), (8, 4, 1.0));
        // Constant channels stay constant; the ramp stays monotone and spans the same range.
        assert!(c.px.iter().all(|p| p[1] == 10.0 && p[2] == 20.0));
        let row: Vec<f32> = (0..8).map(|x| c.get(x, 1)[0]).collect();
        assert!(row.windows(2).all(|w| w[0] <= w[1]), "{row:?}");
        assert_eq!((row[0], row[7]), (0.0, 120.0));
        assert_eq!(row[3], 0.75 * 40.0 + 0.25 * 80.0);
    }

    #[test]
    fn convex_polygon_distance_is_negative_inside() {
        let tri = [(0.0, 10.0), (5.0, 0.0), (10.0, 10.0)];
        let rev = [(10.0, 10.0), (5.0, 0.0), (0.0, 10.0)];
        for t in [&tri, &rev] {
            let p = Convex::new(t);
            assert!(p.sd(5.0, 7.0) < 0.0);
            assert!(p.sd(0.0, 0.0) > 0.0);
            assert!((p.sd(5.0, 11.0) - 1.0).abs() < 1e-4);
        }
    }
}
