//! A small blocking client for the node's REST API that turns API errors into `CliError`s.

use crate::error::{CliError, CliResult};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// `local` (or nothing) means the local devnet's default address.
pub fn resolve_network(network: &str) -> String {
    match network {
        "" | "local" => "http://127.0.0.1:8080".to_string(),
        url => url.trim_end_matches('/').to_string(),
    }
}

impl Client {
    pub fn new(network: &str) -> Client {
        Client {
            base: resolve_network(network),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(5))
                .timeout(Duration::from_secs(30))
                .build(),
        }
    }

    /// GETs `path` and returns the envelope's `data`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        self.handle(self.agent.get(&format!("{}{path}", self.base)).call())
    }

    /// Every item of a paged list route (`{items, next_cursor}`), following its cursors, at
    /// most `MAX_PAGES` pages (a quarter of a million items at the API's largest page).
    pub fn get_all(&self, path: &str) -> CliResult<Vec<Value>> {
        const MAX_PAGES: usize = 1_000;
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=256&cursor={c}"),
                None => format!("{path}{sep}limit=256"),
            };
            let page: Value = self.get(&url)?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        Ok(items)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> CliResult<T> {
        self.handle(
            self.agent
                .post(&format!("{}{path}", self.base))
                .send_json(body),
        )
    }

    fn handle<T: DeserializeOwned>(
        &self,
        result: Result<ureq::Response, ureq::Error>,
    ) -> CliResult<T> {
        match result {
            Ok(resp) => {
                let v: Value = resp.into_json().map_err(|e| self.bad_response(e))?;
                serde_json::from_value(v["data"].clone()).map_err(|e| self.bad_response(e))
            }
            Err(ureq::Error::Status(status, resp)) => {
                let v: Value = resp.into_json().unwrap_or(Value::Null);
                let e = &v["error"];
                match e["code"].as_str() {
                    Some(code) => Err(CliError {
                        code: code.to_string(),
                        message: e["message"].as_str().unwrap_or_default().to_string(),
                        hint: e["hint"].as_str().unwrap_or_default().to_string(),
                        details: e["details"].clone(),
                    }),
                    None => Err(CliError::new(
                        "http_error",
                        format!("{} answered HTTP {status}", self.base),
                        "is --network pointing at a tensorchain node?",
                    )),
                }
            }
            Err(e) => Err(CliError::new(
                "node_unreachable",
                format!("cannot reach {}: {e}", self.base),
                "start a devnet with `tensorchain devnet up` or pass --network URL",
            )),
        }
    }

    fn bad_response(&self, e: impl std::fmt::Display) -> CliError {
        CliError::new(
            "bad_response",
            format!("unexpected response from {}: {e}", self.base),
            "is --network pointing at a tensorchain node of the same version?",
        )
    }
}
