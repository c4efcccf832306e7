//! Standard output for the command line: `out!` and `outln!` write like `print!` and
//! `println!`, but a closed stdout (`nnspec ir spec.nn | head`) is a normal end, not an error:
//! the process exits at once with status 0 and says nothing. Any other write error is
//! reported on stderr with status 1.

use std::io::Write;

/// Writes formatted text to stdout (see the module docs for a closed stdout).
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `print!` to stdout, ending quietly when the reader has gone away.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

/// `println!` to stdout, ending quietly when the reader has gone away.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}
