//! Every failure the CLI reports: a stable code, a message and a hint; printed as text or JSON,
//! always with a non-zero exit.

use serde_json::json;
use std::fmt;

#[derive(Debug)]
pub struct CliError {
    pub code: String,
    pub message: String,
    pub hint: String,
    pub details: serde_json::Value,
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    pub fn new(code: &str, message: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError {
            code: code.to_string(),
            message: message.into(),
            hint: hint.into(),
            details: json!({}),
        }
    }

    pub fn print(&self, as_json: bool) {
        if as_json {
            let v = json!({"error": {"code": self.code, "message": self.message, "hint": self.hint, "details": self.details}});
            println!("{v}");
        } else {
            eprintln!("error[{}]: {}", self.code, self.message);
            if !self.hint.is_empty() {
                eprintln!("  hint: {}", self.hint);
            }
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(
            "io_error",
            e.to_string(),
            "check the path and its permissions",
        )
    }
}

impl From<tensorchain_subnet_sdk::SdkError> for CliError {
    fn from(e: tensorchain_subnet_sdk::SdkError) -> Self {
        CliError {
            code: e.code,
            message: e.message,
            hint: e.hint,
            details: if e.details.is_null() {
                json!({})
            } else {
                e.details
            },
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::new(
            "node_error",
            format!("{e:#}"),
            "see the log lines above for context",
        )
    }
}
