//! The `planted` binary: the whole command line over the jobs with planted bugs.

fn main() -> std::process::ExitCode {
    reprise_cli::main(planted_bugs::registry())
}
