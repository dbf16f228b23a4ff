//! Error codes of the protocol (AdApi `ResultErrorCodes` plus Baton's own).

use serde::{Deserialize, Serialize};

/// Every error code the server may answer with. Numbers are fixed by PROTOCOL.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotEnoughPrivileges,
    NotLoggedIn,
    InvalidArgs,
    LoggedWithoutPhone,
    Banned,
    ApiNotAnswer,
    InvalidRequest,
    Timeout,
    NoChatInService,
    EmptyNumber,
    NoService,
    SelfCall,
    NoInteraction,
    ApiMethodNotImplemented,
    NotSuitableState,
    NoDisposition,
    ObjectNotFound,
    NoPermissionsDidSms,
    NoPermissionsDidCall,
    NoChannelInService,
    UnknownError,
    PayloadTooLarge,
    RateLimited,
    ForcedLogoutByOtherClient,
    DestinationUserNotLogged,
    /// The agent was disabled or deleted by an administrator (server error 107).
    UserDisabledOrDeleted,
    InvalidCredentials,
    InvalidToken,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 28] = [
        Self::NotEnoughPrivileges,
        Self::NotLoggedIn,
        Self::InvalidArgs,
        Self::LoggedWithoutPhone,
        Self::Banned,
        Self::ApiNotAnswer,
        Self::InvalidRequest,
        Self::Timeout,
        Self::NoChatInService,
        Self::EmptyNumber,
        Self::NoService,
        Self::SelfCall,
        Self::NoInteraction,
        Self::ApiMethodNotImplemented,
        Self::NotSuitableState,
        Self::NoDisposition,
        Self::ObjectNotFound,
        Self::NoPermissionsDidSms,
        Self::NoPermissionsDidCall,
        Self::NoChannelInService,
        Self::UnknownError,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::ForcedLogoutByOtherClient,
        Self::DestinationUserNotLogged,
        Self::UserDisabledOrDeleted,
        Self::InvalidCredentials,
        Self::InvalidToken,
    ];

    pub fn code(self) -> u32 {
        match self {
            Self::NotEnoughPrivileges => 1,
            Self::NotLoggedIn => 2,
            Self::InvalidArgs => 3,
            Self::LoggedWithoutPhone => 4,
            Self::Banned => 5,
            Self::ApiNotAnswer => 6,
            Self::InvalidRequest => 7,
            Self::Timeout => 8,
            Self::NoChatInService => 9,
            Self::EmptyNumber => 10,
            Self::NoService => 11,
            Self::SelfCall => 12,
            Self::NoInteraction => 13,
            Self::ApiMethodNotImplemented => 14,
            Self::NotSuitableState => 15,
            Self::NoDisposition => 16,
            Self::ObjectNotFound => 17,
            Self::NoPermissionsDidSms => 18,
            Self::NoPermissionsDidCall => 19,
            Self::NoChannelInService => 20,
            Self::UnknownError => 99,
            Self::PayloadTooLarge => 21,
            Self::RateLimited => 22,
            Self::ForcedLogoutByOtherClient => 100,
            Self::DestinationUserNotLogged => 106,
            Self::UserDisabledOrDeleted => 107,
            Self::InvalidCredentials => 109,
            Self::InvalidToken => 111,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::NotEnoughPrivileges => "not_enough_privileges",
            Self::NotLoggedIn => "not_logged_in",
            Self::InvalidArgs => "invalid_args",
            Self::LoggedWithoutPhone => "logged_without_phone",
            Self::Banned => "banned",
            Self::ApiNotAnswer => "api_not_answer",
            Self::InvalidRequest => "invalid_request",
            Self::Timeout => "timeout",
            Self::NoChatInService => "no_chat_in_service",
            Self::EmptyNumber => "empty_number",
            Self::NoService => "no_service",
            Self::SelfCall => "self_call",
            Self::NoInteraction => "no_interaction",
            Self::ApiMethodNotImplemented => "api_method_not_implemented",
            Self::NotSuitableState => "not_suitable_state",
            Self::NoDisposition => "no_disposition",
            Self::ObjectNotFound => "object_not_found",
            Self::NoPermissionsDidSms => "no_permissions_did_sms",
            Self::NoPermissionsDidCall => "no_permissions_did_call",
            Self::NoChannelInService => "no_channel_in_service",
            Self::UnknownError => "unknown_error",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::ForcedLogoutByOtherClient => "forced_logout_by_other_client",
            Self::DestinationUserNotLogged => "destination_user_not_logged",
            Self::UserDisabledOrDeleted => "user_disabled_or_deleted",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
        }
    }

    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The error object carried in responses, REST bodies and `ON_SERVER_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{name} ({code}): {message}")]
pub struct ApiError {
    pub code: u32,
    pub name: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.code(),
            name: code.name().to_owned(),
            message: message.into(),
        }
    }

    /// The typed code, when the number is one this crate knows.
    pub fn kind(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate code {}", c.code());
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
        }
        assert_eq!(ErrorCode::PayloadTooLarge.code(), 21);
        assert_eq!(ErrorCode::InvalidToken.name(), "invalid_token");
        assert_eq!(ErrorCode::NoDisposition.code(), 16);
        assert_eq!(
            ErrorCode::NoChannelInService.name(),
            "no_channel_in_service"
        );
    }
}
