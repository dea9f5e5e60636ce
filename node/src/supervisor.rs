//! The node's core tasks under one roof. A core task (consensus engine, network, REST server)
//! only ends on shutdown; one that ends earlier, or panics, leaves a process that looks alive
//! but no longer follows the chain. The supervisor names the first to end, so the node can
//! report it (health 503) and exit for its own supervisor to restart it.

use std::collections::HashMap;
use std::future::Future;
use tokio::task::{Id, JoinError, JoinHandle, JoinSet};

#[derive(Default)]
pub struct Supervisor {
    tasks: JoinSet<()>,
    names: HashMap<Id, &'static str>,
}

impl Supervisor {
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let handle = self.tasks.spawn(task);
        self.names.insert(handle.id(), name);
    }

    /// Watches a task spawned elsewhere (the network starts its own) through its handle.
    pub fn adopt(&mut self, name: &'static str, handle: JoinHandle<()>) {
        self.spawn(name, async move {
            if let Err(e) = handle.await {
                if let Ok(panic) = e.try_into_panic() {
                    // Re-raised without running the panic hook again: reported once, as its own.
                    std::panic::resume_unwind(panic);
                }
            }
        });
    }

    /// Waits for the first task to end and says which and how. Never resolves with no tasks.
    pub async fn first_end(&mut self) -> String {
        match self.tasks.join_next_with_id().await {
            Some(Ok((id, ()))) => format!("the {} task ended", self.name(id)),
            Some(Err(e)) => {
                let name = self.name(e.id());
                format!("the {name} task {}", how_it_failed(e))
            }
            None => std::future::pending().await,
        }
    }

    /// Waits for every task (after shutdown was signalled).
    pub async fn join_all(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }

    fn name(&self, id: Id) -> &'static str {
        self.names.get(&id).copied().unwrap_or("unnamed")
    }
}

fn how_it_failed(e: JoinError) -> String {
    if !e.is_panic() {
        return "was cancelled".into();
    }
    let panic = e.into_panic();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text payload".into());
    format!("panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Finding 9 of the Byzantine-peers review: a dead engine task was never noticed and health
    /// stayed 200. The supervisor names the task that died, and how.
    #[tokio::test]
    async fn finding_9_a_dead_task_is_named_with_its_panic() {
        let mut s = Supervisor::default();
        s.spawn("idle", std::future::pending());
        s.spawn("consensus engine", async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            panic!("height overflow");
        });
        assert_eq!(
            s.first_end().await,
            "the consensus engine task panicked: height overflow"
        );

        let mut s = Supervisor::default();
        s.adopt("network", tokio::spawn(async {}));
        assert_eq!(s.first_end().await, "the network task ended");
    }
}
