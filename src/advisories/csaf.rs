//! CSAF 2.0 documents (OASIS CSAF v2.0, <https://docs.oasis-open.org/csaf/csaf/v2.0/>): the
//! parts edgetap uses, read with serde, checked, and turned into an [`Advisory`].
//!
//! Read: `document` (§3.2.1: category, csaf_version, title, publisher, tracking),
//! `product_tree` (§3.2.2: branches walked recursively, full_product_names, relationships,
//! product_groups) and `vulnerabilities` (§3.2.3: cve, title, scores with `cvss_v3`,
//! product_status, remediations). Everything else is ignored.
//!
//! Hostile input never panics: serde reports wrong types and missing fields (with line and
//! column), serde_json stops nesting at 128 levels, and the checks below give the rest. Every
//! error names the file and what is wrong. Checks beyond the types:
//! - `document.category` is `csaf_security_advisory` or `csaf_vex`, `csaf_version` is `2.0`;
//! - `tracking.id` and `title` are not blank;
//! - the product tree defines at least one product and no product id twice (CSAF §6.1.2);
//! - every product id or group id a vulnerability or relationship names is defined (§6.1.1);
//! - CVSS v3 base scores are within 0.0-10.0.

use super::{Advisory, Product, Relationship, Remediation, Score, Vulnerability};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

/// Deepest `branches` nesting walked (serde_json's own limit of 128 levels comes first in
/// practice: each branch level is two JSON levels).
const MAX_BRANCH_DEPTH: usize = 64;
/// Longest piece of file text quoted in an error.
const QUOTE: usize = 60;

#[derive(Deserialize)]
struct RawDoc {
    document: RawDocument,
    #[serde(default)]
    product_tree: Option<RawProductTree>,
    #[serde(default)]
    vulnerabilities: Vec<RawVuln>,
}

#[derive(Deserialize)]
struct RawDocument {
    category: String,
    csaf_version: String,
    title: String,
    #[serde(default)]
    publisher: Option<RawPublisher>,
    tracking: RawTracking,
}

#[derive(Deserialize)]
struct RawPublisher {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RawTracking {
    id: String,
    initial_release_date: String,
    current_release_date: String,
}

#[derive(Deserialize)]
struct RawProductTree {
    #[serde(default)]
    branches: Vec<RawBranch>,
    #[serde(default)]
    full_product_names: Vec<RawFullProductName>,
    #[serde(default)]
    relationships: Vec<RawRelationship>,
    #[serde(default)]
    product_groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
struct RawBranch {
    category: String,
    name: String,
    #[serde(default)]
    branches: Vec<RawBranch>,
    #[serde(default)]
    product: Option<RawFullProductName>,
}

#[derive(Deserialize)]
struct RawFullProductName {
    name: String,
    product_id: String,
    #[serde(default)]
    product_identification_helper: Option<RawHelper>,
}

#[derive(Deserialize)]
struct RawHelper {
    #[serde(default)]
    model_numbers: Vec<String>,
}

#[derive(Deserialize)]
struct RawRelationship {
    category: String,
    product_reference: String,
    relates_to_product_reference: String,
    full_product_name: RawFullProductName,
}

#[derive(Deserialize)]
struct RawGroup {
    group_id: String,
    product_ids: Vec<String>,
}

#[derive(Deserialize)]
struct RawVuln {
    #[serde(default)]
    cve: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    scores: Vec<RawScore>,
    #[serde(default)]
    product_status: Option<RawStatus>,
    #[serde(default)]
    remediations: Vec<RawRemediation>,
}

#[derive(Deserialize)]
struct RawScore {
    products: Vec<String>,
    #[serde(default)]
    cvss_v3: Option<RawCvss3>,
}

#[derive(Deserialize)]
struct RawCvss3 {
    version: String,
    #[serde(rename = "baseScore")]
    base_score: f64,
    #[serde(rename = "vectorString")]
    vector_string: String,
}

#[derive(Deserialize, Default)]
struct RawStatus {
    #[serde(default)]
    known_affected: Vec<String>,
    #[serde(default)]
    first_affected: Vec<String>,
    #[serde(default)]
    last_affected: Vec<String>,
    #[serde(default)]
    fixed: Vec<String>,
    #[serde(default)]
    first_fixed: Vec<String>,
    #[serde(default)]
    known_not_affected: Vec<String>,
}

#[derive(Deserialize)]
struct RawRemediation {
    category: String,
    details: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    product_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
}

/// A short, printable quote of file text for an error message.
fn quote(s: &str) -> String {
    let mut q: String = s.chars().take(QUOTE).collect();
    if s.chars().nth(QUOTE).is_some() {
        q.push_str("...");
    }
    format!("{q:?}")
}

/// The names along a branch path.
#[derive(Clone, Default)]
struct Path {
    vendor: Option<String>,
    family: Option<String>,
    product_name: Option<String>,
    version: Option<String>,
}

fn walk(
    branches: &[RawBranch],
    path: &Path,
    depth: usize,
    out: &mut Vec<Product>,
) -> Result<(), String> {
    if depth > MAX_BRANCH_DEPTH {
        return Err(format!(
            "product_tree.branches nested deeper than {MAX_BRANCH_DEPTH}"
        ));
    }
    for b in branches {
        let mut p = path.clone();
        let name = b.name.trim().to_owned();
        match b.category.as_str() {
            "vendor" => p.vendor = Some(name),
            "product_family" => p.family = Some(name),
            "product_name" => p.product_name = Some(name),
            "product_version" | "product_version_range" => p.version = Some(name),
            _ => {}
        }
        if let Some(fpn) = &b.product {
            out.push(product(fpn, &p));
        }
        walk(&b.branches, &p, depth + 1, out)?;
    }
    Ok(())
}

fn model_numbers(fpn: &RawFullProductName) -> Vec<String> {
    fpn.product_identification_helper
        .as_ref()
        .map(|h| {
            h.model_numbers
                .iter()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn product(fpn: &RawFullProductName, path: &Path) -> Product {
    let full_name = fpn.name.trim().to_owned();
    let name = path
        .product_name
        .clone()
        .or_else(|| path.family.clone())
        .unwrap_or_else(|| full_name.clone());
    Product {
        product_id: fpn.product_id.trim().to_owned(),
        vendor: path.vendor.clone().unwrap_or_default(),
        family: path.family.clone(),
        name,
        full_name,
        version: path.version.clone(),
        model_numbers: model_numbers(fpn),
        relationship: None,
    }
}

/// Parses and checks one CSAF document. `source` names it in errors (a file path).
pub fn parse(bytes: &[u8], source: &str) -> Result<Advisory, String> {
    let fail = |what: String| format!("{source}: {what}");
    let raw: RawDoc =
        serde_json::from_slice(bytes).map_err(|e| fail(format!("not a CSAF document: {e}")))?;
    let doc = &raw.document;
    if doc.category != "csaf_security_advisory" && doc.category != "csaf_vex" {
        return Err(fail(format!(
            "document.category is {}, expected csaf_security_advisory or csaf_vex",
            quote(&doc.category)
        )));
    }
    if doc.csaf_version != "2.0" {
        return Err(fail(format!(
            "document.csaf_version is {}, expected \"2.0\"",
            quote(&doc.csaf_version)
        )));
    }
    let id = doc.tracking.id.trim();
    if id.is_empty() {
        return Err(fail("document.tracking.id is empty".into()));
    }
    if doc.title.trim().is_empty() {
        return Err(fail("document.title is empty".into()));
    }
    let Some(tree) = &raw.product_tree else {
        return Err(fail("no product_tree".into()));
    };

    let mut products = Vec::new();
    walk(&tree.branches, &Path::default(), 0, &mut products).map_err(&fail)?;
    for fpn in &tree.full_product_names {
        products.push(product(fpn, &Path::default()));
    }
    let mut ids: HashSet<String> = HashSet::new();
    for p in &products {
        if p.product_id.is_empty() {
            return Err(fail(format!(
                "product {} has an empty product_id",
                quote(&p.full_name)
            )));
        }
        if !ids.insert(p.product_id.clone()) {
            return Err(fail(format!(
                "product_id {} is defined twice",
                quote(&p.product_id)
            )));
        }
    }
    // Relationships name the component (`product_reference`) and what it belongs to.
    let mut related = Vec::new();
    for (i, r) in tree.relationships.iter().enumerate() {
        let comp = products
            .iter()
            .find(|p| p.product_id == r.product_reference.trim())
            .ok_or_else(|| {
                fail(format!(
                    "product_tree.relationships[{i}] refers to undefined product_id {}",
                    quote(&r.product_reference)
                ))
            })?;
        if !ids.contains(r.relates_to_product_reference.trim()) {
            return Err(fail(format!(
                "product_tree.relationships[{i}] refers to undefined product_id {}",
                quote(&r.relates_to_product_reference)
            )));
        }
        let fpn = &r.full_product_name;
        let mut p = comp.clone();
        p.product_id = fpn.product_id.trim().to_owned();
        p.full_name = fpn.name.trim().to_owned();
        let extra = model_numbers(fpn);
        if !extra.is_empty() {
            p.model_numbers = extra;
        }
        p.relationship = Some(Relationship {
            category: r.category.trim().to_owned(),
            product_reference: r.product_reference.trim().to_owned(),
            relates_to_product_reference: r.relates_to_product_reference.trim().to_owned(),
        });
        related.push(p);
    }
    for p in related {
        if p.product_id.is_empty() || !ids.insert(p.product_id.clone()) {
            return Err(fail(format!(
                "relationship product_id {} is empty or defined twice",
                quote(&p.product_id)
            )));
        }
        products.push(p);
    }
    if products.is_empty() {
        return Err(fail("product_tree defines no product".into()));
    }
    let mut groups: HashMap<&str, &[String]> = HashMap::new();
    for (i, g) in tree.product_groups.iter().enumerate() {
        if let Some(bad) = g.product_ids.iter().find(|p| !ids.contains(p.trim())) {
            return Err(fail(format!(
                "product_tree.product_groups[{i}] refers to undefined product_id {}",
                quote(bad)
            )));
        }
        groups.insert(g.group_id.trim(), &g.product_ids);
    }

    let mut vulnerabilities = Vec::new();
    for (i, v) in raw.vulnerabilities.iter().enumerate() {
        let cve = v.cve.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let at = match cve {
            Some(c) => format!("vulnerabilities[{i}] ({})", quote(c)),
            None => format!("vulnerabilities[{i}]"),
        };
        let check = |list: &[String], what: &str| -> Result<Vec<String>, String> {
            let mut out = Vec::with_capacity(list.len());
            for p in list {
                let p = p.trim();
                if !ids.contains(p) {
                    return Err(fail(format!(
                        "{at} {what} refers to undefined product_id {}",
                        quote(p)
                    )));
                }
                out.push(p.to_owned());
            }
            Ok(out)
        };
        let status = v.product_status.as_ref();
        let empty = RawStatus::default();
        let st = status.unwrap_or(&empty);
        let mut known_affected = check(&st.known_affected, "product_status.known_affected")?;
        known_affected.extend(check(&st.first_affected, "product_status.first_affected")?);
        known_affected.extend(check(&st.last_affected, "product_status.last_affected")?);
        let mut fixed = check(&st.fixed, "product_status.fixed")?;
        fixed.extend(check(&st.first_fixed, "product_status.first_fixed")?);
        let known_not_affected =
            check(&st.known_not_affected, "product_status.known_not_affected")?;

        let mut scores = Vec::new();
        for s in &v.scores {
            let products = check(&s.products, "scores.products")?;
            let Some(c) = &s.cvss_v3 else { continue };
            if !(0.0..=10.0).contains(&c.base_score) {
                return Err(fail(format!(
                    "{at} cvss_v3.baseScore {} is not within 0.0-10.0",
                    c.base_score
                )));
            }
            scores.push(Score {
                products,
                version: c.version.trim().to_owned(),
                base_score: c.base_score,
                vector: c.vector_string.trim().to_owned(),
            });
        }

        let mut remediations = Vec::new();
        for r in &v.remediations {
            let mut product_ids = check(&r.product_ids, "remediations.product_ids")?;
            for g in &r.group_ids {
                let members = groups.get(g.trim()).ok_or_else(|| {
                    fail(format!(
                        "{at} remediations.group_ids refers to undefined group_id {}",
                        quote(g)
                    ))
                })?;
                product_ids.extend(members.iter().map(|m| m.trim().to_owned()));
            }
            remediations.push(Remediation {
                category: r.category.trim().to_owned(),
                details: r.details.trim().to_owned(),
                url: r.url.as_deref().map(str::trim).map(str::to_owned),
                product_ids,
            });
        }
        vulnerabilities.push(Vulnerability {
            cve: cve.map(str::to_owned),
            title: v.title.as_deref().map(str::trim).map(str::to_owned),
            scores,
            known_affected,
            fixed,
            known_not_affected,
            remediations,
        });
    }

    let mut vendors: Vec<String> = Vec::new();
    for p in &products {
        if !p.vendor.is_empty() && !vendors.contains(&p.vendor) {
            vendors.push(p.vendor.clone());
        }
    }
    Ok(Advisory {
        id: id.to_owned(),
        title: doc.title.trim().to_owned(),
        publisher: doc
            .publisher
            .as_ref()
            .map(|p| p.name.trim().to_owned())
            .unwrap_or_default(),
        initial_release_date: doc.tracking.initial_release_date.trim().to_owned(),
        current_release_date: doc.tracking.current_release_date.trim().to_owned(),
        source: source.to_owned(),
        vendors,
        products,
        vulnerabilities,
    })
}
