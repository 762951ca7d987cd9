//! Writing results to stdout so that a closed pipe (`flowmap … | head`) ends the command
//! quietly, as it does any Unix tool, instead of panicking the way `println!` does, and so
//! that names from data cannot steer the terminal (control characters are escaped).
//! Every result the CLI prints goes through [`out!`] or [`outln!`].

use std::io::Write as _;

/// The exit status of a command whose reader went away: 128 + SIGPIPE, what a shell
/// reports for a tool the signal ended.
pub const BROKEN_PIPE_STATUS: u8 = 141;

/// Writes `text` to stdout, control characters other than line breaks and tabs escaped
/// (`\u{1b}`), and flushes it. JSON is unchanged: it escapes them itself.
pub fn emit(text: &str) -> std::io::Result<()> {
    let text = crate::terminal::safe_report(text);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether `err` is (caused by) writing to a pipe nobody reads any more.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `print!` that returns the write's error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::emit(&format!($($arg)*))
    };
}

/// `println!` that returns the write's error instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

/// `one` or `many`, whichever fits a count of `n` ("1 commit", "2 commits").
pub(crate) fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
