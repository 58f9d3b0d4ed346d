//! SIGINT and SIGTERM as events, through signal-hook's self-pipe
//! (`signal-hook-mio`) registered with the kernel's poller.
//!
//! Nothing is installed until a session asks (`Ctx::sig`), so a program
//! whose sessions do not watch a signal keeps the operating system's
//! default action. signal-hook cannot give the default back once it has
//! installed its handler, so the first time a signal is watched in the
//! process a "conditional default" action is installed too: whenever no
//! kernel in the process watches that signal any more, it performs the
//! default action (terminating the process) just as if nothing had been
//! installed.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mio::{Interest, Registry};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use crate::event::StateName;
use crate::ids::SessionId;
use crate::kernel::watchers::SIGNAL_TOKEN;

/// A signal a session can watch with `Ctx::sig`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
}

impl Signal {
    const ALL: [Self; 2] = [Self::Int, Self::Term];

    /// POE's name for it: `INT`, `TERM` (ARG0 of the signal event).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int => "INT",
            Self::Term => "TERM",
        }
    }

    /// The operating system's signal number.
    pub const fn number(self) -> i32 {
        match self {
            Self::Int => SIGINT,
            Self::Term => SIGTERM,
        }
    }

    /// The signal with this number, if it is one of ours.
    pub fn from_number(number: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.number() == number)
    }

    const fn index(self) -> usize {
        match self {
            Self::Int => 0,
            Self::Term => 1,
        }
    }
}

/// Per-process bookkeeping: how many kernels watch each signal, and the
/// flag that arms the default action when none does.
struct Process {
    listeners: [usize; 2],
    no_listener: [Option<Arc<AtomicBool>>; 2],
}

static PROCESS: Mutex<Process> = Mutex::new(Process {
    listeners: [0; 2],
    no_listener: [None, None],
});

fn listen(signal: Signal) -> io::Result<()> {
    let mut p = PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    let i = signal.index();
    let flag = match &p.no_listener[i] {
        Some(flag) => Arc::clone(flag),
        None => {
            let flag = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register_conditional_default(signal.number(), Arc::clone(&flag))?;
            p.no_listener[i] = Some(Arc::clone(&flag));
            flag
        }
    };
    p.listeners[i] += 1;
    flag.store(false, Ordering::SeqCst);
    Ok(())
}

fn unlisten(signal: Signal) {
    let mut p = PROCESS.lock().unwrap_or_else(PoisonError::into_inner);
    let i = signal.index();
    p.listeners[i] = p.listeners[i].saturating_sub(1);
    if p.listeners[i] == 0 {
        if let Some(flag) = &p.no_listener[i] {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

/// The signal watchers of one kernel and its signal pipe.
#[derive(Default)]
pub(crate) struct SignalWatch {
    watchers: Vec<(Signal, SessionId, StateName)>,
    source: Option<Signals>,
    installed: Vec<Signal>,
}

impl std::fmt::Debug for SignalWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalWatch")
            .field("watchers", &self.watchers)
            .field("installed", &self.installed)
            .finish_non_exhaustive()
    }
}

impl SignalWatch {
    /// Watch (or re-point) `signal` for a session.
    pub(crate) fn set(&mut self, signal: Signal, session: SessionId, state: StateName) {
        match self
            .watchers
            .iter_mut()
            .find(|(s, id, _)| *s == signal && *id == session)
        {
            Some(entry) => entry.2 = state,
            None => self.watchers.push((signal, session, state)),
        }
    }

    /// Stop watching; `true` if something was removed.
    pub(crate) fn remove(&mut self, signal: Signal, session: SessionId) -> bool {
        let before = self.watchers.len();
        self.watchers
            .retain(|(s, id, _)| !(*s == signal && *id == session));
        before != self.watchers.len()
    }

    /// Forget a session's watchers; `true` if it had any.
    pub(crate) fn remove_session(&mut self, session: SessionId) -> bool {
        let before = self.watchers.len();
        self.watchers.retain(|(_, id, _)| *id != session);
        before != self.watchers.len()
    }

    /// The sessions watching `signal`, in the order they asked.
    pub(crate) fn watchers_of(&self, signal: Signal) -> Vec<(SessionId, StateName)> {
        self.watchers
            .iter()
            .filter(|(s, _, _)| *s == signal)
            .map(|(_, id, state)| (*id, state.clone()))
            .collect()
    }

    /// Is any signal watched (so one may still wake the kernel)?
    pub(crate) fn is_empty(&self) -> bool {
        self.watchers.is_empty()
    }

    /// Install or remove the OS handlers so that exactly the watched
    /// signals reach this kernel.
    pub(crate) fn sync(&mut self, registry: &Registry) -> io::Result<()> {
        let mut wanted: Vec<Signal> = Signal::ALL
            .into_iter()
            .filter(|sig| self.watchers.iter().any(|(s, _, _)| s == sig))
            .collect();
        wanted.dedup();
        if wanted == self.installed {
            return Ok(());
        }
        // The new pipe goes in before the old one goes, so no signal that
        // stays watched is lost in between.
        let new_source = if wanted.is_empty() {
            None
        } else {
            let mut source = Signals::new(wanted.iter().map(|s| s.number()))?;
            if let Some(old) = self.source.as_mut() {
                registry.deregister(old)?;
            }
            registry.register(&mut source, SIGNAL_TOKEN, Interest::READABLE)?;
            Some(source)
        };
        for &sig in &wanted {
            if !self.installed.contains(&sig) {
                listen(sig)?;
            }
        }
        if let (None, Some(old)) = (&new_source, self.source.as_mut()) {
            registry.deregister(old)?;
        }
        for &sig in &self.installed {
            if !wanted.contains(&sig) {
                unlisten(sig);
            }
        }
        self.source = new_source;
        self.installed = wanted;
        Ok(())
    }

    /// The signals that arrived since the last call.
    pub(crate) fn drain(&mut self) -> Vec<Signal> {
        match self.source.as_mut() {
            Some(source) => source.pending().filter_map(Signal::from_number).collect(),
            None => Vec::new(),
        }
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        for &sig in &self.installed {
            unlisten(sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(Signal::Int.name(), "INT");
        assert_eq!(Signal::Term.name(), "TERM");
        assert_eq!(Signal::from_number(SIGTERM), Some(Signal::Term));
        assert_eq!(Signal::from_number(SIGINT), Some(Signal::Int));
        assert_eq!(Signal::from_number(0), None);
    }

    #[test]
    fn watchers_are_per_session_and_signal() {
        let mut w = SignalWatch::default();
        let a = SessionId::from_raw(1);
        let b = SessionId::from_raw(2);
        w.set(Signal::Int, a, StateName::from("int"));
        w.set(Signal::Int, a, StateName::from("int2"));
        w.set(Signal::Int, b, StateName::from("b_int"));
        w.set(Signal::Term, a, StateName::from("term"));
        let names: Vec<String> = w
            .watchers_of(Signal::Int)
            .into_iter()
            .map(|(_, s)| s.to_string())
            .collect();
        assert_eq!(names, ["int2", "b_int"]);
        assert!(w.remove(Signal::Int, b));
        assert!(!w.remove(Signal::Int, b));
        assert!(w.remove_session(a));
        assert!(w.is_empty());
    }
}
