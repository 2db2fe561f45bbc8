//! The `reprise` command: Reprise's command line over the built-in workloads.

/// Workloads allocate many small strings and vectors; mimalloc serves them faster than the
/// system allocator (wordcount: see the note in README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    if std::env::var_os("REPRISE_HUGE_PAGES").is_none_or(|v| v != "on") {
        without_transparent_huge_pages();
    }
    reprise_cli::main(reprise_workloads::registry())
}

/// mimalloc asks for transparent huge pages on its arenas. On the 2-core development
/// machine that made throughput a lottery: Nexmark q5 at 2 workers ran at 9.2M events/s,
/// or at 6.3M with a fifth of a worker's time in the kernel clearing fresh 2 MiB pages;
/// q18 at 1 worker at 1.5M to 2.9M. Without them runs are steady and smaller, mostly
/// faster, some large-state queries at 2 workers 5-10% slower (README, Performance;
/// bench-results/2026-12-03-2cpu-*). `REPRISE_HUGE_PAGES=on` keeps them. The flag is
/// inherited by the processes `compare` and `cluster` start.
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = nix::sys::prctl::set_thp_disable(true) {
        eprintln!(
            "warning: could not turn transparent huge pages off ({error}); throughput may vary from run to run"
        );
    }
}
