//! A handler's (or hook's) whole process group dies with its worker, even when the worker is
//! SIGKILLed (issue 9 item 1).
//!
//! `PR_SET_PDEATHSIG` on the handler alone is not enough: Linux clears it on fork, so a shell
//! handler's children (`sleep`, `python`, ...) would outlive the worker and run beside the
//! recovered attempt. So each worker process has one *reaper*: a small process, forked (not
//! exec'd) at the first handler start, that reads the process groups of running handlers
//! from a pipe whose write end only the worker holds. When the worker dies, however it dies,
//! the kernel closes that end; the reaper reads end-of-file, SIGKILLs every group still
//! registered and exits. The worker registers a handler's group right after starting it
//! and removes it once it has reaped the handler and is done signalling its group, so the
//! reaper never signals a group id that could have been reused. Per attempt this costs two
//! 4-byte writes to a pipe, not a process.
//!
//! The handler keeps `PDEATHSIG` as well: it covers the moment between its start and its
//! registration, and a reaper killed by someone else. A descendant that leaves its group
//! (`setsid`, `setpgid`) escapes, as it escapes every process-group signal.
//!
//! The reaper lives in a fork of a multi-threaded process, where only async-signal-safe
//! calls are allowed: it runs raw system calls only, never allocates, never returns.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Most process groups a reaper tracks at once (concurrency is at most 10,000).
const MAX_GROUPS: usize = 16_384;

/// The write end of the reaper's pipe, once started (`None`: it could not be started).
static REAPER: Mutex<Option<Option<OwnedFd>>> = Mutex::new(None);

/// A handler's process group, registered with the reaper until dropped.
#[derive(Debug)]
pub(super) struct Registered(i32);

impl Registered {
    /// Registers the group led by `pid` (the handler, started with `process_group(0)`).
    pub(super) fn new(pid: Option<u32>) -> Registered {
        let pgid = pid.map_or(0, |p| p as i32);
        if pgid > 0 {
            send(pgid);
        }
        Registered(pgid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if self.0 > 0 {
            send(-self.0);
        }
    }
}

/// Tells the reaper about a group (`> 0`) or that it is done (`< 0`).
fn send(message: i32) {
    let mut reaper = REAPER.lock().unwrap();
    let fd = reaper.get_or_insert_with(|| match start() {
        Ok(fd) => Some(fd),
        Err(e) => {
            crate::log::warn(
                crate::log::Ctx::default(),
                format_args!(
                "cannot start the handler reaper ({e}): a SIGKILLed worker may leave handler children running"
            ),
            );
            None
        }
    });
    if let Some(fd) = fd {
        let bytes = message.to_ne_bytes();
        // SAFETY: a plain write of 4 bytes (atomic on a pipe). The pipe is non-blocking: if
        // the reaper were stuck, losing a message beats stalling the worker.
        unsafe {
            libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
        }
    }
}

/// Forks the reaper; returns the write end of its pipe.
fn start() -> io::Result<OwnedFd> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, owned from here on. Close-on-exec: no handler
    // may hold the write end, or the reaper would never see end-of-file.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let (r, w) = (read.as_raw_fd(), write.as_raw_fd());
    // The program is never run: the reaper stays in the fork, and closing its descriptors
    // (the spawner's exec-status pipe among them) tells `spawn` that all went well.
    let mut cmd = Command::new("/bin/true");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own group: Ctrl-C in the worker's terminal is for the worker.
        .process_group(0);
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls.
    unsafe {
        cmd.pre_exec(move || run_reaper(r));
    }
    // Never waited for: it exits only after the worker is gone.
    drop(cmd.spawn()?);
    drop(read);
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(w, libc::F_GETFL);
        libc::fcntl(w, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    Ok(write)
}

/// The reaper's whole life.
fn run_reaper(read: RawFd) -> ! {
    // SAFETY: raw system calls on descriptors inherited from the worker; no allocation.
    unsafe {
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Keep only the pipe's read end (as fd 0). Everything else inherited (its own write
        // end, handlers' pipes, the worker's sockets, the exec-status pipe) must close now.
        libc::dup2(read, 0);
        close_from(1);
        let mut groups = [0i32; MAX_GROUPS];
        let mut count = 0;
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::read(0, buf.as_mut_ptr().cast(), buf.len());
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                break; // end-of-file: the worker is gone
            }
            // Every message is one atomic 4-byte write, so reads hold whole messages.
            for chunk in buf[..n as usize].chunks_exact(4) {
                let m = i32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                if m > 0 && count < MAX_GROUPS {
                    groups[count] = m;
                    count += 1;
                } else if let Some(i) = groups[..count].iter().position(|&g| g == -m) {
                    count -= 1;
                    groups[i] = groups[count];
                }
            }
        }
        for &pgid in &groups[..count] {
            libc::kill(-pgid, libc::SIGKILL);
        }
        libc::_exit(0)
    }
}

/// Closes every descriptor from `first` on (`close_range` since Linux 5.9, else one by one).
unsafe fn close_from(first: libc::c_uint) {
    if libc::syscall(libc::SYS_close_range, first, libc::c_uint::MAX, 0) == 0 {
        return;
    }
    let mut limit: libc::rlimit = std::mem::zeroed();
    let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
        limit.rlim_cur.min(65_536) as libc::c_int
    } else {
        1024
    };
    for fd in first as libc::c_int..max {
        libc::close(fd);
    }
}
