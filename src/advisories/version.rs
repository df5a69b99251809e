//! Version strings and the version expressions found in CISA's CSAF advisories.
//!
//! CISA writes a product's affected versions as the `name` of its `product_version` or
//! `product_version_range` branch, in many shapes (`< 3.52`, `>= 2.0 | <= 3.1`, `vers:all/*`,
//! `2.4.X`, `<R510.2_HF14`, free text...; the list is in `/work/shared/advisories/README.md`).
//! [`VersionExpr::parse`] turns such a string into a set of [`Alternative`]s, or keeps it as
//! [`VersionExpr::Unparsed`] when it is not honestly a version constraint.
//!
//! # The tokenizer ([`Version::parse`])
//!
//! - Allowed characters: ASCII letters and digits, `.`, `-`, `_`, space, `(`, `)`, `+`; at most
//!   [`MAX_VERSION_LEN`] bytes, [`MAX_PARTS`] parts. Anything else is not a version.
//! - A version is split into parts: each maximal run of digits is a number (leading zeros do
//!   not count: `02.07` = `2.7`; any length, compared as numbers without overflow), each maximal
//!   run of letters a word (lower-cased; `update`→`upd`, `hotfix`→`hf`, `patch`→`p`, so
//!   `V15.1 Update 4` = `V15.1 Upd 4`). Separators are dropped: `02.07.07(10)` is 2,7,7,10;
//!   `3.1 Build 4022.4` is 3,1,build,4022,4; `R510.2_HF14` is 510,2,hf,14.
//! - A leading `v` or `r` directly before the first number is dropped: `V4.2.3` = `4.2.3`,
//!   `R3.08.10` = `3.08.10`. Another leading word of at most 3 letters (`FW` in `FW26`) is kept
//!   as a *prefix*. A version must start with a number after that; `first 2 digits...` is not
//!   a version, nor is a word longer than [`MAX_WORD`] letters.
//!
//! # Comparison ([`Version::compare`])
//!
//! Part by part, from the left:
//! - number vs number: numerically;
//! - word vs word: equal words go on; a pre-release word (`dev` < `alpha` < `beta` < `pre` <
//!   `rc`; `snapshot` = `dev`, `preview` = `pre`) is lower than any other word; two different single letters compare alphabetically
//!   (`1.00A` < `1.02C`, `1.215Z`); two other different words (`sp` vs `upd`) are **not
//!   comparable**;
//! - number vs word: a pre-release word is lower; any other word is **not comparable**
//!   (`3.1 Build 4022` vs `3.1.4022` are two notations);
//! - a missing part vs a number: missing counts as 0 (`8.0` = `8`);
//! - a missing part vs a word: a pre-release word is lower (`1.0 beta` < `1.0`), any other word
//!   is higher (`1.0 SP1` > `1.0`, `R520.2_TCU4_HF2` > `R520.2_TCU4`).
//!
//! # When two versions are comparable
//!
//! Two versions are comparable when (1) their prefixes are equal (`FW26` and `04.03.03(26)` are
//! not comparable; `V4.2.3` and `4.2.3` are), (2) they are not one undotted number of 4 digits
//! or more against a dotted version whose first number has fewer digits (`20081` vs `2.0.0.81`
//! is a packed notation against a dotted one; `10` vs `10.1` and `2020` vs `2020.1` are
//! comparable), and (3) the part-by-part walk above reaches a decision. Otherwise
//! [`Version::compare`] answers `None`, which matching reports as "unverified".
//!
//! # Expressions ([`VersionExpr::parse`])
//!
//! - `vers:<scheme>/*`, `*`, `All versions` → [`VersionExpr::All`]; `vers:<scheme>/<rest>` is
//!   parsed like any other constraint list (CISA's `vers:all/>=V2.0<V2.1` has no `|`).
//! - A constraint list is split on `|`, then on operators (`<`, `<=`, `>`, `>=`, `=`), so that
//!   `>= V2.5 < V2.6.1` and `>=V2.0<V2.1` are two constraints. A lower bound (`>`/`>=`)
//!   directly followed by an upper bound (`<`/`<=`) is one range (CISA's `>= 5.59 | <= 5.64`
//!   means "from 5.59 to 5.64"); any other constraint stands alone, and the alternatives are
//!   OR-ed (`10 | 11`, `5.1.0-x | 5.1.1-x | >= 6.0.0-1 | <= 6.0.0-3`).
//! - A version without operator is [`Alternative::Exact`]: that version and any refinement of
//!   it (`10` covers `10.2`, `6.8` covers `6.8.796.0`: "versions 10 and 11" means the release
//!   lines). Likewise an inclusive upper bound covers the refinements of its version
//!   (`<= 6.9`, written "v6.0 to v6.9", covers `6.9.572.0`); an exclusive one does not.
//! - Wildcards: `2.4.X`, `6.x`, `5.1.0-x`, `R210.X` (a whole trailing part) cover
//!   `[2.4, 2.5)`; `R15x` (a digit glued to the number) covers `[R150, R160)`. As a bound,
//!   `>=R16x` is `>= R160`, `<=R16x` is `< R170`.
//! - `All versions < V4.2.3`; `All versions between V2.5 (including) and V2.7 (excluding)`.
//! - Release trains: `<V33.017_V34.014_V35.013_V36.011` (several `V` versions joined by `_`,
//!   ascending) is "below the fix of the device's own train": `< V33.017`, or `>= V34` and
//!   `< V34.014`, ... (the advisory's remedy: "update to V33.017, V34.014, V35.013, or V36.011").
//! - `>FW19_up_to_and_including_FW26` is `> FW19` and `<= FW26` (a firmware index, so only a
//!   device version written `FWnn` is comparable with it).
//! - `>=V3.2.3_<V3.3.0_only_when_manufactured_between_...` is the range plus a condition that
//!   cannot be checked from a version (the `condition` of [`VersionExpr::Set`]).
//! - Anything else, e.g. `<= first 2 digits of serial number are 04` or
//!   `<=3.1 C++ / Matlab (TC1210/...)`, is [`VersionExpr::Unparsed`].

use std::cmp::Ordering;
use std::fmt;

/// Longest version string accepted, in bytes.
pub const MAX_VERSION_LEN: usize = 64;
/// Most parts (numbers and words) in a version.
pub const MAX_PARTS: usize = 24;
/// Longest word in a version, in letters.
pub const MAX_WORD: usize = 10;
/// Longest version expression parsed; longer ones are kept as unparsed text.
pub const MAX_EXPR_LEN: usize = 256;
/// Longest prefix word kept (`FW`).
const MAX_PREFIX: usize = 3;

/// One part of a version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// A run of digits, without its leading zeros (`"0"` for zero).
    Num(String),
    /// A run of letters, lower-cased, synonyms folded.
    Word(String),
}

/// A parsed version string. See the module documentation for the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    raw: String,
    prefix: Option<String>,
    parts: Vec<Part>,
    /// How many leading numbers are joined by dots (`4.2.3 build 7` → 3).
    dotted: usize,
}

fn fold_word(w: &str) -> String {
    match w {
        "update" => "upd".to_owned(),
        "hotfix" => "hf".to_owned(),
        "patch" => "p".to_owned(),
        _ => w.to_owned(),
    }
}

fn strip_zeros(d: &str) -> String {
    let t = d.trim_start_matches('0');
    if t.is_empty() {
        "0".to_owned()
    } else {
        t.to_owned()
    }
}

fn cmp_num(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Adds one to a string of decimal digits.
fn increment(d: &str) -> String {
    let mut out: Vec<u8> = d.bytes().rev().collect();
    let mut carry = true;
    for b in &mut out {
        if !carry {
            break;
        }
        if *b == b'9' {
            *b = b'0';
        } else {
            *b = b.wrapping_add(1);
            carry = false;
        }
    }
    if carry {
        out.push(b'1');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Rank of a pre-release word, lowest first. Single letters are never pre-release words:
/// they compare alphabetically (`1.00A` < `1.00B`).
fn pre_word(w: &str) -> Option<u8> {
    match w {
        "dev" | "snapshot" => Some(0),
        "alpha" => Some(1),
        "beta" => Some(2),
        "pre" | "preview" => Some(3),
        "rc" => Some(4),
        _ => None,
    }
}

impl Version {
    /// Parses a version string (from an advisory or a device). `None` when it is not one.
    pub fn parse(s: &str) -> Option<Version> {
        let t = s.trim();
        if t.is_empty() || t.len() > MAX_VERSION_LEN {
            return None;
        }
        if !t.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')' | '+')
        }) {
            return None;
        }
        // (the first separator before the part, None when glued to the previous part; the part)
        let mut toks: Vec<(Option<char>, Part)> = Vec::new();
        let mut cur = String::new();
        let mut cur_digit = false;
        let mut cur_sep: Option<char> = None;
        let mut pending: Option<char> = None;
        let flush = |cur: &mut String,
                     digit: bool,
                     sep: Option<char>,
                     toks: &mut Vec<(Option<char>, Part)>| {
            if cur.is_empty() {
                return;
            }
            let p = if digit {
                Part::Num(strip_zeros(cur))
            } else {
                Part::Word(fold_word(&cur.to_ascii_lowercase()))
            };
            toks.push((sep, p));
            cur.clear();
        };
        for c in t.chars() {
            if c.is_ascii_alphanumeric() {
                let d = c.is_ascii_digit();
                if !cur.is_empty() && d != cur_digit {
                    flush(&mut cur, cur_digit, cur_sep, &mut toks);
                }
                if cur.is_empty() {
                    cur_sep = pending.take();
                    cur_digit = d;
                }
                cur.push(c);
            } else {
                flush(&mut cur, cur_digit, cur_sep, &mut toks);
                if pending.is_none() {
                    pending = Some(c);
                }
            }
            if toks.len() > MAX_PARTS {
                return None;
            }
        }
        flush(&mut cur, cur_digit, cur_sep, &mut toks);
        if toks.is_empty() || toks.len() > MAX_PARTS {
            return None;
        }
        let mut it = toks.into_iter().peekable();
        let mut prefix = None;
        if let Some((_, Part::Word(w))) = it.peek() {
            let w = w.clone();
            it.next();
            match it.peek() {
                Some((s, Part::Num(_))) if s.is_none() || *s == Some(' ') => {}
                _ => return None,
            }
            if w != "v" && w != "r" {
                if w.len() > MAX_PREFIX {
                    return None;
                }
                prefix = Some(w);
            }
        }
        let mut parts = Vec::new();
        let mut dotted = 0usize;
        let mut in_core = true;
        for (i, (s, p)) in it.enumerate() {
            if let Part::Word(w) = &p {
                if w.len() > MAX_WORD {
                    return None;
                }
            }
            if in_core {
                let joined = i == 0 || s == Some('.');
                if matches!(p, Part::Num(_)) && joined {
                    dotted += 1;
                } else {
                    in_core = false;
                }
            }
            parts.push(p);
        }
        if dotted == 0 {
            return None;
        }
        Some(Version {
            raw: t.to_owned(),
            prefix,
            parts,
            dotted,
        })
    }

    /// The string as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parts after the prefix.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The kept letter prefix (`fw` for `FW26`); `v` and `r` are dropped, never kept.
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn first_digits(&self) -> usize {
        match self.parts.first() {
            Some(Part::Num(n)) => n.len(),
            _ => 0,
        }
    }

    /// Rules (1) and (2) of "comparable" (see the module documentation).
    fn notation_compatible(&self, other: &Version) -> bool {
        if self.prefix != other.prefix {
            return false;
        }
        let (one, many) = if self.dotted == 1 && other.dotted >= 2 {
            (self, other)
        } else if other.dotted == 1 && self.dotted >= 2 {
            (other, self)
        } else {
            return true;
        };
        let d1 = one.first_digits();
        !(d1 >= 4 && d1 > many.first_digits())
    }

    /// Whether both are written in the same notation and the comparison reaches a decision.
    pub fn comparable(&self, other: &Version) -> bool {
        self.compare(other).is_some()
    }

    /// Compares two versions; `None` when they are not comparable.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        if !self.notation_compatible(other) {
            return None;
        }
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            let step = match (self.parts.get(i), other.parts.get(i)) {
                (Some(Part::Num(a)), Some(Part::Num(b))) => cmp_num(a, b),
                (Some(Part::Word(a)), Some(Part::Word(b))) => {
                    if a == b {
                        Ordering::Equal
                    } else if a.len() == 1 && b.len() == 1 {
                        a.cmp(b)
                    } else {
                        match (pre_word(a), pre_word(b)) {
                            (Some(x), Some(y)) => x.cmp(&y),
                            (Some(_), None) => Ordering::Less,
                            (None, Some(_)) => Ordering::Greater,
                            (None, None) => return None,
                        }
                    }
                }
                (Some(Part::Num(_)), Some(Part::Word(b))) => {
                    pre_word(b).map(|_| Ordering::Greater)?
                }
                (Some(Part::Word(a)), Some(Part::Num(_))) => pre_word(a).map(|_| Ordering::Less)?,
                (Some(Part::Num(a)), None) => cmp_num(a, "0"),
                (None, Some(Part::Num(b))) => cmp_num("0", b),
                (Some(Part::Word(a)), None) => {
                    if pre_word(a).is_some() {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (None, Some(Part::Word(b))) => {
                    if pre_word(b).is_some() {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (None, None) => Ordering::Equal,
            };
            if step != Ordering::Equal {
                return Some(step);
            }
        }
        Some(Ordering::Equal)
    }

    /// Whether `self` is `base` or a refinement of it (`6.8.796.0` of `6.8`).
    pub fn refines(&self, base: &Version) -> bool {
        self.notation_compatible(base) && self.parts.starts_with(&base.parts)
    }

    fn from_parts(prefix: Option<String>, parts: Vec<Part>) -> Version {
        let mut raw = prefix.clone().unwrap_or_default().to_ascii_uppercase();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                raw.push('.');
            }
            match p {
                Part::Num(n) | Part::Word(n) => raw.push_str(n),
            }
        }
        let dotted = parts
            .iter()
            .take_while(|p| matches!(p, Part::Num(_)))
            .count();
        Version {
            raw,
            prefix,
            parts,
            dotted,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// One bound of a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub version: Version,
    pub inclusive: bool,
}

/// One alternative of a [`VersionExpr::Set`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alternative {
    /// That version or a refinement of it.
    Exact(Version),
    /// Between the bounds; an inclusive upper bound covers the refinements of its version.
    Range {
        lower: Option<Bound>,
        upper: Option<Bound>,
    },
    /// A wildcard such as `2.4.X` or `R15x`: from `from` (inclusive) to `below` (exclusive).
    Wildcard {
        pattern: String,
        from: Version,
        below: Version,
    },
}

/// A parsed version expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionExpr {
    /// Every version (`vers:all/*`, `All versions`).
    All,
    /// Any of the alternatives; `condition` is an extra requirement that a version cannot
    /// show (`only when manufactured between ...`).
    Set {
        alternatives: Vec<Alternative>,
        condition: Option<String>,
    },
    /// Text that is not a version constraint, kept as written (trimmed).
    Unparsed(String),
}

/// Whether a version is in an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Containment {
    /// In the range or set.
    Inside,
    /// Comparable and outside every alternative.
    Outside,
    /// Not decidable: a different notation, or an unparsed expression.
    NotComparable,
}

fn combine(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

impl Alternative {
    /// `Some(true)` inside, `Some(false)` outside, `None` not comparable.
    pub fn contains(&self, v: &Version) -> Option<bool> {
        match self {
            Alternative::Exact(e) => {
                if v.refines(e) {
                    return Some(true);
                }
                v.compare(e).map(|o| o == Ordering::Equal)
            }
            Alternative::Range { lower, upper } => {
                let lo = match lower {
                    None => Some(true),
                    Some(b) => v.compare(&b.version).map(|o| match o {
                        Ordering::Greater => true,
                        Ordering::Equal => b.inclusive,
                        Ordering::Less => false,
                    }),
                };
                let hi = match upper {
                    None => Some(true),
                    Some(b) if b.inclusive && v.refines(&b.version) => Some(true),
                    Some(b) => v.compare(&b.version).map(|o| match o {
                        Ordering::Less => true,
                        Ordering::Equal => b.inclusive,
                        Ordering::Greater => false,
                    }),
                };
                combine(lo, hi)
            }
            Alternative::Wildcard { from, below, .. } => {
                let lo = v.compare(from).map(|o| o != Ordering::Less);
                let hi = v.compare(below).map(|o| o == Ordering::Less);
                combine(lo, hi)
            }
        }
    }
}

impl VersionExpr {
    /// Parses a version expression as written in an advisory. Never fails: what cannot be
    /// parsed honestly is [`VersionExpr::Unparsed`].
    pub fn parse(s: &str) -> VersionExpr {
        let trimmed = s.trim();
        let unparsed = || VersionExpr::Unparsed(trimmed.to_owned());
        if trimmed.is_empty() || trimmed.len() > MAX_EXPR_LEN {
            return unparsed();
        }
        let norm: String = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        parse_norm(&norm).unwrap_or_else(unparsed)
    }

    /// Whether `v` is in the expression. [`VersionExpr::All`] contains every version; a
    /// [`VersionExpr::Set`] with a condition is never more than
    /// [`Containment::NotComparable`] when the version is in range (the condition cannot be
    /// checked), but [`Containment::Outside`] when it is out of range.
    pub fn contains(&self, v: &Version) -> Containment {
        match self {
            VersionExpr::All => Containment::Inside,
            VersionExpr::Unparsed(_) => Containment::NotComparable,
            VersionExpr::Set {
                alternatives,
                condition,
            } => {
                let mut unknown = false;
                for a in alternatives {
                    match a.contains(v) {
                        Some(true) if condition.is_none() => return Containment::Inside,
                        Some(true) | None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown || alternatives.is_empty() {
                    Containment::NotComparable
                } else {
                    Containment::Outside
                }
            }
        }
    }

    /// Parses `raw` (a device's version) and tests it; unparseable is `NotComparable`.
    pub fn contains_str(&self, raw: &str) -> Containment {
        match Version::parse(raw) {
            Some(v) => self.contains(&v),
            None => match self {
                VersionExpr::All => Containment::Inside,
                _ => Containment::NotComparable,
            },
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let head = s.get(..p.len())?;
    if head.eq_ignore_ascii_case(p) {
        s.get(p.len()..)
    } else {
        None
    }
}

fn split_once_ci<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let lower = s.to_ascii_lowercase();
    let at = lower.find(&pat.to_ascii_lowercase())?;
    Some((s.get(..at)?, s.get(at + pat.len()..)?))
}

fn parse_norm(s: &str) -> Option<VersionExpr> {
    if let Some(rest) = strip_prefix_ci(s, "vers:") {
        let (_scheme, constraints) = rest.split_once('/')?;
        let c = constraints.trim();
        if c == "*" {
            return Some(VersionExpr::All);
        }
        return parse_constraints(c, None);
    }
    if s == "*" || s.eq_ignore_ascii_case("all versions") || s.eq_ignore_ascii_case("all") {
        return Some(VersionExpr::All);
    }
    if let Some(rest) = strip_prefix_ci(s, "all versions between ") {
        let (a, b) = split_once_ci(rest, " and ")?;
        let lower = between_bound(a)?;
        let upper = between_bound(b)?;
        return Some(VersionExpr::Set {
            alternatives: vec![Alternative::Range {
                lower: Some(lower),
                upper: Some(upper),
            }],
            condition: None,
        });
    }
    if let Some(rest) = strip_prefix_ci(s, "all versions ") {
        return parse_constraints(rest.trim(), None);
    }
    if let Some((range, cond)) = split_once_ci(s, "_only_when_") {
        let condition = format!("only when {}", cond.replace('_', " ").trim());
        return parse_constraints(range, Some(condition));
    }
    if let Some((left, right)) = split_once_ci(s, "_up_to_and_including_") {
        let left = left.trim();
        let left_has_op = left.starts_with(['<', '>', '=']);
        let joined = if left_has_op {
            format!("{left}|<={right}")
        } else {
            format!(">={left}|<={right}")
        };
        return parse_constraints(&joined, None);
    }
    parse_constraints(s, None)
}

fn between_bound(t: &str) -> Option<Bound> {
    let t = t.trim();
    let lower = t.to_ascii_lowercase();
    let (text, inclusive) = if let Some(x) = ["(including)", "(inclusive)"]
        .iter()
        .find_map(|w| lower.strip_suffix(w).map(str::len))
    {
        (t.get(..x)?, true)
    } else if let Some(x) = ["(excluding)", "(exclusive)"]
        .iter()
        .find_map(|w| lower.strip_suffix(w).map(str::len))
    {
        (t.get(..x)?, false)
    } else {
        (t, true)
    };
    Some(Bound {
        version: Version::parse(text)?,
        inclusive,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

enum Operand {
    Version(Version),
    Wild {
        pattern: String,
        from: Version,
        below: Version,
    },
    Trains(Vec<Version>),
}

/// Splits one `|`-piece into (operator, text) items at each operator.
fn split_ops(piece: &str) -> Option<Vec<(Option<Op>, String)>> {
    let mut items = Vec::new();
    let mut op: Option<Op> = None;
    let mut text = String::new();
    let mut chars = piece.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '<' | '>' | '=' | '!') {
            if !text.trim().is_empty() {
                items.push((op, std::mem::take(&mut text)));
            } else if op.is_some() {
                return None; // two operators in a row
            }
            let eq = chars.next_if_eq(&'=').is_some();
            op = Some(match (c, eq) {
                ('<', false) => Op::Lt,
                ('<', true) => Op::Le,
                ('>', false) => Op::Gt,
                ('>', true) => Op::Ge,
                ('=', _) => Op::Eq,
                _ => return None, // `!=` is not used by these advisories
            });
            text.clear();
        } else {
            text.push(c);
        }
    }
    if text.trim().is_empty() {
        return if op.is_some() || items.is_empty() {
            None
        } else {
            Some(items)
        };
    }
    items.push((op, text));
    Some(items)
}

fn operand(text: &str) -> Option<Operand> {
    let t = text.trim_matches(|c: char| c == ' ' || c == '_');
    if t.is_empty() {
        return None;
    }
    if let Some(w) = wildcard(t) {
        return Some(w);
    }
    if let Some(tr) = trains(t) {
        return Some(Operand::Trains(tr));
    }
    Version::parse(t).map(Operand::Version)
}

/// `2.4.X` / `6.x` / `5.1.0-x` (a whole part) or `R15x` (a digit glued to the number).
fn wildcard(t: &str) -> Option<Operand> {
    let body = t.strip_suffix(['x', 'X', '*']).filter(|b| !b.is_empty())?;
    let before = body.chars().last()?;
    let (base, glued) = if matches!(before, '.' | '-' | '_' | ' ') {
        (body.trim_end_matches(['.', '-', '_', ' ']), false)
    } else if before.is_ascii_digit() {
        (body, true)
    } else {
        return None;
    };
    let v = Version::parse(base)?;
    let (last, init) = v.parts.split_last()?;
    let Part::Num(n) = last else { return None };
    let (from_last, below_last) = if glued {
        (format!("{n}0"), format!("{}0", increment(n)))
    } else {
        (n.clone(), increment(n))
    };
    let mut from = init.to_vec();
    from.push(Part::Num(strip_zeros(&from_last)));
    let mut below = init.to_vec();
    below.push(Part::Num(strip_zeros(&below_last)));
    let mut from = Version::from_parts(v.prefix.clone(), from);
    let mut below = Version::from_parts(v.prefix.clone(), below);
    // Keep the notation for display: `R15x` → R150 and R160, `2.4.X` → 2.4 and 2.5.
    if let Some(bumped) = bump_text(base) {
        if glued {
            from.raw = format!("{base}0");
            below.raw = format!("{bumped}0");
        } else {
            from.raw = base.to_owned();
            below.raw = bumped;
        }
    }
    Some(Operand::Wild {
        pattern: t.to_owned(),
        from,
        below,
    })
}

/// `text` with its trailing number incremented (`R15` → `R16`, `2.9` → `2.10`).
fn bump_text(text: &str) -> Option<String> {
    let head = text.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = text.get(head.len()..).filter(|d| !d.is_empty())?;
    Some(format!("{head}{}", increment(digits)))
}

/// `V33.017_V34.014_V35.013_V36.011`: fixed versions of ascending release trains.
fn trains(t: &str) -> Option<Vec<Version>> {
    let pieces: Vec<&str> = t.split('_').collect();
    if pieces.len() < 2 {
        return None;
    }
    let mut out: Vec<Version> = Vec::new();
    for p in pieces {
        let mut cs = p.chars();
        if !matches!(cs.next(), Some('v' | 'V')) || !cs.next().is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        let v = Version::parse(p)?;
        if v.dotted < 2 || v.prefix.is_some() {
            return None;
        }
        if let Some(prev) = out.last() {
            match (prev.parts.first(), v.parts.first()) {
                (Some(Part::Num(a)), Some(Part::Num(b))) if cmp_num(a, b) == Ordering::Less => {}
                _ => return None,
            }
        }
        out.push(v);
    }
    Some(out)
}

fn lower_bound(op: Op, x: &Operand) -> Option<Bound> {
    let (version, inclusive) = match (op, x) {
        (Op::Ge, Operand::Version(v)) => (v.clone(), true),
        (Op::Gt, Operand::Version(v)) => (v.clone(), false),
        (Op::Ge, Operand::Wild { from, .. }) => (from.clone(), true),
        (Op::Gt, Operand::Wild { below, .. }) => (below.clone(), true),
        _ => return None,
    };
    Some(Bound { version, inclusive })
}

fn upper_bound(op: Op, x: &Operand) -> Option<Bound> {
    let (version, inclusive) = match (op, x) {
        (Op::Le, Operand::Version(v)) => (v.clone(), true),
        (Op::Lt, Operand::Version(v)) => (v.clone(), false),
        (Op::Le, Operand::Wild { below, .. }) => (below.clone(), false),
        (Op::Lt, Operand::Wild { from, .. }) => (from.clone(), false),
        _ => return None,
    };
    Some(Bound { version, inclusive })
}

fn parse_constraints(s: &str, condition: Option<String>) -> Option<VersionExpr> {
    let mut items: Vec<(Option<Op>, Operand)> = Vec::new();
    for piece in s.split('|') {
        if piece.trim().is_empty() {
            return None;
        }
        for (op, text) in split_ops(piece)? {
            items.push((op, operand(&text)?));
        }
    }
    let mut alternatives = Vec::new();
    let mut it = items.into_iter().peekable();
    while let Some((op, x)) = it.next() {
        match op {
            Some(o @ (Op::Ge | Op::Gt)) => {
                let lower = lower_bound(o, &x)?;
                let upper = match it.peek() {
                    Some((Some(u @ (Op::Le | Op::Lt)), y)) => {
                        let b = upper_bound(*u, y);
                        if b.is_some() {
                            it.next();
                        }
                        b
                    }
                    _ => None,
                };
                alternatives.push(Alternative::Range {
                    lower: Some(lower),
                    upper,
                });
            }
            Some(o @ (Op::Le | Op::Lt)) => {
                if let Operand::Trains(fixes) = &x {
                    if o != Op::Lt {
                        return None;
                    }
                    for (i, fix) in fixes.iter().enumerate() {
                        let lower = if i == 0 {
                            None
                        } else {
                            let major = fix.parts.first()?.clone();
                            let mut version = Version::from_parts(None, vec![major]);
                            version.raw = format!("V{}", version.raw);
                            Some(Bound {
                                version,
                                inclusive: true,
                            })
                        };
                        alternatives.push(Alternative::Range {
                            lower,
                            upper: Some(Bound {
                                version: fix.clone(),
                                inclusive: false,
                            }),
                        });
                    }
                } else {
                    alternatives.push(Alternative::Range {
                        lower: None,
                        upper: Some(upper_bound(o, &x)?),
                    });
                }
            }
            None | Some(Op::Eq) => match x {
                Operand::Version(v) => alternatives.push(Alternative::Exact(v)),
                Operand::Wild {
                    pattern,
                    from,
                    below,
                } => alternatives.push(Alternative::Wildcard {
                    pattern,
                    from,
                    below,
                }),
                Operand::Trains(_) => return None,
            },
        }
    }
    if alternatives.is_empty() {
        return None;
    }
    Some(VersionExpr::Set {
        alternatives,
        condition,
    })
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.version.raw)
    }
}

impl fmt::Display for Alternative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Alternative::Exact(v) => write!(f, "{v}"),
            Alternative::Wildcard { pattern, .. } => f.write_str(pattern),
            Alternative::Range { lower, upper } => {
                if let Some(l) = lower {
                    write!(f, "{} {l}", if l.inclusive { ">=" } else { ">" })?;
                    if upper.is_some() {
                        f.write_str(", ")?;
                    }
                }
                if let Some(u) = upper {
                    write!(f, "{} {u}", if u.inclusive { "<=" } else { "<" })?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for VersionExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionExpr::All => f.write_str("all versions"),
            VersionExpr::Unparsed(t) => write!(f, "unparsed: {t}"),
            VersionExpr::Set {
                alternatives,
                condition,
            } => {
                for (i, a) in alternatives.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{a}")?;
                }
                if let Some(c) = condition {
                    write!(f, " ({c})")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a failure is a failed test"
)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn inside(expr: &str, ver: &str) -> Containment {
        VersionExpr::parse(expr).contains(&v(ver))
    }

    use Containment::{Inside, NotComparable, Outside};

    #[test]
    fn tokenizer() {
        assert_eq!(
            v("02.07.07(10)").parts(),
            &[
                Part::Num("2".into()),
                Part::Num("7".into()),
                Part::Num("7".into()),
                Part::Num("10".into())
            ]
        );
        assert_eq!(v("3.1 Build 4022.4").parts().len(), 5);
        assert_eq!(v("R510.2_HF14").parts()[2], Part::Word("hf".into()));
        assert_eq!(v("V15.1 Update 4").parts(), v("V15.1 Upd 4").parts());
        assert_eq!(v("FW26").prefix(), Some("fw"));
        assert_eq!(v("V4.2.3").prefix(), None);
        assert_eq!(v("R3.08.10").parts(), v("3.8.10").parts());
        assert_eq!(v("1.215Z").parts()[2], Part::Word("z".into()));
        assert!(Version::parse("").is_none());
        assert!(Version::parse("first 2 digits of serial number are 04").is_none());
        assert!(Version::parse("3.1 C++ / Matlab (TC1210/TC1220)").is_none());
        assert!(Version::parse("unknown").is_none());
        assert!(Version::parse("V").is_none());
        assert!(Version::parse("1.2.3 – beta").is_none());
        assert!(Version::parse(&"1.".repeat(40)).is_none());
        assert!(Version::parse("99999999999999999999999999999.1").is_some());
    }

    #[test]
    fn comparisons() {
        use Ordering::{Equal, Greater, Less};
        let c = |a: &str, b: &str| v(a).compare(&v(b));
        assert_eq!(c("4.2.3", "V4.2.3"), Some(Equal));
        assert_eq!(c("8.0", "8"), Some(Equal));
        assert_eq!(c("02.07.07", "2.7.7"), Some(Equal));
        assert_eq!(c("2.7.7", "02.07.07(10)"), Some(Less));
        assert_eq!(c("02.07.07(11)", "02.07.07(10)"), Some(Greater));
        assert_eq!(c("3.1 Build 4022.3", "3.1 Build 4022.4"), Some(Less));
        assert_eq!(c("3.1 Build 4023", "3.1 Build 4022.4"), Some(Greater));
        assert_eq!(c("3.1", "3.1 Build 4022.4"), Some(Less));
        assert_eq!(c("3.1.4022", "3.1 Build 4022.4"), None);
        assert_eq!(c("R510.2_HF13", "R510.2_HF14"), Some(Less));
        assert_eq!(c("R510.2", "R510.2_HF14"), Some(Less));
        assert_eq!(c("R511.5_HF4", "R511.5_TCU4_HF4"), None);
        assert_eq!(c("1.215Z", "1.270G"), Some(Less));
        assert_eq!(c("1.270H", "1.270G"), Some(Greater));
        assert_eq!(c("1.00A", "1.02C"), Some(Less));
        assert_eq!(c("FW22", "FW26"), Some(Less));
        assert_eq!(c("04.03.03(26)", "FW26"), None);
        assert_eq!(c("20081", "20101"), Some(Less));
        assert_eq!(c("2.0.0.81", "20081"), None);
        assert_eq!(c("20.081", "20081"), None);
        assert_eq!(c("10.1", "10"), Some(Greater));
        assert_eq!(c("9.1", "10"), Some(Less));
        assert_eq!(c("2020", "2020.1"), Some(Less));
        assert_eq!(c("1.0 beta", "1.0"), Some(Less));
        assert_eq!(c("1.0rc1", "1.0 beta2"), Some(Greater));
        assert_eq!(c("1.0 SP1", "1.0"), Some(Greater));
        assert_eq!(c("V14 SP1 Update 14", "V14 SP1 Upd 9"), Some(Greater));
        assert_eq!(c("V14 SP2", "V14 SP1 Update 14"), Some(Greater));
        assert_eq!(c("V15.1 SP1", "V15.1 Upd 4"), None);
        assert_eq!(
            c(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Some(Less)
        );
        assert!(!v("3.1.4022").comparable(&v("3.1 Build 4022.4")));
        assert!(v("V4.2.3").comparable(&v("4.2.3")));
    }

    #[test]
    fn all_versions() {
        for e in ["vers:all/*", "*", "All versions", " vers:all/* "] {
            assert_eq!(VersionExpr::parse(e), VersionExpr::All, "{e}");
        }
        assert_eq!(inside("vers:all/*", "0.1"), Inside);
        assert_eq!(
            VersionExpr::parse("vers:all/*").contains_str("weird"),
            Inside
        );
    }

    #[test]
    fn operator_with_space() {
        assert_eq!(inside("< 3.52", "3.51"), Inside);
        assert_eq!(inside("< 3.52", "3.52"), Outside);
        assert_eq!(inside("< 3.52", "V3.60"), Outside);
        assert_eq!(
            inside("< 3.52", "3.6"),
            Inside,
            "dotted parts are numbers: 3.6 < 3.52"
        );
        assert_eq!(inside("<= 6.5", "6.5"), Inside);
        assert_eq!(inside("<= 6.5", "6.5.1"), Inside, "<= covers refinements");
        assert_eq!(inside("<= 6.5", "6.6"), Outside);
        assert_eq!(inside("< 1.4.365.48", "1.4.365.47"), Inside);
        assert_eq!(inside("< 1.4.365.48", "1.4.366"), Outside);
        assert_eq!(inside("< V4.4.1", "4.4.0"), Inside);
        assert_eq!(inside("< V15.1 Upd 4", "V15.1 Update 3"), Inside);
        assert_eq!(inside("< V15.1 Upd 4", "V15.1 Upd 4"), Outside);
        assert_eq!(inside("< V15.1 Upd 4", "V15.1"), Inside);
        assert_eq!(inside("< V14 SP1 Update 14", "V14 SP1 Update 13"), Inside);
        assert_eq!(inside("< V3.15 P018", "V3.15 P017"), Inside);
        assert_eq!(inside("< V3.15 P018", "V3.16"), Outside);
        assert_eq!(inside("< V1.0 SP1", "V1.0"), Inside);
        assert_eq!(inside("< 02.07.07(10)", "02.07.07(9)"), Inside);
        assert_eq!(inside("< 02.07.07(10)", "02.07.07(10)"), Outside);
        assert_eq!(inside("< 02.07.07(10)", "02.07.06"), Inside);
        assert_eq!(inside("<= 2020", "2019"), Inside);
        assert_eq!(inside("<= 2020", "2021"), Outside);
    }

    #[test]
    fn operator_without_space() {
        assert_eq!(inside("<9.9.00", "9.8.65"), Inside);
        assert_eq!(inside("<9.9.00", "9.9"), Outside);
        assert_eq!(inside("<v2.5.2", "2.5.1"), Inside);
        assert_eq!(inside("<V16.41", "V16.40"), Inside);
        assert_eq!(inside("<=4.1.5", "4.1.5"), Inside);
        assert_eq!(inside("<=4.1.5", "4.1.6"), Outside);
        assert_eq!(inside("<=20081", "20081"), Inside);
        assert_eq!(inside("<=20081", "20102"), Outside);
        assert_eq!(inside("<=20081", "2.0.0.81"), NotComparable);
        assert_eq!(inside("<=3.1 Build 4022.4", "3.1 Build 4020"), Inside);
        assert_eq!(inside("<=3.1 Build 4022.4", "3.1 Build 4024"), Outside);
        assert_eq!(inside("<=2.11 R3 2259", "2.11 R3 2250"), Inside);
        assert_eq!(
            inside("<= 3.40 R5 build 571848", "3.40 R5 build 571000"),
            Inside
        );
        assert_eq!(inside("<= 3.40 R5 build 571848", "3.41"), Outside);
    }

    #[test]
    fn lower_bound_only() {
        assert_eq!(inside(">=6.0.202", "6.0.202"), Inside);
        assert_eq!(inside(">=6.0.202", "6.0.201"), Outside);
        assert_eq!(inside(">=4.9.114", "5.0"), Inside);
    }

    #[test]
    fn pipe_ranges() {
        assert_eq!(inside(">= 5.59 | <= 5.64", "5.60"), Inside);
        assert_eq!(inside(">= 5.59 | <= 5.64", "5.65"), Outside);
        assert_eq!(inside(">= 5.59 | <= 5.64", "5.58"), Outside);
        assert_eq!(inside(">= 2.0 | <= 3.1", "3.1.0.7"), Inside);
        assert_eq!(inside(">= 1.215Z | <= 1.270G", "1.250A"), Inside);
        assert_eq!(inside(">= 1.215Z | <= 1.270G", "1.215Y"), Outside);
        assert_eq!(inside(">= 1.00A | <= 1.02C", "1.02C"), Inside);
        assert_eq!(inside(">=R3.08.10|<=R3.09.50", "R3.09.00"), Inside);
        assert_eq!(inside(">=R3.08.10|<=R3.09.50", "3.09.51"), Outside);
        assert_eq!(inside(">=R6.01.00|<=R6.11.10", "R6.10"), Inside);
        assert_eq!(inside(">= 6.0 | <= 6.9", "6.9.572.0"), Inside);
        assert_eq!(inside(">= 6.0 | <= 6.9", "7.0"), Outside);
        let e = VersionExpr::parse(">= 5.59 | <= 5.64");
        assert_eq!(e.to_string(), ">= 5.59, <= 5.64");
    }

    #[test]
    fn space_and_words() {
        assert_eq!(inside(">= V2.5 < V2.6.1", "V2.6.0"), Inside);
        assert_eq!(inside(">= V2.5 < V2.6.1", "V2.6.1"), Outside);
        assert_eq!(inside(">= V2.5 < V2.6.1", "V2.4"), Outside);
        let between = "All versions between V2.5 (including) and V2.7 (excluding)";
        assert_eq!(inside(between, "V2.5"), Inside);
        assert_eq!(inside(between, "V2.6.9"), Inside);
        assert_eq!(inside(between, "V2.7"), Outside);
        assert_eq!(inside("All versions < V4.2.3", "V4.2.2"), Inside);
        assert_eq!(inside("All versions < V4.2.3", "V4.2.3"), Outside);
        assert_eq!(VersionExpr::parse(between).to_string(), ">= V2.5, < V2.7");
    }

    #[test]
    fn discrete_lists() {
        assert_eq!(inside("10 | 11", "10"), Inside);
        assert_eq!(inside("10 | 11", "11.2"), Inside);
        assert_eq!(inside("10 | 11", "12"), Outside);
        assert_eq!(inside("10 | 11", "9.1"), Outside);
        assert_eq!(inside("6.8 | 6.9", "6.8.796.0"), Inside);
        assert_eq!(inside("6.8 | 6.9", "6.7"), Outside);
        assert_eq!(inside("6.6.504.0 | 6.9.572.0", "6.9.572.0"), Inside);
        assert_eq!(inside("6.6.504.0 | 6.9.572.0", "6.9.573.0"), Outside);
        assert_eq!(inside("7.68.804 | 7.66", "7.66"), Inside);
        assert_eq!(inside("2.00 | 2.03", "2.3"), Inside);
        assert_eq!(inside("2.00 | 2.03", "2.01"), Outside);
        let abb = "5.1.0-x | 5.1.1-x | >= 6.0.0-1 | <= 6.0.0-3";
        assert_eq!(inside(abb, "5.1.1-7"), Inside);
        assert_eq!(inside(abb, "6.0.0-2"), Inside);
        assert_eq!(inside(abb, "6.0.0-4"), Outside);
        assert_eq!(inside(abb, "5.1.2-0"), Outside);
        assert_eq!(inside("5.1.1-1 | 6.0.0-1", "6.0.0-1"), Inside);
        assert_eq!(inside("5.1.1-1 | 6.0.0-1", "6.0.0-2"), Outside);
        assert_eq!(inside("5.1.0-x | 5.1.1-x | 6.0.0-x", "6.0.0-9"), Inside);
    }

    #[test]
    fn wildcards() {
        assert_eq!(inside("2.4.X", "2.4.7"), Inside);
        assert_eq!(inside("2.4.X", "2.4"), Inside);
        assert_eq!(inside("2.4.X", "2.40"), Outside);
        assert_eq!(inside("2.4.X", "2.5"), Outside);
        assert_eq!(inside("2.3.X", "2.3.9.1"), Inside);
        assert_eq!(inside("6.x", "6.9.1"), Inside);
        assert_eq!(inside("6.x", "7.0"), Outside);
        assert_eq!(inside("R15x", "R154.1"), Inside);
        assert_eq!(inside("R15x", "R160"), Outside);
        assert_eq!(inside("R15x", "R14"), Outside);
        assert_eq!(inside("R210.X", "R210.3"), Inside);
        assert_eq!(inside("R210.X", "R211.1"), Outside);
        assert_eq!(inside("R211.1", "R211.1"), Inside);
        assert_eq!(inside("R211.1", "R211.10"), Outside);
        assert_eq!(inside(">=R16x|<=R162.10", "R161.2"), Inside);
        assert_eq!(inside(">=R16x|<=R162.10", "R162.10"), Inside);
        assert_eq!(inside(">=R16x|<=R162.10", "R162.11"), Outside);
        assert_eq!(inside(">=R16x|<=R162.10", "R159"), Outside);
        assert_eq!(inside("<=R16x", "R169.9"), Inside);
        assert_eq!(inside("<=R16x", "R170"), Outside);
        assert_eq!(inside("R9x", "R99"), Inside);
        assert_eq!(inside("R9x", "R100"), Outside);
    }

    #[test]
    fn underscore_tokens() {
        assert_eq!(inside("<R510.2_HF14", "R510.2_HF13"), Inside);
        assert_eq!(inside("<R510.2_HF14", "R510.2 HF14"), Outside);
        assert_eq!(inside("<R510.2_HF14", "R510.1"), Inside);
        assert_eq!(inside("<R511.5_TCU4_HF4", "R511.5_TCU4_HF3"), Inside);
        assert_eq!(inside("<R511.5_TCU4_HF4", "R511.5_HF3"), NotComparable);
        assert_eq!(inside("<R520.2_TCU4_HF2", "R520.2_TCU4"), Inside);
        assert_eq!(inside("<R520.1_TCU5", "R520.2"), Outside);
        let trains = "<V33.017_V34.014_V35.013_V36.011";
        assert_eq!(inside(trains, "V32.011"), Inside);
        assert_eq!(inside(trains, "V33.016"), Inside);
        assert_eq!(inside(trains, "V33.017"), Outside);
        assert_eq!(inside(trains, "V34.011"), Inside);
        assert_eq!(inside(trains, "V34.014"), Outside);
        assert_eq!(inside(trains, "V35.013"), Outside);
        assert_eq!(inside(trains, "V36.010"), Inside);
        assert_eq!(inside(trains, "V37.1"), Outside);
        let wago = ">FW19_up_to_and_including_FW26";
        assert_eq!(inside(wago, "FW19"), Outside);
        assert_eq!(inside(wago, "FW20"), Inside);
        assert_eq!(inside(wago, "FW26"), Inside);
        assert_eq!(inside(wago, "FW27"), Outside);
        assert_eq!(inside(wago, "04.03.03(26)"), NotComparable);
        assert_eq!(inside(">FW16_up_to_and_including_FW26", "FW17"), Inside);
        let siemens = ">=V3.2.3_<V3.3.0_only_when_manufactured_between_LQN231003..._and_LQN231215..._with_LQNYYMMDD...";
        let e = VersionExpr::parse(siemens);
        let VersionExpr::Set { condition, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(condition
            .as_deref()
            .unwrap()
            .starts_with("only when manufactured between LQN231003"));
        assert_eq!(
            e.contains(&v("V3.2.5")),
            NotComparable,
            "condition not checkable"
        );
        assert_eq!(e.contains(&v("V3.3.0")), Outside);
        assert_eq!(e.contains(&v("V3.2.2")), Outside);
    }

    #[test]
    fn vers_strings() {
        assert_eq!(inside("vers:all/<V5.5.2", "V5.5.1"), Inside);
        assert_eq!(inside("vers:all/<V5.5.2", "5.5.2"), Outside);
        assert_eq!(inside("vers:all/<V5.2.6", "V5.2.5"), Inside);
        assert_eq!(inside("vers:all/<V2.1", "V2.0.3"), Inside);
        assert_eq!(inside("vers:all/>=V2.0<V2.1", "V2.0.3"), Inside);
        assert_eq!(inside("vers:all/>=V2.0<V2.1", "V1.9"), Outside);
        assert_eq!(inside("vers:all/>=V2.0<V2.1", "V2.1"), Outside);
        assert_eq!(inside("vers:all/>=V2.0|<V2.1", "V2.0.1"), Inside);
        assert_eq!(inside("vers:all/>=V2.0", "V9"), Inside);
        assert!(matches!(
            VersionExpr::parse("vers:all/*_installed_on_CP200_devices"),
            VersionExpr::Unparsed(_)
        ));
    }

    #[test]
    fn free_text_is_unparsed() {
        for e in [
            "<= first 2  digits of serial number are 04 ",
            "<= first 2  digits of serial number are 08",
            "<=3.1 C++ / Matlab (TC1210/TC1220/TC1300/TC1320)",
            "",
            "prior to the fix",
            "<",
            "<<3",
            ">= 1 | ",
            "!= 3",
            "vers:all",
        ] {
            let p = VersionExpr::parse(e);
            assert!(matches!(p, VersionExpr::Unparsed(_)), "{e:?} → {p:?}");
            assert_eq!(p.contains(&v("1.0")), NotComparable);
        }
        assert_eq!(
            VersionExpr::parse("<= first 2  digits of serial number are 04 "),
            VersionExpr::Unparsed("<= first 2  digits of serial number are 04".into())
        );
    }

    #[test]
    fn increments() {
        assert_eq!(increment("9"), "10");
        assert_eq!(increment("199"), "200");
        assert_eq!(increment("0"), "1");
        assert_eq!(increment("15"), "16");
        assert_eq!(bump_text("R15").as_deref(), Some("R16"));
        assert_eq!(bump_text("2.9").as_deref(), Some("2.10"));
        assert_eq!(bump_text("2.a"), None);
        assert_eq!(
            VersionExpr::parse(">=R16x|<=R162.10").to_string(),
            ">= R160, <= R162.10"
        );
        assert_eq!(VersionExpr::parse("<=R16x").to_string(), "< R170");
        assert_eq!(
            VersionExpr::parse("<V33.017_V34.014").to_string(),
            "< V33.017 | >= V34, < V34.014"
        );
    }
}
