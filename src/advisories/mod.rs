//! Security advisories: CISA ICS advisories in CSAF 2.0, read from files ([`load_file`],
//! [`import_dir`]) into [`Advisory`] values (kept in the store as JSON), and matched against
//! what edgetap knows of a device ([`match_device`]).
//!
//! [`csaf`] reads the documents, [`version`] parses their version expressions and compares
//! versions. The matching rules are documented on [`match_device`].
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod csaf;
pub mod state;
pub mod version;

pub use version::{Containment, Version, VersionExpr};

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest advisory file read (CISA's largest CSAF files are a few MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// How deep [`import_dir`] descends into subdirectories (CISA's repository is
/// `csaf_files/OT/white/<year>/`).
pub const MAX_DIR_DEPTH: usize = 8;

/// One advisory, as kept in the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// `document.tracking.id`, e.g. `ICSA-24-284-04`.
    pub id: String,
    /// `document.title`.
    pub title: String,
    /// `document.publisher.name` (`CISA`).
    #[serde(default)]
    pub publisher: String,
    /// `document.tracking.initial_release_date`, as written (RFC 3339).
    pub initial_release_date: String,
    /// `document.tracking.current_release_date`, as written (RFC 3339).
    pub current_release_date: String,
    /// The file it was read from: its name for [`load_file`], what the caller gave for
    /// [`parse`].
    #[serde(default)]
    pub source: String,
    /// The vendor names of the product tree, trimmed, in order of first appearance.
    pub vendors: Vec<String>,
    pub products: Vec<Product>,
    pub vulnerabilities: Vec<Vulnerability>,
}

/// One product of the product tree: a leaf of `vendor > product_name > product_version|
/// product_version_range`, a `full_product_names` entry, or a relationship's product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// `product_id` (`CSAFPID-0001`).
    pub product_id: String,
    /// The enclosing `vendor` branch's name, trimmed (empty when there is none).
    pub vendor: String,
    /// The enclosing `product_family` branch's name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The enclosing `product_name` branch's name (else the family, else `full_name`).
    pub name: String,
    /// The product's own `name` (CISA: "name: version text").
    pub full_name: String,
    /// The version expression as written: the enclosing `product_version` or
    /// `product_version_range` branch's name, trimmed. `None`: no version given.
    #[serde(default)]
    pub version: Option<String>,
    /// `product_identification_helper.model_numbers` (Siemens order numbers).
    #[serde(default)]
    pub model_numbers: Vec<String>,
    /// Set for a product defined by a relationship; vendor, name and version are then the
    /// component's (`product_reference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<Relationship>,
}

impl Product {
    /// The parsed version expression ([`VersionExpr::All`] when none is given).
    pub fn version_expr(&self) -> VersionExpr {
        match &self.version {
            Some(v) => VersionExpr::parse(v),
            None => VersionExpr::All,
        }
    }
}

/// A `product_tree.relationships` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    /// `default_component_of`, `installed_on`, ...
    pub category: String,
    pub product_reference: String,
    pub relates_to_product_reference: String,
}

/// One vulnerability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub cve: Option<String>,
    pub title: Option<String>,
    /// The CVSS v3 scores (other score kinds are not kept).
    pub scores: Vec<Score>,
    /// `product_status.known_affected`, plus `first_affected` and `last_affected`.
    pub known_affected: Vec<String>,
    /// `product_status.fixed`, plus `first_fixed`.
    pub fixed: Vec<String>,
    /// `product_status.known_not_affected`.
    pub known_not_affected: Vec<String>,
    pub remediations: Vec<Remediation>,
}

/// A CVSS v3 score and the products it applies to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub products: Vec<String>,
    /// `3.0` or `3.1`.
    pub version: String,
    pub base_score: f64,
    pub vector: String,
}

/// A remediation: `vendor_fix`, `mitigation`, `workaround`, `no_fix_planned`, `none_available`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    pub category: String,
    pub details: String,
    #[serde(default)]
    pub url: Option<String>,
    /// The products it applies to (group ids resolved).
    pub product_ids: Vec<String>,
}

impl Advisory {
    /// The distinct CVE ids, in document order.
    pub fn cves(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in self.vulnerabilities.iter().filter_map(|v| v.cve.as_deref()) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// The highest CVSS v3 base score in the advisory.
    pub fn max_cvss(&self) -> Option<f64> {
        self.vulnerabilities
            .iter()
            .flat_map(|v| v.scores.iter().map(|s| s.base_score))
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
    }

    /// The product with this id.
    pub fn product(&self, product_id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.product_id == product_id)
    }
}

/// Parses one CSAF document from memory; `source` names it in errors.
pub fn parse(bytes: &[u8], source: &str) -> Result<Advisory, String> {
    csaf::parse(bytes, source)
}

/// Reads one CSAF 2.0 file. The error names the file and what is wrong with it.
pub fn load_file(path: impl AsRef<Path>) -> Result<Advisory, String> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let file = fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown}: not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{shown}: {} bytes, larger than the {MAX_FILE_BYTES} accepted",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{shown}: larger than the {MAX_FILE_BYTES} bytes accepted"
        ));
    }
    let mut adv = csaf::parse(&bytes, &shown)?;
    adv.source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(shown);
    Ok(adv)
}

fn collect(dir: &Path, depth: usize, files: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(format!("{}: cannot read directory: {e}", dir.display()));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        // Not following symbolic links to directories: no loops.
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if depth < MAX_DIR_DEPTH {
                collect(&path, depth + 1, files, errors);
            }
        } else if name.to_ascii_lowercase().ends_with(".json") {
            files.push(path);
        }
    }
}

/// Reads every `*.json` file under `dir` (subdirectories too, up to [`MAX_DIR_DEPTH`];
/// hidden entries and symbolic links to directories skipped), in path order. Returns the
/// advisories, sorted by id, and one error line per file that could not be read. When two
/// files carry the same tracking id, the one with the latest `current_release_date` is kept
/// (the first read on a tie).
pub fn import_dir(dir: impl AsRef<Path>) -> (Vec<Advisory>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect(dir.as_ref(), 0, &mut files, &mut errors);
    files.sort();
    let mut by_id: HashMap<String, Advisory> = HashMap::new();
    for f in files {
        match load_file(&f) {
            Ok(a) => match by_id.get(&a.id) {
                Some(old) if old.current_release_date >= a.current_release_date => {}
                _ => {
                    by_id.insert(a.id.clone(), a);
                }
            },
            Err(e) => errors.push(e),
        }
    }
    let mut out: Vec<Advisory> = by_id.into_values().collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    (out, errors)
}

// ---------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------

/// What is known of a device (from `identify`'s attributes or a known-devices file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub model: Option<String>,
    /// The firmware (or software) version.
    pub firmware: Option<String>,
}

/// An advisory that applies to a device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub advisory_id: String,
    pub title: String,
    /// The CVEs affecting the matched product(s).
    pub cves: Vec<String>,
    /// The highest CVSS v3 base score of those CVEs for the matched product(s).
    pub max_cvss: Option<f64>,
    /// The advisory's product name that matched.
    pub product: String,
    /// The matched product ids (several when several entries matched equally well).
    pub product_ids: Vec<String>,
    /// The version expression as written in the advisory (`None`: none given).
    pub version_expression: Option<String>,
    /// Which facts matched: `vendor`, then `model_number` (the device model is one of the
    /// product's model numbers), `product` or `model` (the device's product or model matched
    /// the product name), then `version` when the device version is verified in range.
    pub matched_fields: Vec<String>,
    /// 1-5, see [`match_device`].
    pub confidence: u8,
    /// Confidence 1: the version could not be checked (different notation, unparsed
    /// expression, or a condition a version cannot show).
    pub unverified: bool,
    /// Why, in words.
    pub why: String,
    /// The remediations for the matched product(s).
    pub remediations: Vec<Remediation>,
}

/// Legal-form words dropped from the end of a vendor name.
const LEGAL: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "ag",
    "se",
    "plc",
    "kg",
    "bv",
    "nv",
    "oy",
    "ab",
    "spa",
    "srl",
    "kk",
    "pty",
    "lp",
    "llp",
];

/// Words by which one vendor name may be longer than another and still name the same
/// company ("Schneider" ~ "Schneider Electric", "Honeywell" ~ "Honeywell International").
const DESCRIPTORS: &[&str] = &[
    "electric",
    "electronics",
    "automation",
    "international",
    "industries",
    "industrial",
    "systems",
    "group",
    "holdings",
    "technologies",
    "technology",
    "global",
];

/// Vendor aliases, after normalisation: (alias, canonical name).
pub const VENDOR_ALIASES: &[(&str, &str)] = &[
    ("schneider electric software", "schneider electric"),
    ("schneider automation", "schneider electric"),
    ("allen bradley", "rockwell automation"),
    ("jci", "johnson controls"),
    ("kepware", "ptc"),
    ("red lion controls", "red lion"),
    ("wago kontakttechnik", "wago"),
];

/// Words of a product name that do not make it more specific.
const GENERIC: &[&str] = &[
    "series",
    "family",
    "cpu",
    "cpus",
    "firmware",
    "module",
    "modules",
    "with",
    "incl",
    "including",
    "and",
    "the",
    "of",
    "for",
    "by",
    "version",
    "versions",
    "all",
    "related",
    "variants",
    "product",
    "products",
    "device",
    "devices",
    "software",
    "system",
    "systems",
];

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The normalised names a vendor string stands for: split on `,` `/` `;`, parenthesised
/// acronyms added, lower-cased, punctuation removed, legal forms dropped, aliases applied.
pub fn vendor_names(raw: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut main = String::new();
    let mut paren = String::new();
    let mut depth = 0usize;
    for c in raw.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    parts.push(std::mem::take(&mut paren));
                }
            }
            _ if depth > 0 => paren.push(c),
            _ => main.push(c),
        }
    }
    parts.push(paren);
    parts.extend(main.split([',', '/', ';']).map(str::to_owned));
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        let mut w = words(&p);
        if w.first().is_some_and(|f| f == "the") {
            w.remove(0);
        }
        while w.last().is_some_and(|l| LEGAL.contains(&l.as_str())) {
            w.pop();
        }
        if w.is_empty() {
            continue;
        }
        let mut name = w.join(" ");
        if let Some((_, canon)) = VENDOR_ALIASES.iter().find(|(a, _)| *a == name) {
            name = (*canon).to_owned();
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Whether two vendor strings name the same vendor (see [`match_device`]).
pub fn vendor_matches(a: &str, b: &str) -> bool {
    let (na, nb) = (vendor_names(a), vendor_names(b));
    na.iter().any(|x| nb.iter().any(|y| same_vendor(x, y)))
}

fn same_vendor(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (wa, wb): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    let (short, long) = if wa.len() <= wb.len() {
        (wa, wb)
    } else {
        (wb, wa)
    };
    long.starts_with(&short)
        && long
            .get(short.len()..)
            .is_some_and(|rest| rest.iter().all(|w| DESCRIPTORS.contains(w)))
}

/// One word position of an advisory product name: its alternatives (`COM100/800` gives
/// `com100`, `com800`), and whether it sits in parentheses.
#[derive(Debug)]
struct Slot {
    alts: Vec<String>,
    in_parens: bool,
}

/// `Q03/04/06/13/26UDVCPU` → q03udvcpu, q04udvcpu, ...; `COM100/800` → com100, com800;
/// otherwise the parts themselves (`ADS/ADX/OAS`).
fn expand_slashes(word: &str) -> Vec<String> {
    let parts: Vec<&str> = word.split('/').filter(|p| !p.is_empty()).collect();
    let split = |p: &str| {
        let letters = p.len()
            - p.trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (l, rest) = p.split_at(letters);
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (d, s) = rest.split_at(digits);
        (l.to_owned(), d.to_owned(), s.to_owned())
    };
    if let ([first, middle @ .., last], true) = (parts.as_slice(), word.is_ascii()) {
        let (l1, d1, s1) = split(first);
        let (ln, dn, sn) = split(last);
        let middles_digits = middle
            .iter()
            .all(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()));
        if !d1.is_empty()
            && s1.is_empty()
            && ln.is_empty()
            && !dn.is_empty()
            && middles_digits
            && (!l1.is_empty() || !sn.is_empty())
        {
            let mut out = vec![format!("{l1}{d1}{sn}")];
            out.extend(middle.iter().map(|m| format!("{l1}{m}{sn}")));
            out.push(format!("{l1}{dn}{sn}"));
            return out;
        }
    }
    parts.into_iter().map(str::to_owned).collect()
}

/// The non-generic word positions of an advisory product name.
fn slots(name: &str) -> Vec<Slot> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut word = String::new();
    let mut word_parens = false;
    let flush = |word: &mut String, in_parens: bool, out: &mut Vec<Slot>| {
        for sub in word
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '/')
            .filter(|s| !s.is_empty())
        {
            let alts: Vec<String> = expand_slashes(sub)
                .into_iter()
                .filter(|a| !GENERIC.contains(&a.as_str()))
                .collect();
            if !alts.is_empty() {
                out.push(Slot { alts, in_parens });
            }
        }
        word.clear();
    };
    for c in name.chars() {
        match c {
            '(' | '[' => {
                flush(&mut word, word_parens, &mut out);
                depth += 1;
            }
            ')' | ']' => {
                flush(&mut word, word_parens, &mut out);
                depth = depth.saturating_sub(1);
            }
            c if c.is_whitespace() || matches!(c, ',' | ';' | ':') => {
                flush(&mut word, word_parens, &mut out);
            }
            c => {
                if word.is_empty() {
                    word_parens = depth > 0;
                }
                word.push(c);
            }
        }
    }
    flush(&mut word, word_parens, &mut out);
    out
}

/// How the device's product or model matched an advisory product, strongest last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Hit {
    /// The device names only a series the advisory product belongs to, or a more general
    /// product (`Modicon M580` for `Modicon M580 CPU Safety`).
    Family,
    /// The device's product or model is the advisory product (or a product of it).
    Product,
    /// The device model is one of the product's model numbers.
    ModelNumber,
}

fn device_words(text: &str, strip: &[Vec<String>]) -> Vec<String> {
    let mut w: Vec<String> = words(text)
        .into_iter()
        .filter(|x| !GENERIC.contains(&x.as_str()))
        .collect();
    for v in strip {
        if !v.is_empty() && w.len() > v.len() && w.starts_with(v) {
            w.drain(..v.len());
        }
    }
    w
}

fn slot_has(slot: &Slot, w: &str) -> bool {
    slot.alts.iter().any(|a| a == w)
}

/// Matches device text (its product or its model) with an advisory product name.
fn text_hit(dev: &[String], name_slots: &[Slot]) -> Option<Hit> {
    if dev.is_empty() || name_slots.is_empty() {
        return None;
    }
    let mut best: Option<Hit> = None;
    // The device's words inside the advisory name.
    if dev.len() <= name_slots.len() {
        for start in 0..=name_slots.len() - dev.len() {
            let Some(run) = name_slots.get(start..start + dev.len()) else {
                continue;
            };
            if !run.iter().zip(dev).all(|(s, w)| slot_has(s, w)) {
                continue;
            }
            let hit = if run.iter().all(|s| s.in_parens) {
                // An order number or model code in parentheses: specific if it has a digit.
                if dev.iter().any(|w| w.chars().any(|c| c.is_ascii_digit())) {
                    Hit::Product
                } else {
                    continue;
                }
            } else {
                let more = name_slots
                    .get(start + dev.len()..)
                    .unwrap_or_default()
                    .iter()
                    .any(|s| !s.in_parens);
                if more {
                    Hit::Family
                } else {
                    Hit::Product
                }
            };
            best = best.max(Some(hit));
        }
    }
    // The advisory name (outside parentheses) inside the device's words: the device is
    // that product or a variant of it ("MB3280 series" for a device "MGate MB3280").
    let core: Vec<&Slot> = name_slots.iter().filter(|s| !s.in_parens).collect();
    let distinctive = core
        .iter()
        .any(|s| s.alts.iter().any(|a| a.chars().any(|c| c.is_ascii_digit())))
        || core
            .iter()
            .map(|s| s.alts.first().map_or(0, String::len))
            .sum::<usize>()
            >= 4;
    if !core.is_empty() && distinctive && core.len() <= dev.len() {
        for start in 0..=dev.len() - core.len() {
            let Some(run) = dev.get(start..start + core.len()) else {
                continue;
            };
            if core.iter().zip(run).all(|(s, w)| slot_has(s, w)) {
                best = best.max(Some(Hit::Product));
            }
        }
    }
    best
}

fn norm_model(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// What the version check found.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    All,
    Inside,
    Outside,
    Unknown,
    Unverified(String),
}

/// The confidence table (see [`match_device`]); `None` is no match.
fn confidence(hit: Hit, outcome: &Outcome) -> Option<u8> {
    match (outcome, hit) {
        (Outcome::Outside, _) => None,
        (Outcome::Inside, Hit::Family) => Some(3),
        (Outcome::Inside, _) => Some(5),
        (Outcome::All, Hit::Family) | (Outcome::Unknown, _) => Some(2),
        (Outcome::All, _) => Some(3),
        (Outcome::Unverified(_), _) => Some(1),
    }
}

fn clean(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

struct Candidate<'a> {
    product: &'a Product,
    hit: Hit,
    fields: Vec<String>,
    confidence: u8,
    why: String,
    vulns: Vec<&'a Vulnerability>,
}

/// Matches a device against advisories. One [`Match`] per advisory that applies, sorted by
/// confidence, then CVSS (highest first), then advisory id.
///
/// For every product of an advisory that some vulnerability lists as affected
/// (`known_affected`, `first_affected`, `last_affected`; products only `fixed` or
/// `known_not_affected` never match):
///
/// 1. **Vendor must match.** Both names are normalised: split on `,` `/` `;` (`Matrikon,
///    Honeywell` is two vendors), a parenthesised acronym added (`Automated Logic Corporation
///    (ALC)` is also `alc`), lower-cased, punctuation removed, legal forms dropped from the
///    end (Inc, LLC, Ltd, Corporation, GmbH, AG, SE, Co, KG, ...), then [`VENDOR_ALIASES`]
///    applied (`Schneider Electric Software, LLC` → `schneider electric`). Two names match
///    when equal, or when the longer only adds descriptive words (Electric, Automation,
///    International, Systems, ...: `Schneider` ~ `Schneider Electric`). A device without a
///    vendor matches nothing.
/// 2. **Product must match**, token-aware and case-insensitive: names are split into words
///    at every non-alphanumeric character (`S7-1200` is `s7 1200`; `X204-2` does not match
///    `X204-2LD`), generic words (series, family, firmware, CPU, module, ...) ignored, and a
///    vendor name at the start of the device's product ignored. Slash groups in advisory
///    names are alternatives (`COM100/800`, `Q03/04/06UDVCPU` → Q03UDVCPU, Q04UDVCPU, ...).
///    - *model number*: the device's model (or product) equals one of the product's
///      `model_numbers`, ignoring case and spaces;
///    - *product*: the device's product or model words appear, in order and adjacent, in the
///      advisory product name, and the name has no further words after them outside
///      parentheses (words before them, like a line name, are allowed: `MB3280` is `MGate
///      MB3280 Series`); or the words are all inside the parentheses and include a digit (an
///      order code: `BMXNOR0200H`); or the whole advisory name (outside parentheses) appears
///      in the device's words (the device is a variant: `MGate MB3280-T` of `MB3280
///      series`), provided that name has a digit or 4 letters or more;
///    - *family*: the device's words appear in the name but more words follow (`Modicon M580`
///      for `Modicon M580 CPU Safety`, `SIMATIC S7-1200` for `... CPU family version 4`).
///
///    Another product of the same vendor shares no such word run and does not match.
/// 3. **Version** ([`version`] documents the parsing and comparison):
///
///    | version check                                   | product or model number | family |
///    |-------------------------------------------------|:-----------------------:|:------:|
///    | device version inside the parsed expression     | 5                       | 3      |
///    | expression is "all versions" (or none given)    | 3                       | 2      |
///    | device version unknown                          | 2                       | 2      |
///    | not comparable (other notation), unparsed expression, or in range but with an unverifiable condition | 1 (`unverified`) | 1 |
///    | device version comparable and outside           | no match                | no match |
///
///    Confidence 4 is not used.
///
/// When several products of one advisory match, the best (confidence, then model number >
/// product > family) is reported; products matching equally well are merged (their CVEs,
/// ids and remediations).
pub fn match_device(advisories: &[Advisory], dev: &DeviceIdentity) -> Vec<Match> {
    let Some(dev_vendor) = clean(&dev.vendor) else {
        return Vec::new();
    };
    let dev_product = clean(&dev.product);
    let dev_model = clean(&dev.model);
    if dev_product.is_none() && dev_model.is_none() {
        return Vec::new();
    }
    let firmware = clean(&dev.firmware);
    let dev_version = firmware.map(|f| (f, Version::parse(f)));
    let dev_vendor_words = words(dev_vendor);

    let mut out = Vec::new();
    for adv in advisories {
        let mut affected: HashMap<&str, Vec<&Vulnerability>> = HashMap::new();
        for v in &adv.vulnerabilities {
            for p in &v.known_affected {
                let list = affected.entry(p.as_str()).or_default();
                if !list.iter().any(|x| std::ptr::eq(*x, v)) {
                    list.push(v);
                }
            }
        }
        let mut cands: Vec<Candidate> = Vec::new();
        for product in &adv.products {
            let Some(vulns) = affected.get(product.product_id.as_str()) else {
                continue;
            };
            if !vendor_matches(&product.vendor, dev_vendor) {
                continue;
            }
            if let Some(c) = candidate(
                product,
                vulns,
                dev,
                dev_product,
                dev_model,
                &dev_vendor_words,
                dev_version.as_ref(),
            ) {
                cands.push(c);
            }
        }
        if let Some(m) = merge(adv, cands) {
            out.push(m);
        }
    }
    out.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then_with(|| {
                b.max_cvss
                    .unwrap_or(-1.0)
                    .total_cmp(&a.max_cvss.unwrap_or(-1.0))
            })
            .then_with(|| a.advisory_id.cmp(&b.advisory_id))
    });
    out
}

fn candidate<'a>(
    product: &'a Product,
    vulns: &[&'a Vulnerability],
    dev: &DeviceIdentity,
    dev_product: Option<&str>,
    dev_model: Option<&str>,
    dev_vendor_words: &[String],
    dev_version: Option<&(&str, Option<Version>)>,
) -> Option<Candidate<'a>> {
    let vendor_why = format!(
        "vendor {:?} matches {:?}",
        dev.vendor.as_deref().unwrap_or_default().trim(),
        product.vendor
    );
    // Product.
    let mut hit: Option<(Hit, &str, String)> = None;
    let numbers: Vec<String> = product
        .model_numbers
        .iter()
        .map(|m| norm_model(m))
        .collect();
    for (field, text) in [("model", dev_model), ("product", dev_product)] {
        let Some(text) = text else { continue };
        if numbers.contains(&norm_model(text)) {
            hit = Some((
                Hit::ModelNumber,
                "model_number",
                format!(
                    "{field} {text:?} is a model number of {:?}",
                    product.full_name
                ),
            ));
            break;
        }
    }
    if hit.is_none() {
        let strip = [dev_vendor_words.to_vec(), words(&product.vendor)];
        let mut name_slots = slots(&product.name);
        // A vendor name at the start of the advisory's product name does not count.
        for v in &strip {
            if !v.is_empty()
                && name_slots.len() > v.len()
                && name_slots.iter().zip(v).all(|(s, w)| slot_has(s, w))
            {
                name_slots.drain(..v.len());
            }
        }
        for (field, text) in [("product", dev_product), ("model", dev_model)] {
            let Some(text) = text else { continue };
            let dw = device_words(text, &strip);
            if let Some(h) = text_hit(&dw, &name_slots) {
                if hit.as_ref().is_none_or(|(b, _, _)| h > *b) {
                    let how = match h {
                        Hit::Family => "names only a series or a more general product than",
                        _ => "is",
                    };
                    hit = Some((
                        h,
                        field,
                        format!("{field} {text:?} {how} {:?}", product.name),
                    ));
                }
            }
        }
    }
    let (hit, field, product_why) = hit?;

    // Version.
    let expr = product.version_expr();
    let written = product.version.as_deref().unwrap_or("(no version given)");
    let (outcome, version_why) = match (&expr, dev_version) {
        (VersionExpr::All, _) => (
            Outcome::All,
            if product.version.is_some() {
                format!("the advisory affects all versions ({written:?})")
            } else {
                "the advisory gives no version: all versions".to_owned()
            },
        ),
        (_, None) => (
            Outcome::Unknown,
            format!("the device's version is unknown; affected: {written:?}"),
        ),
        (VersionExpr::Unparsed(_), Some((raw, _))) => (
            Outcome::Unverified("unparsed".into()),
            format!("version {raw:?} cannot be checked: {written:?} is not a version constraint (unverified)"),
        ),
        (_, Some((raw, None))) => (
            Outcome::Unverified("device".into()),
            format!("version {raw:?} is not a version string; affected: {written:?} (unverified)"),
        ),
        (_, Some((raw, Some(v)))) => match expr.contains(v) {
            Containment::Inside => (
                Outcome::Inside,
                format!("version {raw:?} is in {written:?} ({expr})"),
            ),
            Containment::Outside => (
                Outcome::Outside,
                format!("version {raw:?} is outside {written:?}"),
            ),
            Containment::NotComparable => {
                let condition = match &expr {
                    VersionExpr::Set {
                        condition: Some(c), ..
                    } => Some(c),
                    _ => None,
                };
                let text = match condition {
                    Some(c) => format!(
                        "version {raw:?} is in range of {written:?} but the advisory adds a condition a version cannot show ({c}) (unverified)"
                    ),
                    None => format!(
                        "version {raw:?} cannot be compared with {written:?}: different notation (unverified)"
                    ),
                };
                (Outcome::Unverified("notation".into()), text)
            }
        },
    };
    let confidence = confidence(hit, &outcome)?;
    let mut fields = vec!["vendor".to_owned(), field.to_owned()];
    if outcome == Outcome::Inside {
        fields.push("version".to_owned());
    }
    Some(Candidate {
        product,
        hit,
        fields,
        confidence,
        why: format!("{vendor_why}; {product_why}; {version_why}"),
        vulns: vulns.to_vec(),
    })
}

fn merge(adv: &Advisory, cands: Vec<Candidate>) -> Option<Match> {
    let best = cands.iter().map(|c| (c.confidence, c.hit)).max()?;
    let chosen: Vec<&Candidate> = cands
        .iter()
        .filter(|c| (c.confidence, c.hit) == best)
        .collect();
    let first = chosen.first()?;
    let mut cves: Vec<String> = Vec::new();
    let mut product_ids: Vec<String> = Vec::new();
    let mut max_cvss: Option<f64> = None;
    let mut remediations: Vec<Remediation> = Vec::new();
    for c in &chosen {
        let pid = &c.product.product_id;
        product_ids.push(pid.clone());
        for v in &c.vulns {
            if let Some(cve) = &v.cve {
                if !cves.contains(cve) {
                    cves.push(cve.clone());
                }
            }
            for s in v.scores.iter().filter(|s| s.products.contains(pid)) {
                max_cvss = Some(max_cvss.map_or(s.base_score, |m| m.max(s.base_score)));
            }
            for r in v
                .remediations
                .iter()
                .filter(|r| r.product_ids.contains(pid))
            {
                if !remediations
                    .iter()
                    .any(|x| x.category == r.category && x.details == r.details && x.url == r.url)
                {
                    remediations.push(r.clone());
                }
            }
        }
    }
    let mut why = first.why.clone();
    if chosen.len() > 1 {
        why.push_str(&format!(
            " (and {} more products of this advisory alike)",
            chosen.len() - 1
        ));
    }
    Some(Match {
        advisory_id: adv.id.clone(),
        title: adv.title.clone(),
        cves,
        max_cvss,
        product: first.product.name.clone(),
        product_ids,
        version_expression: first.product.version.clone(),
        matched_fields: first.fields.clone(),
        confidence: first.confidence,
        unverified: first.confidence == 1,
        why,
        remediations,
    })
}

/// What `/api/v1/stats` and `/metrics` say of advisories: how many are imported, and over the
/// device records (each with its `advisories` matches) how many devices have at least one and
/// how many matches there are at each confidence.
pub fn summary(devices: &[serde_json::Value], imported: usize) -> serde_json::Value {
    let mut with = 0u64;
    let mut by_confidence = [0u64; 5];
    for d in devices {
        let Some(ms) = d["advisories"].as_array().filter(|m| !m.is_empty()) else {
            continue;
        };
        with += 1;
        for m in ms {
            let c = m["confidence"].as_u64().unwrap_or(1).clamp(1, 5);
            if let Some(n) = by_confidence.get_mut(c as usize - 1) {
                *n += 1;
            }
        }
    }
    let matches: serde_json::Map<String, serde_json::Value> = by_confidence
        .iter()
        .enumerate()
        .map(|(i, n)| ((i + 1).to_string(), (*n).into()))
        .collect();
    serde_json::json!({
        "imported": imported,
        "devices_affected": with,
        "matches": matches,
    })
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests: a failure is a failed test"
)]
mod tests {
    use super::*;

    #[test]
    fn vendors() {
        assert_eq!(
            vendor_names("Schneider Electric Software, LLC"),
            vec!["schneider electric"]
        );
        assert_eq!(
            vendor_names("Schneider Electric "),
            vec!["schneider electric"]
        );
        assert_eq!(
            vendor_names("Automated Logic Corporation (ALC)"),
            vec!["alc", "automated logic"]
        );
        assert_eq!(
            vendor_names("Matrikon, Honeywell"),
            vec!["matrikon", "honeywell"]
        );
        assert_eq!(
            vendor_names("Phoenix Contact GmbH & Co. KG"),
            vec!["phoenix contact"]
        );
        assert!(vendor_matches(
            "Schneider Electric Software, LLC",
            "Schneider Electric"
        ));
        assert!(vendor_matches("Schneider Electric", "SCHNEIDER"));
        assert!(vendor_matches(
            "Johnson Controls Inc",
            "Johnson Controls International plc"
        ));
        assert!(vendor_matches(
            "Matrikon, Honeywell",
            "Honeywell International Inc."
        ));
        assert!(vendor_matches(
            "Rockwell Automation",
            "Rockwell Automation/Allen-Bradley"
        ));
        assert!(vendor_matches("Rockwell Automation", "Allen-Bradley"));
        assert!(vendor_matches("Siemens", "Siemens AG"));
        assert!(!vendor_matches("Delta Controls", "Delta Electronics"));
        assert!(!vendor_matches("Siemens", "Schneider Electric"));
        assert!(!vendor_matches("", "Siemens"));
        assert!(!vendor_matches("Mitsubishi Electric", "Electric"));
    }

    #[test]
    fn slash_groups() {
        assert_eq!(
            expand_slashes("q03/04/06/13/26udvcpu"),
            vec![
                "q03udvcpu",
                "q04udvcpu",
                "q06udvcpu",
                "q13udvcpu",
                "q26udvcpu"
            ]
        );
        assert_eq!(expand_slashes("com100/800"), vec!["com100", "com800"]);
        assert_eq!(expand_slashes("ads/adx/oas"), vec!["ads", "adx", "oas"]);
        assert_eq!(expand_slashes("tc1210/tc1220"), vec!["tc1210", "tc1220"]);
        assert_eq!(expand_slashes("a"), vec!["a"]);
        assert_eq!(expand_slashes("/"), Vec::<String>::new());
    }

    fn hit(dev: &str, name: &str) -> Option<Hit> {
        text_hit(&device_words(dev, &[]), &slots(name))
    }

    #[test]
    fn product_hits() {
        let x200 = "SCALANCE X200-4P IRT (6GK5200-4AH00-2BA3)";
        assert_eq!(hit("SCALANCE X200-4P IRT", x200), Some(Hit::Product));
        assert_eq!(hit("X200-4P IRT", x200), Some(Hit::Product));
        assert_eq!(hit("SCALANCE X200", x200), Some(Hit::Family));
        assert_eq!(hit("6GK5200-4AH00-2BA3", x200), Some(Hit::Product));
        assert_eq!(
            hit("SCALANCE X204-2", "SCALANCE X204-2LD (6GK5204-2BC10-2AA3)"),
            None
        );
        assert_eq!(
            hit("Modicon M340", "M340 CPUs with firmware"),
            Some(Hit::Product)
        );
        assert_eq!(hit("MB3280", "MGate MB3280 Series"), Some(Hit::Product));
        assert_eq!(hit("MGate MB3280-T", "MB3280 series"), Some(Hit::Product));
        assert_eq!(hit("MB3180", "MB3280 series"), None);
        assert_eq!(
            hit(
                "Modicon M580",
                "Modicon M580 CPU Safety (part numbers BMEP58*S and BMEH58*S)"
            ),
            Some(Hit::Family)
        );
        assert_eq!(
            hit("Q04UDVCPU", "Q03/04/06/13/26UDVCPU"),
            Some(Hit::Product)
        );
        assert_eq!(hit("Q05UDVCPU", "Q03/04/06/13/26UDVCPU"), None);
        assert_eq!(
            hit("BMXNOR0200H", "Modicon X80 RTU (BMXNOR0200H)"),
            Some(Hit::Product)
        );
        assert_eq!(
            hit(
                "SIPLUS",
                "SIMATIC S7-1200 CPU family version 4 (incl. SIPLUS variants)"
            ),
            None
        );
        assert_eq!(hit("Vision OS", "OS"), None);
        assert_eq!(hit("", "OS"), None);
        assert_eq!(hit("Premium", "Premium CPUs"), Some(Hit::Product));
    }
}
