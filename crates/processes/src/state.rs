use nix::unistd::Pid;

/// Whether process `pid` exists: one we may not signal exists too, and so does a zombie.
pub fn exists(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(|pid| crate::owner::alive(Pid::from_raw(pid)))
}

/// Whether process `pid` exists and has not exited (a zombie waiting to be reaped, which
/// holds nothing but its pid, does not count).
pub fn running(pid: u32) -> bool {
    exists(pid) && !imp::is_zombie(pid)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    /// The state is the first field of `/proc/<pid>/stat` after the command in parentheses.
    pub fn is_zombie(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    pub fn is_zombie(pid: u32) -> bool {
        std::process::Command::new("ps")
            .args(["-o", "stat=", "-p", &pid.to_string()])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim_start()
                    .starts_with('Z')
            })
    }
}
