//! The permission a route needs, in its signature: `auth: Allowed<may::WriteParties>` is the
//! caller, authenticated and already checked for that permission before the handler runs (and
//! before its body is parsed), so a forbidden caller learns nothing from a malformed request.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest};
use helpline_domain::access::Permission;

use crate::auth::Auth;
use crate::error::ApiError;

/// A permission as a type, for [`Allowed`].
pub trait Needs {
    /// The permission the type stands for.
    const PERMISSION: Permission;
}

/// The authenticated caller, holding the permission `P` stands for.
pub struct Allowed<P> {
    auth: Auth,
    needs: PhantomData<P>,
}

impl<P> Deref for Allowed<P> {
    type Target = Auth;

    fn deref(&self) -> &Auth {
        &self.auth
    }
}

impl<P: Needs + 'static> FromRequest for Allowed<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let auth = Auth::from_request(req, payload);
        Box::pin(async move {
            let auth = auth.await?;
            auth.require(P::PERMISSION)?;
            Ok(Allowed {
                auth,
                needs: PhantomData,
            })
        })
    }
}

macro_rules! permission_types {
    ($($p:ident),* $(,)?) => {
        /// One type per [`Permission`], named like it.
        pub mod may {
            $(
                #[doc = concat!("[`Permission::", stringify!($p), "`](helpline_domain::access::Permission::", stringify!($p), ")")]
                pub struct $p;

                impl super::Needs for $p {
                    const PERMISSION: helpline_domain::access::Permission =
                        helpline_domain::access::Permission::$p;
                }
            )*
        }
    };
}

permission_types!(
    ReadCases,
    CreateCase,
    UpdateCase,
    AssignCase,
    OverridePriority,
    ManageConfidentiality,
    SeeAllConfidential,
    RecordMessage,
    RecordAction,
    Comment,
    ManageNextSteps,
    LinkParty,
    ReadBeneficiaries,
    WriteBeneficiaries,
    VerifyBeneficiary,
    ReverseRejection,
    ReadParties,
    WriteParties,
    ReadUsers,
    ManageUsers,
    ManageTokens,
    ReadAudit,
    IngestMail,
    ManageQuarantine,
    ReadIndicators,
    ManageIndicators,
    LinkCases,
    ManageEvidence,
    MergeCases,
    ShareIntel,
    ReadRoster,
    ManageRoster,
    Oversee,
    ReadStats,
    LeadCases,
    ExportBeneficiary,
);
