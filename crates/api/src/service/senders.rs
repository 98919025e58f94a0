//! Who wrote a mail: the beneficiary who owns the sender's address (or a new, unvetted one),
//! and the certificates their message offered, learned on first use.

use helpline_domain::beneficiary::EmailAddress;
use helpline_domain::case::{CaseLocator, Tag};
use helpline_domain::ids::CaseId;
use helpline_domain::text::{Name, Note};
use helpline_mail::InboundMail;
use helpline_store::beneficiaries::{self, NewBeneficiary};
use helpline_store::cases;
use helpline_store::mail as mailstore;
use helpline_store::{StoreError, Tx};

/// The beneficiary who owns the sender address, or a new `unverified` one.
pub(super) fn beneficiary_for(
    tx: &mut Tx<'_>,
    sender: &helpline_mail::Mailbox,
) -> Result<helpline_domain::ids::BeneficiaryId, StoreError> {
    let email = EmailAddress::parse(&sender.address).map_err(|_| {
        StoreError::Domain(helpline_domain::DomainError::invalid(
            "from",
            "the sender address is not valid",
        ))
    })?;
    if let Some(id) = beneficiaries::find_by_email(tx.conn, &email)? {
        return Ok(id);
    }
    let name = sender
        .name
        .as_deref()
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(200).collect::<String>())
        .and_then(|n| Name::parse(n).ok())
        .or_else(|| Name::parse(sender.address.split('@').next().unwrap_or("unknown")).ok())
        .ok_or_else(|| {
            StoreError::Domain(helpline_domain::DomainError::invalid(
                "from",
                "no usable sender name",
            ))
        })?;
    Ok(beneficiaries::create(
        tx,
        NewBeneficiary {
            name,
            emails: vec![email],
            channels: Vec::new(),
            preferred_language: None,
            organisation: None,
            country: None,
            audience: None,
            notes: Note::empty(),
        },
    )?
    .id)
}

/// Stores certificates the message offered (Autocrypt, attached keys) as unconfirmed; a sender
/// whose key differs from the one held is flagged on the case, never silently swapped.
pub(super) fn learn_certificates(
    tx: &mut Tx<'_>,
    mail: &InboundMail,
    beneficiary: helpline_domain::ids::BeneficiaryId,
    case: CaseId,
    policy: &helpline_store::workflow::Policy,
) -> Result<(), StoreError> {
    if mail.candidate_certs.is_empty() {
        return Ok(());
    }
    let held = mailstore::certificates_of(tx.conn, beneficiary)?;
    for c in &mail.candidate_certs {
        let fingerprint = c.cert.fingerprint().to_hex();
        if held.iter().any(|h| h.fingerprint == fingerprint) {
            continue;
        }
        if !held.is_empty() {
            // Trust on first use: a different key for someone we hold a key for is a warning.
            let x = cases::locate(tx.conn, CaseLocator::Id(case))?;
            let flag = Tag::parse("pgp-key-changed")?;
            if !x.tags.contains(&flag) {
                super::cases::change(tx, case, x.version, policy, move |c, _| {
                    c.tags.push(flag);
                    Ok(())
                })?;
            }
        }
        let new = crate::mail::certificate_record(&c.cert, beneficiary, c.source, false)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        mailstore::add_certificate(tx, new)?;
    }
    Ok(())
}
