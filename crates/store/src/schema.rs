//! The diesel schema, one for both backends (portable column types only).

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        name -> Text,
        scopes -> Text,
        secret_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    beneficiaries (id) {
        id -> Text,
        name -> Text,
        channels -> Text,
        preferred_language -> Nullable<Text>,
        organisation -> Nullable<Text>,
        country -> Nullable<Text>,
        audience -> Nullable<Text>,
        verification -> Text,
        notes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    beneficiary_emails (address_norm) {
        address_norm -> Text,
        address -> Text,
        beneficiary_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    verifications (id) {
        id -> Text,
        beneficiary_id -> Text,
        status -> Text,
        method -> Nullable<Text>,
        vouched_by -> Nullable<Text>,
        note -> Text,
        decided_by -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        #[sql_name = "ref"]
        reference -> BigInt,
        beneficiary_id -> Text,
        status -> Text,
        urgency -> Text,
        impact -> Text,
        priority -> Text,
        priority_overridden -> Bool,
        summary -> Text,
        description -> Text,
        service_type -> Text,
        tags -> Text,
        assignee_id -> Nullable<Text>,
        confidential -> Bool,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_response_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        version -> BigInt,
        merged_into -> Nullable<Text>,
        channel -> Nullable<Text>,
        vetting -> Text,
        first_response_due_at -> Timestamp,
        resolution_due_at -> Timestamp,
        escalation_reason -> Nullable<Text>,
        escalated_at -> Nullable<Timestamp>,
        escalation_acknowledged_at -> Nullable<Timestamp>,
        legal_hold -> Nullable<Text>,
        anonymized_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_tags (case_id, tag) {
        case_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    case_access (case_id, user_id) {
        case_id -> Text,
        user_id -> Text,
        granted_by -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    parties (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        emails -> Text,
        contact -> Text,
        notes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        case_id -> Text,
        direction -> Text,
        channel -> Text,
        party_id -> Nullable<Text>,
        subject -> Nullable<Text>,
        body -> Text,
        occurred_at -> Timestamp,
        recorded_by -> Text,
        created_at -> Timestamp,
        email -> Nullable<Text>,
        counterpart -> Text,
    }
}

diesel::table! {
    comments (id) {
        id -> Text,
        case_id -> Text,
        author -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    actions (id) {
        id -> Text,
        case_id -> Text,
        kind -> Text,
        description -> Text,
        performed_by -> Text,
        performed_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    next_steps (id) {
        id -> Text,
        case_id -> Text,
        title -> Text,
        assignee_id -> Nullable<Text>,
        due_at -> Nullable<Timestamp>,
        done -> Bool,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    case_parties (case_id, party_id, role) {
        case_id -> Text,
        party_id -> Text,
        role -> Text,
        note -> Text,
        added_by -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        occurred_at -> Timestamp,
        actor -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        case_id -> Nullable<Text>,
        changes -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    access_events (seq) {
        seq -> BigInt,
        id -> Text,
        occurred_at -> Timestamp,
        actor -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        case_id -> Nullable<Text>,
        changes -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    access_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (principal, idem_key) {
        principal -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status -> Integer,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    blobs (sha256) {
        sha256 -> Text,
        size -> BigInt,
        data -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inbound_mail (id) {
        id -> Text,
        sha256 -> Text,
        rfc_message_id -> Nullable<Text>,
        size -> BigInt,
        sender -> Nullable<Text>,
        state -> Text,
        reason -> Nullable<Text>,
        crypto -> Nullable<Text>,
        case_id -> Nullable<Text>,
        message_id -> Nullable<Text>,
        new_case -> Bool,
        received_by -> Text,
        received_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mail_ids (rfc_message_id) {
        rfc_message_id -> Text,
        case_id -> Text,
        message_id -> Nullable<Text>,
    }
}

diesel::table! {
    certificates (id) {
        id -> Text,
        beneficiary_id -> Text,
        fingerprint -> Text,
        armored -> Text,
        user_ids -> Text,
        emails -> Text,
        expires_at -> Nullable<Timestamp>,
        revoked -> Bool,
        can_encrypt -> Bool,
        source -> Text,
        confirmed -> Bool,
        added_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    certificate_keys (handle, certificate_id) {
        handle -> Text,
        certificate_id -> Text,
    }
}

diesel::table! {
    evidence (id) {
        id -> Text,
        case_id -> Text,
        sha256 -> Text,
        filename -> Nullable<Text>,
        media_type -> Text,
        size -> BigInt,
        source -> Text,
        message_id -> Nullable<Text>,
        description -> Text,
        collected_by -> Text,
        collected_at -> Timestamp,
        tlp -> Text,
    }
}

diesel::table! {
    custody_events (id) {
        id -> Text,
        evidence_id -> Text,
        event -> Text,
        actor -> Text,
        at -> Timestamp,
        detail -> Text,
    }
}

diesel::table! {
    outbox (message_id) {
        message_id -> Text,
        case_id -> Text,
        sender -> Text,
        recipients -> Text,
        sha256 -> Text,
        encrypted -> Bool,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    indicators (id) {
        id -> Text,
        kind -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_indicators (case_id, indicator_id) {
        case_id -> Text,
        indicator_id -> Text,
        state -> Text,
        tlp -> Text,
        note -> Text,
        source_message_id -> Nullable<Text>,
        added_by -> Text,
        added_at -> Timestamp,
        first_seen -> Nullable<Timestamp>,
        last_seen -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_links (case_id, target_id) {
        case_id -> Text,
        target_id -> Text,
        kind -> Text,
        note -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    case_merges (id) {
        id -> Text,
        source_id -> Text,
        target_id -> Text,
        moved -> Text,
        merged_by -> Text,
        merged_at -> Timestamp,
        undone_by -> Nullable<Text>,
        undone_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    shifts (id) {
        id -> Text,
        user_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    absences (id) {
        id -> Text,
        user_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    handoffs (id) {
        id -> Text,
        case_id -> Text,
        from_user -> Nullable<Text>,
        to_user -> Nullable<Text>,
        note -> Text,
        automatic -> Bool,
        handed_by -> Text,
        handed_at -> Timestamp,
    }
}

diesel::table! {
    sla_announcements (case_id, target) {
        case_id -> Text,
        target -> Text,
        announced_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        url -> Text,
        event -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    revoked_sessions (jti) {
        jti -> Text,
        user_id -> Text,
        expires_at -> Timestamp,
        revoked_at -> Timestamp,
    }
}

diesel::table! {
    second_factors (user_id) {
        user_id -> Text,
        secret -> Text,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    session_cutoffs (user_id) {
        user_id -> Text,
        not_before -> Timestamp,
    }
}

diesel::table! {
    login_failures (account) {
        account -> Text,
        failures -> Integer,
        paused_until -> Nullable<Timestamp>,
        last_failed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_epoch (id) {
        id -> Integer,
        epoch -> BigInt,
    }
}

diesel::table! {
    console_preferences (user_id) {
        user_id -> Text,
        language -> Text,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    console_preferences,
    api_tokens,
    beneficiaries,
    beneficiary_emails,
    verifications,
    cases,
    case_tags,
    case_access,
    parties,
    messages,
    comments,
    actions,
    next_steps,
    case_parties,
    audit_events,
    audit_head,
    access_events,
    access_head,
    second_factors,
    recovery_codes,
    session_cutoffs,
    login_failures,
    auth_epoch,
    counters,
    idempotency_keys,
    blobs,
    inbound_mail,
    mail_ids,
    certificates,
    certificate_keys,
    evidence,
    outbox,
    indicators,
    case_indicators,
    case_links,
    custody_events,
    case_merges,
    shifts,
    absences,
    settings,
    handoffs,
    sla_announcements,
    webhook_deliveries,
    revoked_sessions,
);
