//! One error shape for everything the SDK reports, the same as the node's REST errors: a stable
//! snake_case `code`, a `message` for people and a `hint` saying what to do.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdkError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub hint: String,
    #[serde(default)]
    pub details: Value,
}

pub type SdkResult<T> = Result<T, SdkError>;

impl SdkError {
    pub fn new(code: &str, message: impl Into<String>, hint: impl Into<String>) -> SdkError {
        SdkError {
            code: code.to_string(),
            message: message.into(),
            hint: hint.into(),
            details: Value::Null,
        }
    }
}

impl fmt::Display for SdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SdkError {}
