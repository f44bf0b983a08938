//! What a media file really is, and a small picture of it.
//!
//! A worker job calls this on a local file (an upload, or a URL fetched in full to a temporary path) before it
//! sends the file anywhere:
//!
//! 1. [`sniff`] reads the type from the file's first bytes (never from a URL, a name or a header);
//! 2. [`probe`] reads what a platform's rules are checked against (dimensions as displayed, duration, codecs,
//!    frame rate, bitrate), with `ffprobe` for video and the `image` crate for images, under a time limit and a
//!    pixel limit;
//! 3. [`thumbnail`] makes a JPEG thumbnail of an image, a poster frame of a video, and the metadata-free copy of
//!    a photo that Soku serves instead of an original carrying EXIF or GPS.
//!
//! The external tools are Debian's `ffmpeg` package (`ffprobe` and `ffmpeg`), run as child processes with no
//! standard input, a deadline, and `kill_on_drop`: a file that makes a tool hang costs one timeout, not a worker.
//! Input paths are handed to them with the `file:` protocol prefix and a `file`-only protocol whitelist, so a
//! name starting with `-` is not an option and a playlist inside a file cannot make them fetch anything.
//!
//! Every function here returns [`ProbeError`] for bad input: nothing in this module panics on a file's bytes.

use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;

pub mod probe;
pub mod rendition;
pub mod sniff;
pub mod thumbnail;
pub mod urls;

pub use probe::{Probe, ProbeError, ProbeLimits};
pub use sniff::{Kind, Sniffed};

#[cfg(test)]
pub(crate) mod tests;

/// What a finished tool run left.
pub(crate) struct ToolOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    /// Standard error, at most [`MAX_STDERR`] bytes of it (or the cap given to [`run_tool_capped`]), lossily
    /// decoded.
    pub stderr: String,
    /// Whether the tool wrote more standard error than was kept.
    pub stderr_truncated: bool,
}

/// How much of a tool's standard error is kept (the rest is read and dropped, so the tool never blocks on it).
const MAX_STDERR: usize = 64 * 1024;

/// `file:` + the path, the way the ffmpeg tools are given their input (see the module doc).
pub(crate) fn tool_input(path: &Path) -> OsString {
    let mut arg = OsString::from("file:");
    arg.push(path.as_os_str());
    arg
}

/// Runs `program` with `args`, no stdin, piped stdout and stderr, until it exits or `deadline` passes; then it
/// is killed (and reaped) and [`ProbeError::Timeout`] returned with `budget` as the limit that was exceeded.
/// Standard output past `max_stdout` bytes is an error: no tool we run should write that much.
pub(crate) async fn run_tool(
    program: &Path,
    tool: &'static str,
    args: &[OsString],
    deadline: Instant,
    budget: Duration,
    max_stdout: usize,
) -> Result<ToolOutput, ProbeError> {
    run_tool_capped(
        program, tool, args, deadline, budget, max_stdout, MAX_STDERR,
    )
    .await
}

/// [`run_tool`] keeping up to `max_stderr` bytes of standard error instead of [`MAX_STDERR`], for a caller that
/// reads results from it (ffmpeg's `silencedetect` reports there); [`ToolOutput::stderr_truncated`] says
/// whether any was dropped.
pub(crate) async fn run_tool_capped(
    program: &Path,
    tool: &'static str,
    args: &[OsString],
    deadline: Instant,
    budget: Duration,
    max_stdout: usize,
    max_stderr: usize,
) -> Result<ToolOutput, ProbeError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ProbeError::ToolMissing { tool });
        }
        Err(e) => {
            return Err(ProbeError::Io {
                detail: format!("{tool} could not be started: {e}"),
            });
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = tokio::time::timeout_at(deadline, async {
        tokio::join!(
            read_capped(stdout, max_stdout),
            read_capped(stderr, max_stderr),
            child.wait()
        )
    })
    .await;
    let Ok((stdout, stderr, status)) = finished else {
        // `kill` sends SIGKILL and waits for the process, so nothing is left behind.
        let _ = child.kill().await;
        return Err(ProbeError::Timeout {
            tool,
            seconds: budget.as_secs_f64(),
        });
    };
    let io = |e: std::io::Error| ProbeError::Io {
        detail: format!("talking to {tool} failed: {e}"),
    };
    let status = status.map_err(io)?;
    let (stdout, stdout_overflow) = stdout.map_err(io)?;
    let (stderr, stderr_truncated) = stderr.map_err(io)?;
    if stdout_overflow {
        return Err(ProbeError::Unreadable {
            mime: None,
            detail: format!("{tool} wrote more than {max_stdout} bytes"),
        });
    }
    Ok(ToolOutput {
        status,
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        stderr_truncated,
    })
}

/// Reads a pipe to its end, keeping the first `cap` bytes; the flag says whether there were more.
async fn read_capped<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    cap: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let Some(mut pipe) = pipe else {
        return Ok((Vec::new(), false));
    };
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut overflow = false;
    loop {
        let n = pipe.read(&mut chunk).await?;
        if n == 0 {
            return Ok((kept, overflow));
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..n.min(room)]);
        overflow |= n > room;
    }
}

/// A tool's standard error made fit for an error message: `[demuxer @ 0x…]` prefixes and the input's path
/// removed, lines joined, at most 300 characters.
pub(crate) fn tool_detail(stderr: &str, path: &Path) -> String {
    let path = path.to_string_lossy();
    let mut lines: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let mut line = line.trim();
        if line.starts_with('[')
            && let Some(end) = line.find("] ")
        {
            line = line[end + 2..].trim();
        }
        let line = line
            .replace(&format!("file:{path}"), "the file")
            .replace(path.as_ref(), "the file");
        if !line.is_empty() && !lines.contains(&line) {
            lines.push(line);
        }
    }
    let mut detail = lines.join("; ");
    if detail.chars().count() > 300 {
        detail = detail.chars().take(297).collect::<String>() + "...";
    }
    detail
}
