//! The `reprise` command: Reprise's command line over the built-in workloads.

/// Workloads allocate many small strings and vectors; mimalloc serves them faster than the
/// system allocator (wordcount: see the note in README's Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    without_transparent_huge_pages();
    reprise_cli::main(reprise_workloads::registry())
}

/// mimalloc asks for transparent huge pages on its arenas, and purges freed memory in 4 KiB
/// pieces: a worker that frees and allocates again then faults in, and clears, whole 2 MiB
/// pages. In about one run in four that took a fifth of a worker's time (Nexmark q5 at 2
/// workers: 6.3M events/s against 9.2M); without huge pages runs are steady, mostly faster
/// and smaller (bench-results/2026-12-03-2cpu-huge-pages). The flag is inherited by the
/// processes `compare` and `cluster` start.
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = nix::sys::prctl::set_thp_disable(true) {
        eprintln!(
            "warning: could not turn transparent huge pages off ({error}); throughput may vary from run to run"
        );
    }
}
