//! Sharing a case's indicators with the community: a MISP event and a STIX 2.1 bundle, and a
//! MISP event's attributes taken in as indicators. Only confirmed indicators and evidence
//! hashes leave; nothing that names or describes the beneficiary does (the event says "Helpline
//! case #1042" and its service type, never the summary). TLP:RED never leaves, nor anything
//! marked above the level asked for; both are counted.

use chrono::{DateTime, Utc};
use helpline_domain::case::Case;
use helpline_domain::indicator::{Indicator, IndicatorKind, IndicatorState, Tlp};
use helpline_store::analysis::CaseIndicator;
use helpline_store::evidence::Evidence;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The formats a case's intelligence is shared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareFormat {
    /// A MISP event.
    Misp,
    /// A STIX 2.1 bundle.
    Stix,
}

/// What goes into an export, already filtered.
pub struct Shared<'a> {
    /// The case.
    pub case: &'a Case,
    /// Confirmed indicators at or below the level.
    pub indicators: Vec<&'a CaseIndicator>,
    /// Evidence at or below the level.
    pub evidence: Vec<&'a Evidence>,
    /// Items left out: TLP:RED or above the level.
    pub withheld: usize,
    /// The organisation sharing.
    pub organisation: &'a str,
    /// When.
    pub now: DateTime<Utc>,
}

/// Picks what may be shared at `level` (never TLP:RED).
pub fn select<'a>(
    case: &'a Case,
    indicators: &'a [CaseIndicator],
    evidence: &'a [Evidence],
    level: Tlp,
    organisation: &'a str,
    now: DateTime<Utc>,
) -> Shared<'a> {
    let allowed = |t: Tlp| t != Tlp::Red && t <= level;
    let confirmed: Vec<&CaseIndicator> = indicators
        .iter()
        .filter(|i| i.state == IndicatorState::Confirmed)
        .collect();
    let withheld = confirmed.iter().filter(|i| !allowed(i.tlp)).count()
        + evidence.iter().filter(|e| !allowed(e.tlp)).count();
    Shared {
        case,
        indicators: confirmed.into_iter().filter(|i| allowed(i.tlp)).collect(),
        evidence: evidence.iter().filter(|e| allowed(e.tlp)).collect(),
        withheld,
        organisation,
        now,
    }
}

/// A stable UUID for a name (the organisation's identity in exports).
fn name_uuid(name: &str) -> uuid::Uuid {
    let d = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    // RFC 9562 version 8 (custom), variant 10.
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b)
}

/// The MISP attribute type and category for an indicator.
fn misp_type(i: &Indicator) -> (&'static str, &'static str) {
    match i.kind() {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 | IndicatorKind::Cidr => {
            ("ip-dst", "Network activity")
        }
        IndicatorKind::Domain => ("domain", "Network activity"),
        IndicatorKind::Url => ("url", "Network activity"),
        IndicatorKind::Email => ("email-src", "Payload delivery"),
        IndicatorKind::Md5 => ("md5", "Payload delivery"),
        IndicatorKind::Sha1 => ("sha1", "Payload delivery"),
        IndicatorKind::Sha256 => ("sha256", "Payload delivery"),
        IndicatorKind::Phone => ("phone-number", "Person"),
        IndicatorKind::FileName => ("filename", "Payload delivery"),
        IndicatorKind::Account => match i.value().split_once(':').map(|(p, _)| p) {
            Some("x" | "twitter") => ("twitter-id", "Social network"),
            Some("github") => ("github-username", "Social network"),
            Some("jabber" | "xmpp") => ("jabber-id", "Social network"),
            _ => ("text", "Social network"),
        },
        IndicatorKind::Text => ("text", "Other"),
    }
}

fn misp_value(i: &Indicator) -> String {
    match (i.kind(), misp_type(i).0) {
        // A platform-specific type carries the handle alone.
        (IndicatorKind::Account, "twitter-id" | "github-username" | "jabber-id") => i
            .value()
            .split_once(':')
            .map_or_else(|| i.value().to_owned(), |(_, h)| h.to_owned()),
        _ => i.value().to_owned(),
    }
}

fn tlp_tag(t: Tlp) -> Value {
    json!({"name": format!("tlp:{}", t.as_str())})
}

/// The case as a MISP event (`{"Event": {...}}`, MISP's JSON format).
pub fn misp(s: &Shared<'_>) -> Value {
    let ts = s.now.timestamp().to_string();
    let mut attributes = Vec::new();
    for ci in &s.indicators {
        let i = ci.indicator.indicator();
        let (kind, category) = misp_type(&i);
        let to_ids = !matches!(
            kind,
            "text" | "phone-number" | "twitter-id" | "github-username" | "jabber-id"
        );
        attributes.push(json!({
            "uuid": ci.indicator.id.to_string(),
            "type": kind,
            "category": category,
            "value": misp_value(&i),
            "to_ids": to_ids,
            "comment": ci.note.as_str(),
            "timestamp": ci.updated_at.timestamp().to_string(),
            "distribution": "5",
            "disable_correlation": false,
            "Tag": [tlp_tag(ci.tlp)],
        }));
    }
    for e in &s.evidence {
        let (kind, value) = match &e.filename {
            Some(f) => ("filename|sha256", format!("{f}|{}", e.sha256)),
            None => ("sha256", e.sha256.clone()),
        };
        attributes.push(json!({
            "uuid": e.id.to_string(),
            "type": kind,
            "category": "Payload delivery",
            "value": value,
            "to_ids": true,
            "comment": format!("evidence, {} bytes, {}", e.size, e.media_type),
            "timestamp": e.collected_at.timestamp().to_string(),
            "distribution": "5",
            "disable_correlation": false,
            "Tag": [tlp_tag(e.tlp)],
        }));
    }
    let most = s
        .indicators
        .iter()
        .map(|i| i.tlp)
        .chain(s.evidence.iter().map(|e| e.tlp))
        .max()
        .unwrap_or(Tlp::Clear);
    json!({
        "Event": {
            "uuid": s.case.id.to_string(),
            "info": format!("{} case #{} ({})", s.organisation, s.case.reference.get(), s.case.service_type.as_str()),
            "date": s.case.created_at.format("%Y-%m-%d").to_string(),
            "timestamp": ts,
            "published": false,
            "analysis": "1",
            "threat_level_id": "2",
            "distribution": "0",
            "Orgc": {"uuid": name_uuid(s.organisation).to_string(), "name": s.organisation},
            "Tag": [tlp_tag(most)],
            "Attribute": attributes,
        }
    })
}

/// STIX 2.1 TLP 1.0 marking definitions (white for TLP:CLEAR), as the standard fixes them.
fn tlp_marking(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Green => "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Amber => "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        // No TLP 1.0 equivalent: the bundle defines it as a statement.
        Tlp::AmberStrict => AMBER_STRICT,
        Tlp::Red => "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    }
}

const AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";

/// A string inside a STIX pattern.
fn quoted(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The STIX pattern of an indicator, where STIX has one.
fn pattern(i: &Indicator) -> Option<String> {
    let v = quoted(i.value());
    Some(match i.kind() {
        IndicatorKind::Ipv4 => format!("[ipv4-addr:value = {v}]"),
        IndicatorKind::Ipv6 => format!("[ipv6-addr:value = {v}]"),
        IndicatorKind::Cidr if i.value().contains(':') => format!("[ipv6-addr:value = {v}]"),
        IndicatorKind::Cidr => format!("[ipv4-addr:value = {v}]"),
        IndicatorKind::Domain => format!("[domain-name:value = {v}]"),
        IndicatorKind::Url => format!("[url:value = {v}]"),
        IndicatorKind::Email => format!("[email-addr:value = {v}]"),
        IndicatorKind::Md5 => format!("[file:hashes.MD5 = {v}]"),
        IndicatorKind::Sha1 => format!("[file:hashes.'SHA-1' = {v}]"),
        IndicatorKind::Sha256 => format!("[file:hashes.'SHA-256' = {v}]"),
        IndicatorKind::FileName => format!("[file:name = {v}]"),
        IndicatorKind::Account => {
            let (platform, handle) = i.value().split_once(':')?;
            format!(
                "[user-account:account_login = {} AND user-account:account_type = {}]",
                quoted(handle),
                quoted(platform)
            )
        }
        IndicatorKind::Phone | IndicatorKind::Text => return None,
    })
}

fn stix_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The case as a STIX 2.1 bundle: the organisation's identity, an indicator per shareable
/// item, and a grouping of them. Returns the bundle and how many items STIX cannot express
/// (phone numbers and free text).
///
/// Long because it is a mapping, one arm per indicator kind into its STIX pattern, read best
/// next to each other.
pub fn stix(s: &Shared<'_>) -> (Value, usize) {
    let now = stix_time(s.now);
    let identity = format!("identity--{}", name_uuid(s.organisation));
    let mut objects = vec![json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity,
        "created": now,
        "modified": now,
        "name": s.organisation,
        "identity_class": "organization",
    })];
    let mut refs = Vec::new();
    let mut unexpressed = 0;
    let mut strict = false;
    let mut add = |objects: &mut Vec<Value>,
                   id: String,
                   name: String,
                   pattern: String,
                   tlp: Tlp,
                   when: DateTime<Utc>,
                   description: String| {
        strict |= tlp == Tlp::AmberStrict;
        let mut o = json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id,
            "created": stix_time(when),
            "modified": stix_time(when),
            "created_by_ref": identity,
            "name": name,
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": stix_time(when),
            "object_marking_refs": [tlp_marking(tlp)],
        });
        if !description.is_empty() {
            o["description"] = json!(description);
        }
        refs.push(id);
        objects.push(o);
    };
    for ci in &s.indicators {
        let i = ci.indicator.indicator();
        match pattern(&i) {
            Some(p) => add(
                &mut objects,
                format!("indicator--{}", ci.indicator.id),
                format!("{} {}", i.kind(), i.value()),
                p,
                ci.tlp,
                ci.added_at,
                ci.note.as_str().to_owned(),
            ),
            None => unexpressed += 1,
        }
    }
    for e in &s.evidence {
        let mut p = format!("[file:hashes.'SHA-256' = {}", quoted(&e.sha256));
        if let Some(f) = &e.filename {
            p.push_str(&format!(" AND file:name = {}", quoted(f)));
        }
        p.push(']');
        add(
            &mut objects,
            format!("indicator--{}", e.id),
            format!("evidence {}", e.filename.as_deref().unwrap_or(&e.sha256)),
            p,
            e.tlp,
            e.collected_at,
            String::new(),
        );
    }
    if strict {
        objects.push(json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": AMBER_STRICT,
            "created": "2022-08-01T00:00:00.000Z",
            "name": "TLP:AMBER+STRICT",
            "definition_type": "statement",
            "definition": {"statement": "TLP:AMBER+STRICT: limited disclosure, recipients can only spread this on a need-to-know basis within their organization."},
        }));
    }
    let grouping = json!({
        "type": "grouping",
        "spec_version": "2.1",
        "id": format!("grouping--{}", s.case.id),
        "created": stix_time(s.case.created_at),
        "modified": now,
        "created_by_ref": identity,
        "name": format!("{} case #{}", s.organisation, s.case.reference.get()),
        "context": "suspicious-activity",
        "object_refs": if refs.is_empty() { vec![identity.clone()] } else { refs },
    });
    objects.push(grouping);
    (
        json!({
            "type": "bundle",
            "id": format!("bundle--{}", uuid::Uuid::now_v7()),
            "objects": objects,
        }),
        unexpressed,
    )
}

/// An attribute of a MISP event read as an indicator, or why it was not.
pub struct Imported {
    /// The indicator.
    pub indicator: Result<Indicator, String>,
    /// Its TLP tag, if it had one.
    pub tlp: Option<Tlp>,
    /// `to_ids`: meant for detection (taken as confirmed).
    pub to_ids: bool,
    /// Its comment.
    pub comment: String,
    /// MISP type and value, for the report.
    pub source: (String, String),
}

fn tlp_of(tags: Option<&Value>) -> Option<Tlp> {
    tags?.as_array()?.iter().find_map(|t| {
        let name = t["name"].as_str()?.to_ascii_lowercase();
        let level = name.strip_prefix("tlp:")?;
        Tlp::parse(if level == "white" { "clear" } else { level }).ok()
    })
}

/// The attributes of a MISP event (`{"Event": ...}` or the event itself, objects' attributes
/// included), each read as an indicator where Helpline has a kind for its type.
pub fn misp_attributes(event: &Value) -> Result<(Vec<Imported>, Option<Tlp>), String> {
    let e = event.get("Event").unwrap_or(event);
    if !e.is_object() {
        return Err("expected a MISP event: {\"Event\": {...}}".into());
    }
    let event_tlp = tlp_of(e.get("Tag"));
    let mut all: Vec<&Value> = e["Attribute"].as_array().into_iter().flatten().collect();
    for o in e["Object"].as_array().into_iter().flatten() {
        all.extend(o["Attribute"].as_array().into_iter().flatten());
    }
    let mut out = Vec::new();
    for a in all {
        let t = a["type"].as_str().unwrap_or_default().to_owned();
        let v = a["value"].as_str().unwrap_or_default().to_owned();
        let parse = |k: IndicatorKind, v: &str| Indicator::parse(k, v).map_err(|e| e.to_string());
        let indicator = match t.as_str() {
            "ip-dst" | "ip-src" => {
                let addr = v.split('|').next().unwrap_or_default();
                if addr.contains('/') {
                    parse(IndicatorKind::Cidr, addr)
                } else if addr.contains(':') {
                    parse(IndicatorKind::Ipv6, addr)
                } else {
                    parse(IndicatorKind::Ipv4, addr)
                }
            }
            "domain" | "hostname" => parse(IndicatorKind::Domain, &v),
            "url" | "link" | "uri" => parse(IndicatorKind::Url, &v),
            "email" | "email-src" | "email-dst" => parse(IndicatorKind::Email, &v),
            "md5" => parse(IndicatorKind::Md5, &v),
            "sha1" => parse(IndicatorKind::Sha1, &v),
            "sha256" => parse(IndicatorKind::Sha256, &v),
            "filename|sha256" => parse(
                IndicatorKind::Sha256,
                v.split_once('|').map(|(_, h)| h).unwrap_or_default(),
            ),
            "filename|md5" => parse(
                IndicatorKind::Md5,
                v.split_once('|').map(|(_, h)| h).unwrap_or_default(),
            ),
            "filename|sha1" => parse(
                IndicatorKind::Sha1,
                v.split_once('|').map(|(_, h)| h).unwrap_or_default(),
            ),
            "filename" => parse(IndicatorKind::FileName, &v),
            "phone-number" => parse(IndicatorKind::Phone, &v),
            "twitter-id" => parse(IndicatorKind::Account, &format!("x:{v}")),
            "github-username" => parse(IndicatorKind::Account, &format!("github:{v}")),
            "jabber-id" => parse(IndicatorKind::Account, &format!("jabber:{v}")),
            "text" => parse(IndicatorKind::Text, &v),
            other => Err(format!(
                "the MISP type `{other}` has no indicator kind here"
            )),
        };
        out.push(Imported {
            indicator,
            tlp: tlp_of(a.get("Tag")),
            to_ids: a["to_ids"].as_bool().unwrap_or(false),
            comment: a["comment"].as_str().unwrap_or_default().to_owned(),
            source: (t, v),
        });
    }
    Ok((out, event_tlp))
}
