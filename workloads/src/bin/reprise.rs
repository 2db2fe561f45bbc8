//! The `reprise` command: Reprise's command line over the built-in workloads.

/// Workloads allocate many small strings and vectors; mimalloc serves them faster than the
/// system allocator (wordcount: see the note in README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    reprise_cli::main(reprise_workloads::registry())
}
