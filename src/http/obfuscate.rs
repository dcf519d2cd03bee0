//! The widget as pages receive it: its strings, property names and integers moved out of
//! the code into encoded tables, in an order and under keys that change every hour.
//!
//! Minifying alone leaves a script whose protocol can be read off it (`dvCodes`, `certifyId`,
//! `/api/v1/answer`, the signing program's numbers) and whose codebook a regular expression
//! can lift. Served through [`obfuscate`], every string literal becomes a call of a decoder
//! into a table of strings XORed with a keystream, every `a.name` an `a[decoder(i)]`, every
//! `{ name: … }` key a computed one, and every integer a call into a table of masked
//! numbers — the hourly codebook's (written in before this pass) among them. The tables are
//! shuffled and keyed from a seed that changes with the codebook's epoch, so two hours'
//! scripts share no text a scraper could anchor on, and lifting the codebook means running
//! the script (a capable attacker will; this raises the cost of doing it at scale and
//! of following the protocol as it changes, it does not hide it).
//!
//! The transformation works on the parsed program (`oxc`) and edits the source text at the
//! nodes' spans; the result is then minified as before (`http::widget`), which mangles the
//! decoder's names with the rest. Functions named in [`HOT`] (the proof-of-work's inner
//! loop) are left as written: a call per property read would slow the hashing.

use std::collections::{HashMap, HashSet};

use oxc_allocator::Allocator;
use oxc_ast::ast::{Expression, Function, ObjectProperty, PropertyKey, StaticMemberExpression};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};
use oxc_syntax::scope::ScopeFlags;
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// Where in the widget source the decoder and its tables go: a comment inside the
/// script's outer function, so that they are local to it (and mangled).
pub const MARK: &str = "/*__STILE_OBF__*/";

/// Functions left as written: the proof-of-work's hashing loop.
pub const HOT: [&str; 3] = ["sha256Words", "leadingZeroBits", "solvePow"];

/// Names of the decoder and its tables before minifying (which renames them).
const STR_FN: &str = "__stileS";
const NUM_FN: &str = "__stileN";

/// One edit of the source: the bytes `start..end` become `what` written out.
struct Edit {
    start: usize,
    end: usize,
    what: What,
}

enum What {
    /// A string literal used as a value.
    Str(String),
    /// An integer literal (0 ≤ n < 2³²).
    Num(u32),
    /// `.name` or `?.name` after an object.
    Member { name: String, optional: bool },
    /// An object literal's key; `shorthand` keeps `{ name }`'s value.
    Key { name: String, shorthand: bool },
}

struct Collect {
    edits: Vec<Edit>,
}

impl Collect {
    fn edit(&mut self, span: Span, what: What) {
        self.edits.push(Edit {
            start: span.start as usize,
            end: span.end as usize,
            what,
        });
    }
}

impl<'a> Visit<'a> for Collect {
    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        if it
            .id
            .as_ref()
            .is_some_and(|id| HOT.contains(&id.name.as_str()))
        {
            return;
        }
        walk::walk_function(self, it, flags);
    }

    fn visit_expression(&mut self, it: &Expression<'a>) {
        match it {
            Expression::StringLiteral(s) => self.edit(s.span, What::Str(s.value.to_string())),
            Expression::NumericLiteral(n)
                if n.value.fract() == 0.0 && (0.0..4_294_967_296.0).contains(&n.value) =>
            {
                self.edit(n.span, What::Num(n.value as u32));
            }
            _ => walk::walk_expression(self, it),
        }
    }

    fn visit_static_member_expression(&mut self, it: &StaticMemberExpression<'a>) {
        self.visit_expression(&it.object);
        let span = Span::new(it.object.span().end, it.property.span.end);
        self.edit(
            span,
            What::Member {
                name: it.property.name.to_string(),
                optional: it.optional,
            },
        );
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        match &it.key {
            PropertyKey::StaticIdentifier(id) if !it.computed => self.edit(
                id.span,
                What::Key {
                    name: id.name.to_string(),
                    shorthand: it.shorthand,
                },
            ),
            PropertyKey::StringLiteral(s) if !it.computed => self.edit(
                s.span,
                What::Key {
                    name: s.value.to_string(),
                    shorthand: false,
                },
            ),
            // Numeric keys stay; computed ones are expressions like any other.
            key if it.computed => self.visit_property_key(key),
            _ => {}
        }
        if !it.shorthand {
            self.visit_expression(&it.value);
        }
    }
}

/// The keystream the decoder runs: xorshift32 from a per-entry start that is never zero.
fn stream_start(key: u32, index: usize, mix: u32) -> u32 {
    (key ^ (index as u32).wrapping_add(1).wrapping_mul(mix)) | 1
}

fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

const STR_MIX: u32 = 0x9e37_79b1;
const NUM_MIX: u32 = 0x85eb_ca6b;

/// `text` encoded as the decoder reads entry `index`: each UTF-16 unit XORed with the low
/// ten bits of the stream (which keeps a unit within its block of 1,024, so that no unit
/// becomes a surrogate and a surrogate pair stays one).
fn encode_str(text: &str, key: u32, index: usize) -> String {
    let mut x = stream_start(key, index, STR_MIX);
    let units: Vec<u16> = text
        .encode_utf16()
        .map(|u| {
            x = xorshift(x);
            u ^ (x & 0x3ff) as u16
        })
        .collect();
    String::from_utf16(&units).unwrap_or_default()
}

fn encode_num(n: u32, key: u32, index: usize) -> u32 {
    n ^ xorshift(stream_start(key, index, NUM_MIX))
}

/// `text` as a double-quoted JavaScript string of printable ASCII.
fn js_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for u in text.encode_utf16() {
        match u {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(u as u8)),
            _ => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out.push('"');
    out
}

/// The decoder and its tables, as written at [`MARK`].
fn decoder(strings: &[String], numbers: &[u32], key: u32) -> String {
    let table: Vec<String> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| js_string(&encode_str(s, key, i)))
        .collect();
    let masked: Vec<String> = numbers
        .iter()
        .enumerate()
        .map(|(i, &n)| encode_num(n, key, i).to_string())
        .collect();
    format!(
        "var __stileT = [{table}], __stileM = [{masked}], __stileK = {key}, __stileC = [];
  function {STR_FN}(i) {{
    var c = __stileC[i];
    if (c === undefined) {{
      var s = __stileT[i], o = '', x = ((__stileK ^ Math.imul(i + 1, {STR_MIX})) | 1) >>> 0;
      for (var j = 0; j < s.length; j++) {{
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        o += String.fromCharCode(s.charCodeAt(j) ^ (x & 1023));
      }}
      __stileC[i] = c = o;
    }}
    return c;
  }}
  function {NUM_FN}(i) {{
    var x = ((__stileK ^ Math.imul(i + 1, {NUM_MIX})) | 1) >>> 0;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (__stileM[i] ^ x) >>> 0;
  }}
",
        table = table.join(","),
        masked = masked.join(","),
    )
}

/// `source` (a script holding [`MARK`] once, inside its outer function) with its strings,
/// property names and integers moved into tables keyed and shuffled by `seed`. Not yet
/// minified.
pub fn obfuscate(source: &str, seed: u64) -> Result<String, String> {
    let mark_at = source
        .find(MARK)
        .ok_or("the script has no place for the decoder")?;
    if source[mark_at + MARK.len()..].contains(MARK) {
        return Err("the script has two places for the decoder".into());
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::script()).parse();
    if parsed.panicked || parsed.diagnostics.has_errors() {
        let first = parsed.diagnostics.errors().next().map(ToString::to_string);
        return Err(format!("parse error: {}", first.unwrap_or_default()));
    }
    let mut collect = Collect { edits: Vec::new() };
    collect.visit_program(&parsed.program);
    let mut edits = collect.edits;
    edits.sort_by_key(|e| e.start);
    if edits.windows(2).any(|w| w[0].end > w[1].start) {
        return Err("overlapping edits".into());
    }

    // The tables in order of first use, then shuffled.
    let (mut strings, mut numbers) = (Vec::<String>::new(), Vec::<u32>::new());
    let (mut seen_s, mut seen_n) = (HashSet::new(), HashSet::new());
    for e in &edits {
        match &e.what {
            What::Str(v) | What::Member { name: v, .. } | What::Key { name: v, .. } => {
                if seen_s.insert(v.as_str()) {
                    strings.push(v.clone());
                }
            }
            What::Num(n) => {
                if seen_n.insert(*n) {
                    numbers.push(*n);
                }
            }
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    strings.shuffle(&mut rng);
    numbers.shuffle(&mut rng);
    let key = (seed >> 32) as u32 ^ seed as u32;

    let string_at: HashMap<&str, usize> = strings
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i))
        .collect();
    let number_at: HashMap<u32, usize> = numbers.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let s = |name: &str| format!("{STR_FN}({})", string_at[name]);
    let mut pieces: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let text = match &e.what {
                What::Str(v) => s(v),
                What::Num(n) => format!("{NUM_FN}({})", number_at[n]),
                What::Member { name, optional } => {
                    format!("{}[{}]", if *optional { "?." } else { "" }, s(name))
                }
                What::Key { name, shorthand } => {
                    let key = format!("[{}]", s(name));
                    if *shorthand {
                        format!("{key}: {name}")
                    } else {
                        key
                    }
                }
            };
            (e.start, e.end, text)
        })
        .collect();
    pieces.push((
        mark_at,
        mark_at + MARK.len(),
        decoder(&strings, &numbers, key),
    ));
    pieces.sort_by_key(|p| p.0);
    let mut out = String::with_capacity(source.len() * 2);
    let mut at = 0;
    for (start, end, text) in pieces {
        out.push_str(&source[at..start]);
        // `return'x'` is valid; `return__stileS(1)` is not.
        let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
        if text.starts_with(word) && out.chars().last().is_some_and(word) {
            out.push(' ');
        }
        out.push_str(&text);
        at = end;
    }
    out.push_str(&source[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_survive_the_encoding_whatever_they_hold() {
        for text in [
            "",
            "a",
            "slider",
            "滑动验证",
            "اسحب",
            "emoji 🧩 pair",
            "\u{0}\n\"\\\u{2028}",
        ] {
            for (key, index) in [(0, 0), (u32::MAX, 7), (0x1234_5678, 1_000)] {
                let enc = encode_str(text, key, index);
                assert_eq!(enc.encode_utf16().count(), text.encode_utf16().count());
                // XOR with the same stream is its own inverse: the decoder the script
                // carries runs this loop (its run in a browser is the browser suite's).
                assert_eq!(encode_str(&enc, key, index), text, "{text:?}");
                // Written out as printable ASCII.
                assert!(js_string(&enc).bytes().all(|b| (0x20..0x7f).contains(&b)));
            }
        }
        for n in [0, 1, 0x9e37_79b9, u32::MAX] {
            let enc = encode_num(n, 99, 3);
            assert_eq!(enc ^ xorshift(stream_start(99, 3, NUM_MIX)), n);
        }
    }

    #[test]
    fn every_kind_of_name_and_literal_is_moved_out_but_the_hot_loop() {
        let src = "(function () {\n  'use strict';\n  /*__STILE_OBF__*/\n  var o = { alpha: 1, 'beta': 'gamma', [delta]: 2, 3: 4, epsilon, get zeta() { return 5; } };\n  o.eta.theta = o?.iota;\n  function sha256Words(t) { return t.kappa + 'lambda' + 6; }\n  return'mu';\n})();\n";
        let out = obfuscate(src, 42).unwrap();
        for clear in [
            "alpha", "'beta'", "gamma", ".eta", ".theta", "iota", "'mu'", "zeta",
        ] {
            assert!(!out.contains(clear), "{clear} in {out}");
        }
        // Kept: the directive, computed keys' expressions, numeric keys, shorthand values,
        // and everything in the hot loop.
        for kept in [
            "'use strict'",
            "[delta]",
            "3: __stileN(",
            ": epsilon",
            "t.kappa + 'lambda' + 6",
        ] {
            assert!(out.contains(kept), "{kept} not in {out}");
        }
        assert!(out.contains("?.["), "optional member kept optional: {out}");
        assert!(out.contains("return __stileS("), "{out}");
        assert!(!out.contains(MARK));
        // The same seed, the same script; another, another.
        assert_eq!(out, obfuscate(src, 42).unwrap());
        assert_ne!(out, obfuscate(src, 43).unwrap());
        assert!(obfuscate("var a = 'b';", 1).is_err(), "no mark");
        assert!(obfuscate("/*__STILE_OBF__*/ (", 1).is_err(), "no script");
    }
}
