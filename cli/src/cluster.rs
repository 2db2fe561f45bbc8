//! `reprise cluster`: start a cluster of processes on this machine, for trying one.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::args::ClusterCommand;

/// A started process and its captured standard error.
struct Process {
    child: Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: std::thread::JoinHandle<String>,
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Starts `--processes` processes of the given `run`/`replay` command on loopback ports,
/// waits for them, and fails cleanly (stopping the others) as soon as one fails. Process 0's
/// report, which covers the whole run, is the report.
pub fn cluster(args: ClusterCommand) -> anyhow::Result<ExitCode> {
    if args.processes < 2 {
        bail!("--processes must be at least 2 for a cluster");
    }
    let verb = args.command[0].as_str();
    if verb != "run" && verb != "replay" {
        bail!("`reprise cluster` runs `run ...` or `replay ...`, not `{verb}`");
    }
    if args
        .command
        .iter()
        .any(|a| a == "--processes" || a == "--process" || a == "--hosts")
    {
        bail!("`reprise cluster` chooses --processes, --process and --hosts itself");
    }
    // Free loopback ports: bind to port 0 and let the OS choose. The listeners are held
    // until every port is chosen: one dropped at once lets the OS hand its port out again,
    // and two processes were given the same one.
    let listeners: Vec<std::net::TcpListener> = (0..args.processes)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("finding free loopback ports")?;
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .context("finding free loopback ports")?;
    drop(listeners);
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let exe = std::env::current_exe().context("finding the reprise executable")?;
    let mut processes = Vec::new();
    for process in 0..args.processes {
        let mut command = Command::new(&exe);
        command
            .args(&args.command)
            .args([
                "--processes",
                &args.processes.to_string(),
                "--process",
                &process.to_string(),
            ])
            .args(["--hosts", &hosts.join(",")])
            // The processes stop if this launcher dies (killed with -9, say).
            .env(LAUNCHER_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(if process == 0 {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting process {process}"))?;
        let stderr = drain(child.stderr.take().expect("stderr is piped"));
        let stdout = child.stdout.take().map(drain);
        processes.push(Process {
            child,
            stdout,
            stderr,
        });
    }
    eprintln!(
        "started {} processes on {}",
        args.processes,
        hosts.join(", ")
    );

    let mut failed: Option<(usize, String)> = None;
    // Process 0 exits with 1 when a check (baseline, replay) finds a difference: its report
    // is the cluster's, and so is that exit code.
    let mut mismatch = false;
    let mut running: Vec<bool> = vec![true; processes.len()];
    while running.iter().any(|r| *r) && failed.is_none() {
        for (index, process) in processes.iter_mut().enumerate() {
            if !running[index] {
                continue;
            }
            if let Some(status) = process.child.try_wait().context("waiting for a process")? {
                running[index] = false;
                if index == 0 && status.code() == Some(crate::commands::EXIT_MISMATCH.into()) {
                    mismatch = true;
                } else if !status.success() {
                    failed = Some((
                        index,
                        status
                            .code()
                            .map_or("a signal".to_string(), |c| format!("exit code {c}")),
                    ));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some((index, how)) = failed {
        // Stop the others rather than leave them waiting for the one that died.
        for (other, process) in processes.iter_mut().enumerate() {
            if other != index && running[other] {
                let _ = process.child.kill();
            }
            let _ = process.child.wait();
        }
        let mut message =
            format!("process {index} of the cluster failed ({how}); the others were stopped");
        for (i, process) in processes.into_iter().enumerate() {
            let stderr = process.stderr.join().unwrap_or_default();
            if i == index && !stderr.trim().is_empty() {
                message += &format!("\nprocess {i} said:\n{}", stderr.trim_end());
            }
        }
        bail!(message);
    }
    for process in processes {
        let stderr = process.stderr.join().unwrap_or_default();
        for line in stderr
            .lines()
            .filter(|l| !l.contains("finished; process 0 reports"))
        {
            eprintln!("{line}");
        }
        // Process 0's report, without the progress lines timely prints while connecting.
        if let Some(stdout) = process.stdout {
            let stdout = stdout.join().unwrap_or_default();
            let report: Vec<&str> = stdout
                .lines()
                .filter(|l| !l.starts_with("awaiting connections"))
                .collect();
            crate::commands::print(&(report.join("\n") + "\n"))?;
        }
    }
    Ok(if mismatch {
        ExitCode::from(crate::commands::EXIT_MISMATCH)
    } else {
        ExitCode::SUCCESS
    })
}

/// Set on the processes `reprise cluster` starts: the launcher's process id.
const LAUNCHER_ENV: &str = "REPRISE_CLUSTER_LAUNCHER";

/// In a process started by `reprise cluster`: stops this process soon after the launcher
/// is gone, so that killing the launcher never leaves a cluster running behind it.
pub fn stop_with_launcher() {
    let Some(launcher) = std::env::var(LAUNCHER_ENV)
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
    else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("reprise-launcher-watch".into())
        .spawn(move || {
            loop {
                if std::os::unix::process::parent_id() != launcher {
                    // Not eprintln!: with the launcher gone, standard error may be a
                    // broken pipe, and eprintln! would panic this thread instead.
                    let _ = writeln!(
                        std::io::stderr(),
                        "error: the `reprise cluster` launcher (process {launcher}) is gone; stopping"
                    );
                    std::process::exit(2);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
}
