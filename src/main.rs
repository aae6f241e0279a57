//! The `echo-onnx` command line; see `echo-onnx --help` and the README.

mod cli;

use clap::Parser;
use cli::Cli;

fn main() {
    // First, before any thread exists: an interrupted run must not leave its staging directory behind.
    echo_onnx::output::clean_up_on_signals();
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
