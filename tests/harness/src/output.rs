//! Line capture for the output of child processes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

/// Output lines of a child process, keeping at most `max_lines` of the latest.
pub(crate) struct LogBuffer {
    lines: Mutex<VecDeque<String>>,
    max_lines: usize,
}

impl LogBuffer {
    pub(crate) fn new(max_lines: usize) -> Arc<Self> {
        Arc::new(LogBuffer {
            lines: Mutex::new(VecDeque::new()),
            max_lines,
        })
    }

    pub(crate) fn push(&self, line: String) {
        let mut lines = self.lock();
        if lines.len() == self.max_lines {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub(crate) fn snapshot(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        // A panic while holding the lock cannot leave the queue inconsistent,
        // so a poisoned lock is still safe to use.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads lines from a child pipe into `logs` until end of file. Bytes that are
/// not UTF-8 are replaced, so binary output cannot stop the capture.
pub(crate) fn capture_lines<R>(pipe: R, logs: Arc<LogBuffer>) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    logs.push(text.trim_end_matches(['\n', '\r']).to_owned());
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_keeps_latest() {
        let logs = LogBuffer::new(2);
        logs.push("one".to_owned());
        logs.push("two".to_owned());
        logs.push("three".to_owned());
        assert_eq!(logs.snapshot(), vec!["two", "three"]);
    }
}
