//! The `echo-onnx` command line; see `echo-onnx --help` and the README.

mod cli;

use clap::Parser;
use cli::Cli;

fn main() {
    // First, before any thread exists: an interrupted run must not leave its staging directory behind.
    echo_onnx::output::clean_up_on_signals();
    keep_freed_memory();
    // A closed stdout (`echo-onnx --json ... | head`) ends the process as it ends any Unix filter,
    // by SIGPIPE, instead of the panic Rust's ignored SIGPIPE turns the failed write into. Only the
    // summary goes to stdout, after the output directory is committed.
    // SAFETY: restores the default disposition of one signal before any other thread exists.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match cli::run(&cli) {
        Ok(summary) => {
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&summary).expect("summary serialises"));
            } else if !cli.quiet {
                cli::print_summary(&summary);
            }
        }
        Err(e) => {
            cli::print_error(&e, cli.json);
            std::process::exit(e.kind().exit_code());
        }
    }
}

/// glibc hands freed blocks above 128 KiB back to the kernel (mmap'd blocks, heap trimming), and
/// the kernel zeroes every page again on the next touch. A forecast allocates and frees buffers of a
/// few MB per frame (stencil features, query outputs): on the shipped example that was 0.2 s of page
/// faults in a 0.85 s run. The CLI lives for one run, so it keeps them: blocks up to 32 MiB come from
/// the heap, and up to 256 MiB of freed heap stay mapped. (Hosts that link the library keep their own
/// allocator settings.)
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
