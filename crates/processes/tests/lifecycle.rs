//! Real children: stopped in time, their groups with them, and never outliving an owner
//! that was killed outright.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use processes::{Process, Signal, Stop, Stopped, wait_until};

use processes::running;

#[test]
fn a_child_that_exits_on_the_signal_is_not_killed() {
    let mut cmd = Command::new("sleep");
    cmd.arg("1000");
    let mut child = Process::spawn(
        &mut cmd,
        Stop::leader(Signal::SIGTERM, Duration::from_secs(10)),
    )
    .expect("spawn");
    assert!(child.is_running());
    match child.stop().expect("stop") {
        Stopped::Exited(status) => assert!(!status.success()),
        Stopped::Killed => panic!("sleep exits on SIGTERM"),
    }
    assert_eq!(
        child.stop().expect("again"),
        child.stop().expect("and again")
    );
}

/// `sh -c script` under `stop`, where the script starts `sleep 1000 &` and prints its pid.
fn shell_with_grandchild(script: &str, stop: Stop) -> (Process, u32) {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]).stdout(Stdio::piped());
    let mut child = Process::spawn(&mut cmd, stop).expect("spawn");
    let mut line = String::new();
    BufReader::new(child.take_stdout().expect("piped"))
        .read_line(&mut line)
        .expect("grandchild pid");
    (child, line.trim().parse().expect("a pid"))
}

fn gone(pid: u32) {
    wait_until(
        "the grandchild to go",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || (!running(pid)).then_some(()),
    )
    .expect("the signal reached the whole group");
}

#[test]
fn a_child_that_ignores_the_signal_is_killed_with_its_group_after_the_grace() {
    // The shell ignores SIGTERM and waits for a grandchild in the same group.
    let (mut child, grandchild) = shell_with_grandchild(
        "trap '' TERM; sleep 1000 & echo $!; wait",
        Stop::leader(Signal::SIGTERM, Duration::from_millis(300)),
    );
    assert_eq!(child.stop().expect("stop"), Stopped::Killed);
    gone(grandchild);
}

#[test]
fn a_group_stop_reaches_processes_the_child_does_not_stop() {
    // Like chromedriver and Chromium: the child exits, its own child would linger.
    let (mut child, grandchild) = shell_with_grandchild(
        "sleep 1000 & echo $!; wait",
        Stop::group(Signal::SIGTERM, Duration::from_secs(10)),
    );
    assert!(matches!(child.stop().expect("stop"), Stopped::Exited(_)));
    gone(grandchild);
}

const ROLE: &str = "PROCESSES_TEST_ROLE";

/// Run twice: as the test, and (with ROLE set) as the owner that the test kills.
#[test]
fn a_killed_owner_leaves_no_child_running() {
    if std::env::var_os(ROLE).is_some() {
        let mut cmd = Command::new("sleep");
        cmd.arg("1000");
        let child = Process::spawn(
            &mut cmd,
            Stop::leader(Signal::SIGTERM, Duration::from_secs(5)),
        )
        .expect("spawn");
        println!("child {}", child.id());
        std::thread::sleep(Duration::from_secs(1000));
        return;
    }
    let mut owner = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "a_killed_owner_leaves_no_child_running",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, "owner")
        .stdout(Stdio::piped())
        .spawn()
        .expect("owner");
    let stdout = BufReader::new(owner.stdout.take().expect("piped"));
    let child: u32 = stdout
        .lines()
        .map_while(Result::ok)
        // libtest may print `test <name> ... ` before it on the same line.
        .find_map(|l| {
            l.rsplit_once("child ")
                .and_then(|(_, p)| p.trim().parse().ok())
        })
        .expect("the owner names its child");
    assert!(running(child));
    let ticket = processes::owner::dir().join(format!("{}-{child}", owner.id()));
    assert!(ticket.exists(), "{} names the child", ticket.display());

    owner.kill().expect("kill -9 the owner");
    owner.wait().expect("reap the owner");
    // Linux: the parent-death signal. Elsewhere: the sweep any later start runs.
    processes::owner::sweep();
    wait_until(
        "the orphan to stop",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || (!running(child)).then_some(()),
    )
    .expect("no child outlives its owner");
    processes::owner::sweep();
    assert!(!ticket.exists(), "the stale ticket is swept");
}

#[test]
fn programs_ports_and_deadlines() {
    assert!(processes::find_program("sh").is_some_and(|p| p.is_file()));
    assert!(processes::find_program("no-such-program-here").is_none());
    let port = processes::free_port().expect("a port");
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("it is free");
    let err = wait_until(
        "never",
        Duration::from_millis(50),
        Duration::from_millis(10),
        || None::<()>,
    )
    .expect_err("times out");
    assert_eq!(err.to_string(), "never: not within 0.05 s");
}
