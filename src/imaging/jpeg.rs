//! A baseline JPEG encoder for the challenge pictures, straight from a float [`Canvas`].
//!
//! General-purpose encoders want packed RGB8 and convert, subsample and transform it in
//! separate passes; at 300×200 that was over a third of a jigsaw's time. This one reads
//! the canvas once: clamp, colour-convert to YCbCr, add grain to the luma, average the
//! chroma 2×2 (4:2:0), then per 8×8 block a separable float DCT (the Arai–Agui–Nakajima
//! factorisation, its output scaling folded into the quantiser) computed eight lanes at a
//! time, quantisation, and Huffman coding with fixed tables.
//!
//! The Huffman tables are not the example tables of the standard: they are built once per
//! process, deterministically, from the symbol counts of a few generated pictures, with
//! every possible symbol given a code (so any picture can be coded) and no code longer
//! than 16 bits or made of ones only, as the format requires. Baseline, 8-bit, one scan:
//! every decoder reads it.

use std::sync::LazyLock;

use super::canvas::{Canvas, clamp255, grain_table};

/// Zigzag position → natural (row-major) index of the coefficient.
const ZIGZAG: [u8; 64] = {
    let mut order = [0u8; 64];
    let (mut k, mut s) = (0, 0);
    while s < 15 {
        let (lo, hi) = (if s > 7 { s - 7 } else { 0 }, if s < 7 { s } else { 7 });
        // Odd diagonals run down-left (row rising), even ones up-right.
        let mut i = 0;
        while i <= hi - lo {
            let r = if s % 2 == 1 { lo + i } else { hi - i };
            order[k] = (r * 8 + (s - r)) as u8;
            k += 1;
            i += 1;
        }
        s += 1;
    }
    order
};

/// Zigzag position → where that coefficient sits in [`fdct`]'s transposed output.
const FROM: [u8; 64] = {
    let mut from = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        let n = ZIGZAG[k] as usize;
        from[k] = ((n % 8) * 8 + n / 8) as u8;
        k += 1;
    }
    from
};

/// The example quantisation tables of the standard (Annex K), natural order.
const LUMA_Q: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q: [u16; 64] = {
    let mut t = [99u16; 64];
    let top = [
        [17, 18, 24, 47],
        [18, 21, 26, 66],
        [24, 26, 56, 99],
        [47, 66, 99, 99],
    ];
    let mut r = 0;
    while r < 4 {
        let mut c = 0;
        while c < 4 {
            t[r * 8 + c] = top[r][c];
            c += 1;
        }
        r += 1;
    }
    t
};

/// A quantisation table scaled to `quality` (1‥100) the usual way, natural order.
fn scaled(base: &[u16; 64], quality: u8) -> [u16; 64] {
    let q = u32::from(quality.clamp(1, 100));
    let s = if q < 50 { 5000 / q } else { 200 - 2 * q };
    base.map(|b| ((u32::from(b) * s + 50) / 100).clamp(1, 255) as u16)
}

/// The AAN DCT's output scale per frequency: cos(kπ/16)·√2, and 1 for k = 0.
fn aan_scale(k: usize) -> f32 {
    if k == 0 {
        1.0
    } else {
        ((k as f64 * std::f64::consts::PI / 16.0).cos() * std::f64::consts::SQRT_2) as f32
    }
}

/// Per coefficient, in the layout [`fdct`] leaves (transposed: index `u·8 + v` for
/// horizontal frequency u, vertical v), the factor that turns the raw transform output
/// into a quantised value.
fn reciprocals(q: &[u16; 64]) -> [f32; 64] {
    let mut out = [0.0f32; 64];
    for u in 0..8 {
        for v in 0..8 {
            let natural = v * 8 + u;
            out[u * 8 + v] = 1.0 / (f32::from(q[natural]) * aan_scale(u) * aan_scale(v) * 8.0);
        }
    }
    out
}

/// One 1-D DCT (unscaled AAN) along the first index, for each of the eight lanes of the
/// second (written lane by lane; the compiler runs the lanes side by side).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // the lane index is the point: b[i][l] for each i
fn aan(b: &mut [[f32; 8]; 8]) {
    const C4: f32 = std::f32::consts::FRAC_1_SQRT_2;
    const C6: f32 = 0.382_683_43;
    const C2_C6: f32 = 0.541_196_1;
    const C2_P_C6: f32 = 1.306_563;
    for l in 0..8 {
        let d: [f32; 8] = std::array::from_fn(|i| b[i][l]);
        let (t0, t7) = (d[0] + d[7], d[0] - d[7]);
        let (t1, t6) = (d[1] + d[6], d[1] - d[6]);
        let (t2, t5) = (d[2] + d[5], d[2] - d[5]);
        let (t3, t4) = (d[3] + d[4], d[3] - d[4]);
        // Even half.
        let (e0, e3) = (t0 + t3, t0 - t3);
        let (e1, e2) = (t1 + t2, t1 - t2);
        b[0][l] = e0 + e1;
        b[4][l] = e0 - e1;
        let z1 = (e2 + e3) * C4;
        b[2][l] = e3 + z1;
        b[6][l] = e3 - z1;
        // Odd half.
        let (o0, o1, o2) = (t4 + t5, t5 + t6, t6 + t7);
        let z5 = (o0 - o2) * C6;
        let z2 = C2_C6 * o0 + z5;
        let z4 = C2_P_C6 * o2 + z5;
        let z3 = o1 * C4;
        let (z11, z13) = (t7 + z3, t7 - z3);
        b[5][l] = z13 + z2;
        b[3][l] = z13 - z2;
        b[1][l] = z11 + z4;
        b[7][l] = z11 - z4;
    }
}

/// The 2-D transform of `b` (rows of pixels, level-shifted): columns, transpose, columns
/// again. The result is transposed: `b[u][v]` holds horizontal frequency u, vertical v.
fn fdct(b: &mut [[f32; 8]; 8]) {
    aan(b);
    transpose(b);
    aan(b);
}

/// `b` transposed, element by element: what [`transpose`] does where there is no SSE, and
/// what its tests compare it with.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse"), allow(dead_code))]
#[inline(always)]
fn transpose_scalar(b: &mut [[f32; 8]; 8]) {
    let t = *b;
    *b = std::array::from_fn(|i| std::array::from_fn(|j| t[j][i]));
}

/// `b` transposed. On x86-64 as four 4×4 transposes of SSE registers (eight shuffles
/// each, through `safe_arch`'s safe wrappers): the compiler writes the element-by-element
/// version as 194 scalar moves, which took about 40% of the transform's time.
#[inline(always)]
fn transpose(b: &mut [[f32; 8]; 8]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    {
        use safe_arch::{
            m128, move_high_low_m128, move_low_high_m128, unpack_high_m128, unpack_low_m128,
        };
        // The 4×4 quarter whose top-left is row r, column c, transposed.
        let quarter = |b: &[[f32; 8]; 8], r: usize, c: usize| -> [[f32; 4]; 4] {
            let [w, x, y, z] = std::array::from_fn(|i| {
                let mut row = [0.0f32; 4];
                row.copy_from_slice(&b[r + i][c..c + 4]);
                m128::from_array(row)
            });
            let (lo_wx, lo_yz) = (unpack_low_m128(w, x), unpack_low_m128(y, z));
            let (hi_wx, hi_yz) = (unpack_high_m128(w, x), unpack_high_m128(y, z));
            [
                move_low_high_m128(lo_wx, lo_yz),
                move_high_low_m128(lo_yz, lo_wx),
                move_low_high_m128(hi_wx, hi_yz),
                move_high_low_m128(hi_yz, hi_wx),
            ]
            .map(m128::to_array)
        };
        let (tl, tr, bl, br) = (
            quarter(b, 0, 0),
            quarter(b, 0, 4),
            quarter(b, 4, 0),
            quarter(b, 4, 4),
        );
        // The top-right quarter goes to the bottom left, and the other way round.
        for i in 0..4 {
            b[i][..4].copy_from_slice(&tl[i]);
            b[i][4..].copy_from_slice(&bl[i]);
            b[4 + i][..4].copy_from_slice(&tr[i]);
            b[4 + i][4..].copy_from_slice(&br[i]);
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    transpose_scalar(b);
}

/// A Huffman code table: code and length per symbol (length 0 = never used).
struct Table {
    code: [u16; 256],
    len: [u8; 256],
    /// The DHT segment's body: 16 counts, then the symbols in code order.
    bits: [u8; 16],
    values: Vec<u8>,
}

impl Table {
    /// Code lengths from `freq` (every listed symbol gets a code), at most 16 bits, with
    /// the all-ones code left unused; then canonical codes in (length, symbol) order.
    fn build(symbols: &[u8], freq: &[u64; 256]) -> Table {
        // Floor at 1 so that every symbol has a code; a reserved extra symbol (index 256)
        // with weight 0 is merged first, so it sits at the greatest depth and, sorting
        // last, takes the all-ones code, which the format forbids.
        let mut weights: Vec<u64> = symbols.iter().map(|&s| freq[s as usize].max(1)).collect();
        let lengths = loop {
            let mut w = weights.clone();
            w.push(0);
            let l = code_lengths(&w);
            if l.iter().all(|&n| n <= 16) {
                break l;
            }
            for x in &mut weights {
                *x = (*x / 2).max(1);
            }
        };
        let mut order: Vec<(u8, u16)> = symbols
            .iter()
            .zip(&lengths)
            .map(|(&s, &l)| (l, u16::from(s)))
            .collect();
        order.push((lengths[symbols.len()], 256));
        order.sort_unstable();
        let mut t = Table {
            code: [0; 256],
            len: [0; 256],
            bits: [0; 16],
            values: Vec::with_capacity(symbols.len()),
        };
        let (mut code, mut at_len) = (0u32, 1u8);
        for &(l, s) in &order {
            while at_len < l {
                code <<= 1;
                at_len += 1;
            }
            if s < 256 {
                t.code[s as usize] = code as u16;
                t.len[s as usize] = l;
                t.bits[l as usize - 1] += 1;
                t.values.push(s as u8);
            }
            code += 1;
        }
        t
    }
}

/// Huffman code lengths for `weights` (n ≥ 2), by repeatedly merging the two lightest
/// subtrees; ties go to the earlier-made subtree, so the result is deterministic.
fn code_lengths(weights: &[u64]) -> Vec<u8> {
    let n = weights.len();
    // Subtrees: (weight, member leaves). n is at most 163: the simple quadratic way is fine.
    let mut nodes: Vec<(u64, Vec<usize>)> = (0..n).map(|i| (weights[i], vec![i])).collect();
    let mut depth = vec![0u8; n];
    while nodes.len() > 1 {
        let lightest = |nodes: &Vec<(u64, Vec<usize>)>| {
            (0..nodes.len())
                .min_by_key(|&i| nodes[i].0)
                .unwrap_or_default()
        };
        let a = nodes.swap_remove(lightest(&nodes));
        let b = nodes.swap_remove(lightest(&nodes));
        for &leaf in a.1.iter().chain(&b.1) {
            depth[leaf] = depth[leaf].saturating_add(1);
        }
        nodes.push((a.0 + b.0, [a.1, b.1].concat()));
    }
    depth
}

/// The DC symbols (magnitude categories 0‥11) and the AC ones: end-of-block, a run of 16
/// zeros, and (run 0‥15, category 1‥10).
fn dc_symbols() -> Vec<u8> {
    (0..12).collect()
}
fn ac_symbols() -> Vec<u8> {
    let mut s = vec![0x00, 0xF0];
    for run in 0..16u8 {
        for size in 1..=10u8 {
            s.push((run << 4) | size);
        }
    }
    s
}

/// The four tables: luma DC, luma AC, chroma DC, chroma AC.
struct Tables {
    dc: [Table; 2],
    ac: [Table; 2],
}

/// The process's Huffman tables, from the symbol counts of a few generated pictures.
static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    use rand::SeedableRng;
    let mut counts = Counts {
        dc: [[0; 256]; 2],
        ac: [[0; 256]; 2],
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6a70_6567_0001);
    let (quant, mut stripe) = (Quant::new(super::encode::JPEG_QUALITY), Stripe::default());
    for _ in 0..6 {
        let canvas = super::backdrop::procedural(&mut rng);
        scan(&canvas, 0, 0.0, &quant, &mut counts, &mut stripe);
    }
    let (dc, ac) = (dc_symbols(), ac_symbols());
    Tables {
        dc: [
            Table::build(&dc, &counts.dc[0]),
            Table::build(&dc, &counts.dc[1]),
        ],
        ac: [
            Table::build(&ac, &counts.ac[0]),
            Table::build(&ac, &counts.ac[1]),
        ],
    }
});

/// Quantisers of one quality: the tables as written, and the reciprocals used.
struct Quant {
    tables: [[u16; 64]; 2],
    recip: [[f32; 64]; 2],
}

impl Quant {
    fn new(quality: u8) -> Quant {
        let tables = [scaled(&LUMA_Q, quality), scaled(&CHROMA_Q, quality)];
        Quant {
            recip: [reciprocals(&tables[0]), reciprocals(&tables[1])],
            tables,
        }
    }
}

/// Where coded symbols go: counted (to build tables) or written.
trait Sink {
    /// A DC symbol of component class `c` (0 luma, 1 chroma), then `n` raw bits (the
    /// low bits of `v`).
    fn dc(&mut self, c: usize, symbol: u8, v: u32, n: u8);
    /// An AC symbol, then `n` raw bits.
    fn ac(&mut self, c: usize, symbol: u8, v: u32, n: u8);
}

struct Counts {
    dc: [[u64; 256]; 2],
    ac: [[u64; 256]; 2],
}

impl Sink for Counts {
    fn dc(&mut self, c: usize, symbol: u8, _: u32, _: u8) {
        self.dc[c][symbol as usize] += 1;
    }
    fn ac(&mut self, c: usize, symbol: u8, _: u32, _: u8) {
        self.ac[c][symbol as usize] += 1;
    }
}

/// Writes codes MSB first with 0xFF byte stuffing.
struct Bits<'a> {
    out: Vec<u8>,
    acc: u64,
    n: u32,
    tables: &'a Tables,
}

impl Bits<'_> {
    /// Appends the low `n` (1‥31) bits of `v`. Bits gather in a 64-bit word and leave
    /// four bytes at a time; only a group holding a 0xFF byte needs stuffing.
    #[inline(always)]
    fn put(&mut self, v: u32, n: u8) {
        let n = u32::from(n);
        self.acc = (self.acc << n) | u64::from(v & (u32::MAX >> (32 - n)));
        self.n += n;
        if self.n >= 32 {
            self.n -= 32;
            let word = (self.acc >> self.n) as u32;
            if !has_ff(word) {
                self.out.extend_from_slice(&word.to_be_bytes());
            } else {
                self.stuffed(word);
            }
        }
    }

    /// Writes `word`, a zero byte after each 0xFF (rare: kept out of the coding loop).
    #[cold]
    #[inline(never)]
    fn stuffed(&mut self, word: u32) {
        for byte in word.to_be_bytes() {
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }

    /// Writes the bits still held, the last byte padded with ones.
    fn flush(&mut self) {
        let pad = (8 - self.n % 8) % 8;
        self.acc = (self.acc << pad) | ((1u64 << pad) - 1);
        self.n += pad;
        while self.n >= 8 {
            self.n -= 8;
            let byte = (self.acc >> self.n) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }
}

impl Bits<'_> {
    /// A symbol's code and its raw bits in one write (at most 16 + 11 bits).
    #[inline]
    fn symbol(&mut self, t: &Table, symbol: u8, v: u32, n: u8) {
        let (code, len) = (u32::from(t.code[symbol as usize]), t.len[symbol as usize]);
        let raw = v & ((1u32 << n) - 1);
        self.put((code << n) | raw, len + n);
    }
}

impl Sink for Bits<'_> {
    #[inline]
    fn dc(&mut self, c: usize, symbol: u8, v: u32, n: u8) {
        let t = &self.tables.dc[c];
        self.symbol(t, symbol, v, n);
    }
    #[inline]
    fn ac(&mut self, c: usize, symbol: u8, v: u32, n: u8) {
        let t = &self.tables.ac[c];
        self.symbol(t, symbol, v, n);
    }
}

/// Whether any of the four bytes of `w` is 0xFF.
#[inline]
fn has_ff(w: u32) -> bool {
    let x = !w;
    // A zero byte in !w is a 0xFF byte in w.
    (x.wrapping_sub(0x0101_0101) & !x & 0x8080_8080) != 0
}

/// Magnitude category of `v` and its raw bits (negative values as v − 1, low bits).
#[inline]
fn category(v: i32) -> (u8, u32) {
    let size = (32 - v.unsigned_abs().leading_zeros()) as u8;
    let bits = if v < 0 { v - 1 } else { v } as u32;
    (size, bits)
}

/// One stripe of the picture as level-shifted planes: the 16 luma rows of a row of 16×16
/// units and the 8 rows of each chroma plane (half size) that go with them, padded by
/// repeating edges. The picture is converted and coded a stripe at a time, so that what
/// the transform reads (about 30 KB) is still in cache from the conversion.
#[derive(Default)]
struct Stripe {
    y: Vec<f32>,
    cb: Vec<f32>,
    cr: Vec<f32>,
}

/// Converts and codes `c` stripe by stripe into `sink`, with luma grain of ±`grain` from
/// `seed`; `st` is scratch (every value read is written first).
fn scan(c: &Canvas, seed: u64, grain: f32, quant: &Quant, sink: &mut impl Sink, st: &mut Stripe) {
    let (w, h) = (c.w, c.h);
    let (pw, ph) = (w.div_ceil(16) * 16, h.div_ceil(16) * 16);
    let cw = pw / 2;
    let hw = w.div_ceil(2);
    st.y.resize(pw * 16, 0.0);
    st.cb.resize(cw * 8, 0.0);
    st.cr.resize(cw * 8, 0.0);
    // Luma grain: successive windows of the shared grain table (±`grain`).
    let g = grain_table();
    let k = grain.clamp(0.0, 8.0) / 8.0;
    let half = g.len() / 2;
    let mut off = ((seed ^ (seed >> 32)) as usize) % half;
    let mut pred = [0i32; 3];
    for my in 0..ph / 16 {
        // Each chroma row with its two luma rows: the chroma of a 2×2 square is the mean
        // of its four pixels, converted (an odd last column or row pairs with itself).
        for r in 0..8 {
            let (ya, yb) = (my * 16 + 2 * r, my * 16 + 2 * r + 1);
            if ya >= h {
                // Below the picture: repeat the rows above (the first row of a stripe is
                // always inside the picture).
                st.y.copy_within((2 * r - 1) * pw..2 * r * pw, 2 * r * pw);
                st.y.copy_within(2 * r * pw..(2 * r + 1) * pw, (2 * r + 1) * pw);
                st.cb.copy_within((r - 1) * cw..r * cw, r * cw);
                st.cr.copy_within((r - 1) * cw..r * cw, r * cw);
                continue;
            }
            let (la, lb) = st.y[2 * r * pw..(2 * r + 2) * pw].split_at_mut(pw);
            let (ocb, ocr) = (
                &mut st.cb[r * cw..(r + 1) * cw],
                &mut st.cr[r * cw..(r + 1) * cw],
            );
            let pairs = w / 2;
            let a = &c.px[ya * w..(ya + 1) * w];
            let na = &g[off..off + w];
            off = (off + w) % half;
            let b = if yb < h {
                let b = &c.px[yb * w..(yb + 1) * w];
                let nb = &g[off..off + w];
                off = (off + w) % half;
                colour::rows(
                    [&mut la[..w], &mut lb[..w]],
                    (&mut ocb[..pairs], &mut ocr[..pairs]),
                    [a, b],
                    [na, nb],
                    k,
                );
                // Pad the row by repeating its last pixel.
                let last = lb[w - 1];
                lb[w..].fill(last);
                b
            } else {
                colour::luma(&mut la[..w], a, na, k);
                colour::chroma(
                    &mut ocb[..pairs],
                    &mut ocr[..pairs],
                    &a[..2 * pairs],
                    &a[..2 * pairs],
                );
                a
            };
            let last = la[w - 1];
            la[w..].fill(last);
            if yb >= h {
                lb.copy_from_slice(la);
            }
            if w % 2 == 1 {
                let (pa, pb) = (a[w - 1], b[w - 1]);
                let s: [f32; 3] =
                    std::array::from_fn(|i| 2.0 * (clamp255(pa[i]) + clamp255(pb[i])));
                (ocb[hw - 1], ocr[hw - 1]) = colour::cb_cr(s);
            }
            let (last_cb, last_cr) = (ocb[hw - 1], ocr[hw - 1]);
            ocb[hw..].fill(last_cb);
            ocr[hw..].fill(last_cr);
        }
        // Every 16×16 unit of the stripe: four luma blocks, then Cb, then Cr.
        for mx in 0..pw / 16 {
            for (by, bx) in [(0, 0), (0, 8), (8, 0), (8, 8)] {
                let at = by * pw + mx * 16 + bx;
                block(&st.y, at, pw, 0, &quant.recip[0], &mut pred[0], sink);
            }
            let at = mx * 8;
            block(&st.cb, at, cw, 1, &quant.recip[1], &mut pred[1], sink);
            block(&st.cr, at, cw, 1, &quant.recip[1], &mut pred[2], sink);
        }
    }
}

/// Colour conversion of canvas rows into the level-shifted planes. The canvas holds
/// pixels as `[f32; 3]`, and the compiler reads those one channel at a time; on x86-64
/// four pixels (three SSE registers) are split into a register of reds, one of greens and
/// one of blues by eight shuffles instead. Every value is computed by the same operations
/// in the same order either way, so the bytes out do not depend on which path ran.
mod colour {
    use super::super::canvas::{Rgb, clamp255};

    /// Luma of one pixel, level-shifted, plus grain `n · k`.
    #[inline(always)]
    fn luma1(p: Rgb, n: i8, k: f32) -> f32 {
        let [r, g, b] = p.map(clamp255);
        0.299 * r + 0.587 * g + 0.114 * b - 128.0 + f32::from(n) * k
    }

    /// Cb and Cr of `s`, the sum of four clamped pixels.
    #[inline(always)]
    pub(super) fn cb_cr(s: Rgb) -> (f32, f32) {
        let [r, g, b] = s.map(|v| v * 0.25);
        (
            -0.168_736 * r - 0.331_264 * g + 0.5 * b,
            0.5 * r - 0.418_688 * g - 0.081_312 * b,
        )
    }

    /// Cb and Cr of the 2×2 square `a[0], a[1]` over `b[0], b[1]`.
    #[inline(always)]
    fn square(a: &[Rgb], b: &[Rgb]) -> (f32, f32) {
        cb_cr(std::array::from_fn(|i| {
            clamp255(a[0][i]) + clamp255(a[1][i]) + clamp255(b[0][i]) + clamp255(b[1][i])
        }))
    }

    /// `out[i]` = the luma of `px[i]` with grain `noise[i] · k` (all three the same length).
    pub(super) fn luma(out: &mut [f32], px: &[Rgb], noise: &[i8], k: f32) {
        let done = simd::luma(out, px, noise, k);
        scalar::luma(&mut out[done..], &px[done..], &noise[done..], k);
    }

    /// `cb[i]`, `cr[i]` = the chroma of the square `a[2i], a[2i + 1]` over `b[2i], b[2i + 1]`
    /// (`a` and `b` twice as long as `cb` and `cr`).
    pub(super) fn chroma(cb: &mut [f32], cr: &mut [f32], a: &[Rgb], b: &[Rgb]) {
        let done = simd::chroma(cb, cr, a, b);
        scalar::chroma(
            &mut cb[done..],
            &mut cr[done..],
            &a[2 * done..],
            &b[2 * done..],
        );
    }

    /// Two rows at once: the luma of `a` and of `b` (with their grain) and the chroma of
    /// the squares they form — each pixel read and split into channels once for both.
    pub(super) fn rows(
        [ya, yb]: [&mut [f32]; 2],
        (cb, cr): (&mut [f32], &mut [f32]),
        [a, b]: [&[Rgb]; 2],
        [na, nb]: [&[i8]; 2],
        k: f32,
    ) {
        let done = simd::rows([ya, yb], (cb, cr), [a, b], [na, nb], k);
        luma(&mut ya[done..], &a[done..], &na[done..], k);
        luma(&mut yb[done..], &b[done..], &nb[done..], k);
        let pairs = cb.len();
        chroma(
            &mut cb[done / 2..],
            &mut cr[done / 2..],
            &a[done..2 * pairs],
            &b[done..2 * pairs],
        );
    }

    /// The conversions one pixel at a time: what the SSE kernels leave over (all of it
    /// without SSE), and what the tests hold those kernels to.
    pub(super) mod scalar {
        use super::*;

        pub fn luma(out: &mut [f32], px: &[Rgb], noise: &[i8], k: f32) {
            for ((o, &p), &n) in out.iter_mut().zip(px).zip(noise) {
                *o = luma1(p, n, k);
            }
        }

        pub fn chroma(cb: &mut [f32], cr: &mut [f32], a: &[Rgb], b: &[Rgb]) {
            for (((ob, or), pa), pb) in cb
                .iter_mut()
                .zip(cr.iter_mut())
                .zip(a.chunks_exact(2))
                .zip(b.chunks_exact(2))
            {
                (*ob, *or) = square(pa, pb);
            }
        }
    }

    /// The SSE kernels: each does the leading whole groups of pixels and says how many.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    mod simd {
        use super::Rgb;
        use safe_arch::{m128, max_m128, min_m128, set_splat_m128, shuffle_abi_f32_all_m128};

        /// `shufps` selector: lanes 0 and 1 from the first operand's `i0`, `i1`, lanes 2
        /// and 3 from the second's `i2`, `i3`.
        const fn sel(i0: i32, i1: i32, i2: i32, i3: i32) -> i32 {
            i0 | i1 << 2 | i2 << 4 | i3 << 6
        }

        /// Four pixels, clamped to 0‥255 (NaN to 0, as `clamp255`), as registers of reds,
        /// greens and blues.
        #[inline(always)]
        fn planes(px: &[Rgb]) -> [m128; 3] {
            let f = px.as_flattened();
            let load = |i: usize| {
                let mut v = [0.0f32; 4];
                v.copy_from_slice(&f[i..i + 4]);
                m128::from_array(v)
            };
            // a = r0 g0 b0 r1, b = g1 b1 r2 g2, c = b2 r3 g3 b3.
            let (a, b, c) = (load(0), load(4), load(8));
            let r = {
                let bc = shuffle_abi_f32_all_m128::<{ sel(2, 2, 1, 1) }>(b, c); // b2 _ c1 _
                shuffle_abi_f32_all_m128::<{ sel(0, 3, 0, 2) }>(a, bc)
            };
            let g = {
                let ab = shuffle_abi_f32_all_m128::<{ sel(1, 1, 0, 0) }>(a, b); // a1 _ b0 _
                let bc = shuffle_abi_f32_all_m128::<{ sel(3, 3, 2, 2) }>(b, c); // b3 _ c2 _
                shuffle_abi_f32_all_m128::<{ sel(0, 2, 0, 2) }>(ab, bc)
            };
            let bl = {
                let ab = shuffle_abi_f32_all_m128::<{ sel(2, 2, 1, 1) }>(a, b); // a2 _ b1 _
                let cc = shuffle_abi_f32_all_m128::<{ sel(0, 0, 3, 3) }>(c, c); // c0 _ c3 _
                shuffle_abi_f32_all_m128::<{ sel(0, 2, 0, 2) }>(ab, cc)
            };
            // maxps gives its second operand when the first is NaN: NaN becomes 0.
            let (zero, top) = (set_splat_m128(0.0), set_splat_m128(255.0));
            [r, g, bl].map(|v| min_m128(max_m128(v, zero), top))
        }

        /// Luma of four pixels' planes, level-shifted, plus their grain.
        struct Luma {
            weights: [m128; 3],
            shift: m128,
            k: m128,
        }

        impl Luma {
            fn new(k: f32) -> Luma {
                Luma {
                    weights: [0.299, 0.587, 0.114].map(set_splat_m128),
                    shift: set_splat_m128(128.0),
                    k: set_splat_m128(k),
                }
            }

            #[inline(always)]
            fn of(&self, [r, g, b]: &[m128; 3], noise: &[i8]) -> [f32; 4] {
                let [kr, kg, kb] = self.weights;
                let grain = m128::from_array([0, 1, 2, 3].map(|i| f32::from(noise[i])));
                (kr * *r + kg * *g + kb * *b - self.shift + grain * self.k).to_array()
            }
        }

        /// Cb and Cr of four 2×2 squares: eight pixels of a row over eight of the next,
        /// each as the planes of two groups of four.
        struct Chroma {
            quarter: m128,
            cb: [m128; 3],
            cr: [m128; 3],
        }

        impl Chroma {
            fn new() -> Chroma {
                Chroma {
                    quarter: set_splat_m128(0.25),
                    cb: [-0.168_736, 0.331_264, 0.5].map(set_splat_m128),
                    cr: [0.5, 0.418_688, 0.081_312].map(set_splat_m128),
                }
            }

            #[inline(always)]
            fn of(&self, a: &[[m128; 3]; 2], b: &[[m128; 3]; 2]) -> ([f32; 4], [f32; 4]) {
                const EVEN: i32 = sel(0, 2, 0, 2);
                const ODD: i32 = sel(1, 3, 1, 3);
                // Per channel: left of a + right of a + left of b + right of b.
                let s: [m128; 3] = std::array::from_fn(|c| {
                    shuffle_abi_f32_all_m128::<EVEN>(a[0][c], a[1][c])
                        + shuffle_abi_f32_all_m128::<ODD>(a[0][c], a[1][c])
                        + shuffle_abi_f32_all_m128::<EVEN>(b[0][c], b[1][c])
                        + shuffle_abi_f32_all_m128::<ODD>(b[0][c], b[1][c])
                });
                let [r, g, bl] = s.map(|v| v * self.quarter);
                let ([br, bg, bb], [rr, rg, rb]) = (self.cb, self.cr);
                (
                    (br * r - bg * g + bb * bl).to_array(),
                    (rr * r - rg * g - rb * bl).to_array(),
                )
            }
        }

        /// Luma of the first multiple of four pixels; returns how many were done.
        pub(super) fn luma(out: &mut [f32], px: &[Rgb], noise: &[i8], k: f32) -> usize {
            let lum = Luma::new(k);
            let n = out.len().min(px.len()).min(noise.len()) / 4 * 4;
            for ((o, p), g) in out[..n]
                .chunks_exact_mut(4)
                .zip(px[..n].chunks_exact(4))
                .zip(noise[..n].chunks_exact(4))
            {
                o.copy_from_slice(&lum.of(&planes(p), g));
            }
            n
        }

        /// [`super::rows`] for the first multiple of eight pixels; returns how many were done.
        pub(super) fn rows(
            [ya, yb]: [&mut [f32]; 2],
            (cb, cr): (&mut [f32], &mut [f32]),
            [a, b]: [&[Rgb]; 2],
            [na, nb]: [&[i8]; 2],
            k: f32,
        ) -> usize {
            let n = [ya.len(), yb.len(), a.len(), b.len(), na.len(), nb.len()]
                .into_iter()
                .fold(2 * cb.len().min(cr.len()), usize::min)
                / 8
                * 8;
            let (lum, chr) = (Luma::new(k), Chroma::new());
            for i in (0..n).step_by(8) {
                let pa = [planes(&a[i..i + 4]), planes(&a[i + 4..i + 8])];
                let pb = [planes(&b[i..i + 4]), planes(&b[i + 4..i + 8])];
                for h in 0..2 {
                    let at = i + 4 * h;
                    ya[at..at + 4].copy_from_slice(&lum.of(&pa[h], &na[at..at + 4]));
                    yb[at..at + 4].copy_from_slice(&lum.of(&pb[h], &nb[at..at + 4]));
                }
                let (ob, or) = chr.of(&pa, &pb);
                cb[i / 2..i / 2 + 4].copy_from_slice(&ob);
                cr[i / 2..i / 2 + 4].copy_from_slice(&or);
            }
            n
        }

        /// Chroma of the first multiple of four squares; returns how many were done.
        pub(super) fn chroma(cb: &mut [f32], cr: &mut [f32], a: &[Rgb], b: &[Rgb]) -> usize {
            let chr = Chroma::new();
            let n = cb.len().min(cr.len()).min(a.len() / 2).min(b.len() / 2) / 4 * 4;
            for (((ob, or), pa), pb) in cb[..n]
                .chunks_exact_mut(4)
                .zip(cr[..n].chunks_exact_mut(4))
                .zip(a[..2 * n].chunks_exact(8))
                .zip(b[..2 * n].chunks_exact(8))
            {
                let two = |p: &[Rgb]| [planes(&p[..4]), planes(&p[4..])];
                let (b4, r4) = chr.of(&two(pa), &two(pb));
                ob.copy_from_slice(&b4);
                or.copy_from_slice(&r4);
            }
            n
        }
    }

    /// Without SSE the kernels do nothing, and [`scalar`](super::scalar) does it all.
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    mod simd {
        use super::Rgb;

        pub(super) fn luma(_: &mut [f32], _: &[Rgb], _: &[i8], _: f32) -> usize {
            0
        }

        pub(super) fn chroma(_: &mut [f32], _: &mut [f32], _: &[Rgb], _: &[Rgb]) -> usize {
            0
        }

        pub(super) fn rows(
            _: [&mut [f32]; 2],
            _: (&mut [f32], &mut [f32]),
            _: [&[Rgb]; 2],
            _: [&[i8]; 2],
            _: f32,
        ) -> usize {
            0
        }
    }
}

/// Rounds to the nearest integer (ties to even) for |v| < 2²², by adding 1.5 · 2²³ so that
/// the integer lands in the low mantissa bits: no libm call, and it vectorises.
#[inline]
fn round(v: f32) -> i32 {
    (v + 12_582_912.0).to_bits() as i32 - 0x4B40_0000
}

/// Transforms, quantises and codes the 8×8 block whose top-left is `plane[at]`.
#[inline]
fn block(
    plane: &[f32],
    at: usize,
    stride: usize,
    class: usize,
    recip: &[f32; 64],
    pred: &mut i32,
    sink: &mut impl Sink,
) {
    let mut b = [[0.0f32; 8]; 8];
    for (r, row) in b.iter_mut().enumerate() {
        row.copy_from_slice(&plane[at + r * stride..at + r * stride + 8]);
    }
    fdct(&mut b);
    // Quantise in the transform's own order (a loop that vectorises), then reorder.
    let mut n = [0i32; 64];
    for ((o, &v), &r) in n.iter_mut().zip(b.as_flattened()).zip(recip) {
        *o = round(v * r);
    }
    let q = zigzag(&n);
    // DC: the difference from the previous block of the same component.
    let dc = q[0].clamp(-2047, 2047);
    let (size, bits) = category(dc - *pred);
    *pred = dc;
    sink.dc(class, size, bits, size);
    // AC: (zero run, category) symbols, runs over 15 split by ZRL, EOB after the last.
    // Walking a bit mask of the non-zero coefficients skips the zeros without a branch
    // each (most of a block is zeros).
    let mut nonzero = nonzero_mask(&q) & !1;
    let mut last = 0u32;
    while nonzero != 0 {
        let k = nonzero.trailing_zeros();
        nonzero &= nonzero - 1;
        let mut run = k - last - 1;
        while run > 15 {
            sink.ac(class, 0xF0, 0, 0);
            run -= 16;
        }
        let (size, bits) = category(q[(k & 63) as usize].clamp(-1023, 1023));
        sink.ac(class, ((run as u8) << 4) | size, bits, size);
        last = k;
    }
    if last < 63 {
        sink.ac(class, 0x00, 0, 0);
    }
}

/// `n` (in [`fdct`]'s layout) in zigzag order. Written out index by index so that every
/// move has fixed offsets: as a loop over [`FROM`] it was a sixth of a block's time.
#[inline(always)]
fn zigzag(n: &[i32; 64]) -> [i32; 64] {
    macro_rules! at {
        ($($k:literal)*) => { [$(n[FROM[$k] as usize]),*] };
    }
    at!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
        32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60
        61 62 63)
}

/// Bit k set when `q[k]` is not zero: a byte of 0 or 1 per value (a compare that
/// vectorises), then each eight bytes gathered into eight bits by one multiplication
/// (bit j lands alone in bit 56 + j; no two partial products meet, so nothing carries).
#[inline]
fn nonzero_mask(q: &[i32; 64]) -> u64 {
    let mut nz = [0u8; 64];
    for (o, &v) in nz.iter_mut().zip(q) {
        *o = u8::from(v != 0);
    }
    let (eights, _) = nz.as_chunks::<8>();
    eights.iter().enumerate().fold(0, |mask, (g, bytes)| {
        let bits = u64::from_le_bytes(*bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask | (bits << (8 * g))
    })
}

/// Encodes `canvas` (at most 65,535 px a side) as a baseline 4:2:0 JPEG of `quality`,
/// adding luma grain of ±`grain` taken from `seed`.
pub(crate) fn encode(canvas: &Canvas, seed: u64, grain: f32, quality: u8) -> Vec<u8> {
    let (Ok(w), Ok(h)) = (u16::try_from(canvas.w), u16::try_from(canvas.h)) else {
        return Vec::new();
    };
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let tables = &*TABLES;
    let quant = Quant::new(quality);
    let mut out = Vec::with_capacity(24 * 1024);
    header(&mut out, w, h, &quant, tables);
    let mut bits = Bits {
        out,
        acc: 0,
        n: 0,
        tables,
    };
    scan(
        canvas,
        seed,
        grain,
        &quant,
        &mut bits,
        &mut Stripe::default(),
    );
    bits.flush();
    let mut out = bits.out;
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// SOI, JFIF, the two quantisation tables, the frame, the four Huffman tables and the scan
/// header.
fn header(out: &mut Vec<u8>, w: u16, h: u16, quant: &Quant, tables: &Tables) {
    out.extend_from_slice(&[0xFF, 0xD8]);
    out.extend_from_slice(&[
        0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
    ]);
    for (id, t) in quant.tables.iter().enumerate() {
        out.extend_from_slice(&[0xFF, 0xDB, 0, 67, id as u8]);
        out.extend(ZIGZAG.iter().map(|&n| t[usize::from(n)] as u8));
    }
    let [wh, wl] = w.to_be_bytes();
    let [hh, hl] = h.to_be_bytes();
    out.extend_from_slice(&[
        0xFF, 0xC0, 0, 17, 8, hh, hl, wh, wl, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    ]);
    for (class, id, t) in [
        (0u8, 0u8, &tables.dc[0]),
        (1, 0, &tables.ac[0]),
        (0, 1, &tables.dc[1]),
        (1, 1, &tables.ac[1]),
    ] {
        let len = 2 + 1 + 16 + t.values.len();
        out.extend_from_slice(&[0xFF, 0xC4]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.push((class << 4) | id);
        out.extend_from_slice(&t.bits);
        out.extend_from_slice(&t.values);
    }
    out.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

#[cfg(test)]
mod tests {
    use super::super::canvas::Rgb;
    use super::*;
    use rand::{Rng, SeedableRng};

    fn decode(bytes: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
            .expect("decodes")
            .to_rgb8()
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0 * 255.0 / mse).log10()
    }

    #[test]
    fn zigzag_visits_every_coefficient_once_in_the_standard_order() {
        let mut seen = [false; 64];
        for &n in &ZIGZAG {
            assert!(!seen[usize::from(n)]);
            seen[usize::from(n)] = true;
        }
        assert_eq!(&ZIGZAG[..10], &[0, 1, 8, 16, 9, 2, 3, 10, 17, 24]);
        assert_eq!(ZIGZAG[63], 63);
    }

    /// Rows of awkward pixels: ordinary values, values outside 0‥255, negative zero and
    /// NaN, in lengths that leave a remainder after the four-pixel groups.
    fn awkward_rows(rng: &mut impl rand::Rng, n: usize) -> Vec<Rgb> {
        (0..n)
            .map(|_| {
                std::array::from_fn(|_| match rng.random_range(0..10) {
                    0 => rng.random_range(-80.0..0.0),
                    1 => rng.random_range(255.0..400.0),
                    2 => f32::NAN,
                    3 => -0.0,
                    _ => rng.random_range(0.0..255.0),
                })
            })
            .collect()
    }

    #[test]
    fn colour_conversion_gives_the_same_bits_on_every_path() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for n in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 300, 301] {
            let px = awkward_rows(&mut rng, n);
            let noise: Vec<i8> = (0..n).map(|_| rng.random_range(-8..=8)).collect();
            let (mut fast, mut plain) = (vec![0.0f32; n], vec![1.0f32; n]);
            colour::luma(&mut fast, &px, &noise, 0.375);
            colour::scalar::luma(&mut plain, &px, &noise, 0.375);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&plain), "luma of {n} pixels");

            let below = awkward_rows(&mut rng, n);
            let m = n / 2;
            let (mut cb, mut cr) = (vec![0.0f32; m], vec![0.0f32; m]);
            let (mut pcb, mut pcr) = (vec![1.0f32; m], vec![1.0f32; m]);
            colour::chroma(&mut cb, &mut cr, &px[..2 * m], &below[..2 * m]);
            colour::scalar::chroma(&mut pcb, &mut pcr, &px[..2 * m], &below[..2 * m]);
            assert_eq!(bits(&cb), bits(&pcb), "Cb of {m} squares");
            assert_eq!(bits(&cr), bits(&pcr), "Cr of {m} squares");

            // Both rows and their squares at once: the same bits again.
            let below_noise: Vec<i8> = (0..n).map(|_| rng.random_range(-8..=8)).collect();
            let (mut ya, mut yb) = (vec![0.0f32; n], vec![0.0f32; n]);
            let (mut rcb, mut rcr) = (vec![0.0f32; m], vec![0.0f32; m]);
            colour::rows(
                [&mut ya, &mut yb],
                (&mut rcb, &mut rcr),
                [&px, &below],
                [&noise, &below_noise],
                0.375,
            );
            let mut pyb = vec![1.0f32; n];
            colour::scalar::luma(&mut pyb, &below, &below_noise, 0.375);
            assert_eq!(bits(&ya), bits(&plain), "upper luma of {n} pixels");
            assert_eq!(bits(&yb), bits(&pyb), "lower luma of {n} pixels");
            assert_eq!(
                bits(&rcb),
                bits(&pcb),
                "Cb of {m} squares, two rows at once"
            );
            assert_eq!(
                bits(&rcr),
                bits(&pcr),
                "Cr of {m} squares, two rows at once"
            );
            assert!(cb.iter().chain(&cr).chain(&fast).all(|v| v.is_finite()));
        }
    }

    #[test]
    fn the_transpose_moves_every_element_to_its_mirror_place() {
        let b: [[f32; 8]; 8] = std::array::from_fn(|i| std::array::from_fn(|j| (i * 8 + j) as f32));
        let (mut fast, mut plain) = (b, b);
        transpose(&mut fast);
        transpose_scalar(&mut plain);
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(fast[i][j], b[j][i], "({i}, {j})");
                assert_eq!(plain[i][j], b[j][i], "({i}, {j})");
            }
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // u and v are frequencies, used in the formula
    fn the_transform_matches_the_textbook_dct() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut b = [[0.0f32; 8]; 8];
        for row in &mut b {
            for v in row.iter_mut() {
                *v = rand::Rng::random_range(&mut rng, -128.0..127.0);
            }
        }
        let src = b;
        fdct(&mut b);
        let c = |k: usize| if k == 0 { (0.5f64).sqrt() } else { 1.0 };
        for u in 0..8 {
            for v in 0..8 {
                let mut s = 0.0f64;
                for (y, row) in src.iter().enumerate() {
                    for (x, &p) in row.iter().enumerate() {
                        s += f64::from(p)
                            * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos()
                            * ((2 * y + 1) as f64 * v as f64 * std::f64::consts::PI / 16.0).cos();
                    }
                }
                let want = 0.25 * c(u) * c(v) * s;
                // The AAN output is the true coefficient times 8 · scale(u) · scale(v).
                let got = f64::from(b[u][v]) / (8.0 * f64::from(aan_scale(u) * aan_scale(v)));
                assert!(
                    (got - want).abs() < 0.01 * want.abs().max(1.0),
                    "({u}, {v}): {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn huffman_tables_are_complete_prefix_codes_within_sixteen_bits() {
        let t = &*TABLES;
        for (table, symbols) in [
            (&t.dc[0], dc_symbols()),
            (&t.dc[1], dc_symbols()),
            (&t.ac[0], ac_symbols()),
            (&t.ac[1], ac_symbols()),
        ] {
            assert_eq!(table.values.len(), symbols.len());
            assert_eq!(
                table.bits.iter().map(|&b| usize::from(b)).sum::<usize>(),
                symbols.len()
            );
            // Kraft sum below one (the all-ones code is left out), and no code all ones.
            let kraft: f64 = symbols
                .iter()
                .map(|&s| {
                    let l = table.len[s as usize];
                    assert!((1..=16).contains(&l), "symbol {s:#x} length {l}");
                    let ones = (1u32 << l) - 1;
                    assert_ne!(u32::from(table.code[s as usize]), ones, "all-ones code");
                    0.5f64.powi(i32::from(l))
                })
                .sum();
            assert!(kraft < 1.0);
            // Prefix-free.
            for &a in &symbols {
                for &b in &symbols {
                    let (la, lb) = (table.len[a as usize], table.len[b as usize]);
                    if a != b && la <= lb {
                        let prefix = table.code[b as usize] >> (lb - la);
                        assert_ne!(prefix, table.code[a as usize], "{a:#x} prefixes {b:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn pictures_decode_close_to_their_source_and_as_small_as_a_general_encoder() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(77);
        for i in 0..12 {
            let canvas = if i == 0 {
                // A flat picture and odd sizes exercise the padding.
                Canvas::new(37, 21, [200.0, 30.0, 90.0])
            } else {
                super::super::backdrop::procedural(&mut rng)
            };
            let ours = encode(&canvas, 5, 0.0, 72);
            let img = decode(&ours);
            assert_eq!(
                (img.width() as usize, img.height() as usize),
                (canvas.w, canvas.h)
            );
            let src = canvas.to_rgb8(0, 0.0);
            let q = psnr(img.as_raw(), &src);
            let reference = super::super::encode::jpeg(&src, canvas.w as u32, canvas.h as u32, 72);
            let r = psnr(decode(&reference).as_raw(), &src);
            assert!(
                q > 28.0 && q > r - 1.0,
                "picture {i}: {q:.1} dB vs {r:.1} dB"
            );
            if i > 0 {
                assert!(
                    ours.len() * 100 <= reference.len() * 110,
                    "picture {i}: {} vs {} bytes",
                    ours.len(),
                    reference.len()
                );
            }
        }
    }

    #[test]
    fn ff_bytes_are_found_in_any_position() {
        assert!(!has_ff(0));
        assert!(!has_ff(0xFEFE_FEFE));
        assert!(!has_ff(0x7F7F_7F7F));
        for shift in [0, 8, 16, 24] {
            assert!(has_ff(0xFF << shift), "{shift}");
            assert!(has_ff((0xFF << shift) | 0x0101_0101 & !(0xFF << shift)));
        }
    }

    #[test]
    fn grain_is_added_to_the_picture_and_follows_the_seed() {
        let canvas = Canvas::new(64, 48, [120.0, 120.0, 120.0]);
        let flat = decode(&encode(&canvas, 1, 0.0, 90));
        let a = decode(&encode(&canvas, 1, 4.0, 90));
        let b = decode(&encode(&canvas, 2, 4.0, 90));
        assert_ne!(flat.as_raw(), a.as_raw());
        assert_ne!(a.as_raw(), b.as_raw());
        assert_eq!(a.as_raw(), decode(&encode(&canvas, 1, 4.0, 90)).as_raw());
    }
}

/// `cargo test --release --lib imaging::jpeg::timing -- --ignored --nocapture`
#[cfg(test)]
mod timing {
    use super::*;
    use rand::SeedableRng;

    #[test]
    #[ignore = "a timing loop, run by hand in release (and under perf)"]
    fn encode_one_picture_many_times() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let c = super::super::backdrop::procedural(&mut rng);
        let _ = encode(&c, 0, 3.0, 72);
        let t = std::time::Instant::now();
        for i in 0..3000 {
            std::hint::black_box(encode(&c, i, 3.0, 72));
        }
        println!("encode {:?}", t.elapsed() / 3000);
        let q = Quant::new(72);
        let mut st = Stripe::default();
        let t = std::time::Instant::now();
        for i in 0..3000 {
            let mut counts = Counts {
                dc: [[0; 256]; 2],
                ac: [[0; 256]; 2],
            };
            scan(&c, i, 3.0, &q, &mut counts, &mut st);
            std::hint::black_box(&counts);
        }
        println!(
            "  convert, transform and count (no bit writing) {:?}",
            t.elapsed() / 3000
        );
    }
}
