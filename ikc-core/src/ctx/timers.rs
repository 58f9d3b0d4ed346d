//! Timers: POE's `delay`, `alarm` and their `_add`/`_set`/`_adjust`/`_remove`
//! relatives.
//!
//! Delays count from [`Ctx::now`], the time of the current turn of the
//! loop, so a test driving the kernel with a fake clock
//! (`Kernel::run_one_at`) sees exactly the deadlines it expects. An alarm
//! keeps its session alive until it fires or is removed; when it fires its
//! state is queued like a post, with the session itself as SENDER.

use std::panic::Location;
use std::time::{Duration, Instant};

use ikc_freezer::Value;

use crate::ctx::Ctx;
use crate::event::StateName;
use crate::ids::AlarmId;
use crate::kernel::alarms::Alarm;

/// An alarm taken out of the queue by `alarm_remove` (POE returns its name,
/// time and arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct RemovedAlarm {
    /// Its id.
    pub id: AlarmId,
    /// The state it would have invoked.
    pub state: StateName,
    /// When it would have fired.
    pub when: Instant,
    /// Its arguments.
    pub args: Vec<Value>,
}

impl Ctx<'_> {
    /// Set a delay, first removing this session's pending alarms for the
    /// same state (POE's `delay`).
    #[track_caller]
    pub fn delay(
        &mut self,
        state: impl Into<StateName>,
        after: Duration,
        args: Vec<Value>,
    ) -> AlarmId {
        let state = state.into();
        self.delay_clear(state.as_str());
        let when = self.core.now + after;
        self.schedule(state, when, args, Location::caller())
    }

    /// Add a delay, keeping other alarms for the same state (POE's
    /// `delay_add`).
    #[track_caller]
    pub fn delay_add(
        &mut self,
        state: impl Into<StateName>,
        after: Duration,
        args: Vec<Value>,
    ) -> AlarmId {
        let when = self.core.now + after;
        self.schedule(state.into(), when, args, Location::caller())
    }

    /// The same as [`delay_add`](Self::delay_add), under POE's name for the
    /// variant that returns the id.
    #[track_caller]
    pub fn delay_set(
        &mut self,
        state: impl Into<StateName>,
        after: Duration,
        args: Vec<Value>,
    ) -> AlarmId {
        let when = self.core.now + after;
        self.schedule(state.into(), when, args, Location::caller())
    }

    /// Set an alarm at a time, first removing this session's pending alarms
    /// for the same state (POE's `alarm`).
    #[track_caller]
    pub fn alarm(
        &mut self,
        state: impl Into<StateName>,
        when: Instant,
        args: Vec<Value>,
    ) -> AlarmId {
        let state = state.into();
        self.delay_clear(state.as_str());
        self.schedule(state, when, args, Location::caller())
    }

    /// Add an alarm, keeping other alarms for the same state (POE's
    /// `alarm_add`).
    #[track_caller]
    pub fn alarm_add(
        &mut self,
        state: impl Into<StateName>,
        when: Instant,
        args: Vec<Value>,
    ) -> AlarmId {
        self.schedule(state.into(), when, args, Location::caller())
    }

    /// The same as [`alarm_add`](Self::alarm_add), under POE's name for the
    /// variant that returns the id.
    #[track_caller]
    pub fn alarm_set(
        &mut self,
        state: impl Into<StateName>,
        when: Instant,
        args: Vec<Value>,
    ) -> AlarmId {
        self.schedule(state.into(), when, args, Location::caller())
    }

    fn schedule(
        &mut self,
        state: StateName,
        when: Instant,
        args: Vec<Value>,
        at: &'static Location<'static>,
    ) -> AlarmId {
        let id = self.core.alarms.insert(Alarm {
            when,
            slot: self.slot,
            session: self.me,
            state,
            args,
            caller_state: Some(self.state.clone()),
            file: at.file(),
            line: at.line(),
        });
        self.slot_mut().alarms.add(id);
        id
    }

    /// This session's pending alarm with this id.
    fn my_alarm(&self, id: AlarmId) -> Option<&Alarm> {
        self.core.alarms.get(id).filter(|a| a.session == self.me)
    }

    /// Take one of this session's alarms out of the queue.
    fn take_alarm(&mut self, id: AlarmId) -> Option<RemovedAlarm> {
        self.my_alarm(id)?;
        let alarm = self.core.alarms.remove(id)?;
        let me = self.me;
        let alarms = &self.core.alarms;
        let slot = self
            .core
            .sessions
            .get_mut(self.slot, me)
            .expect("the running session exists while its handler runs");
        if slot.alarms.gone() {
            slot.alarms
                .prune(|id| alarms.get(id).is_some_and(|a| a.session == me));
        }
        Some(RemovedAlarm {
            id,
            state: alarm.state,
            when: alarm.when,
            args: alarm.args,
        })
    }

    /// This session's live alarm ids.
    fn my_alarm_ids(&self) -> Vec<AlarmId> {
        self.slot()
            .alarms
            .ids()
            .iter()
            .copied()
            .filter(|&id| self.my_alarm(id).is_some())
            .collect()
    }

    /// Move one of this session's alarms later by `delta` (POE's
    /// `alarm_adjust` with a positive delta). Returns the new time, or
    /// `None` if the alarm is not pending or not this session's.
    pub fn alarm_adjust(&mut self, id: AlarmId, delta: Duration) -> Option<Instant> {
        let when = self.my_alarm(id)?.when.checked_add(delta)?;
        self.alarm_reschedule(id, when)
    }

    /// Move one of this session's alarms earlier by `delta` (POE's
    /// `alarm_adjust` with a negative delta).
    pub fn alarm_adjust_earlier(&mut self, id: AlarmId, delta: Duration) -> Option<Instant> {
        let when = self.my_alarm(id)?.when.checked_sub(delta)?;
        self.alarm_reschedule(id, when)
    }

    /// Move one of this session's alarms to `from_now` after the current
    /// turn (POE's `delay_adjust`).
    pub fn delay_adjust(&mut self, id: AlarmId, from_now: Duration) -> Option<Instant> {
        let when = self.core.now.checked_add(from_now)?;
        self.alarm_reschedule(id, when)
    }

    /// Move one of this session's alarms to a time.
    pub fn alarm_reschedule(&mut self, id: AlarmId, when: Instant) -> Option<Instant> {
        self.my_alarm(id)?;
        self.core.alarms.reschedule(id, when)
    }

    /// Remove one of this session's alarms; returns it, or `None` if it is
    /// not pending or not this session's.
    pub fn alarm_remove(&mut self, id: AlarmId) -> Option<RemovedAlarm> {
        self.take_alarm(id)
    }

    /// Remove every alarm of this session; returns them, earliest first.
    pub fn alarm_remove_all(&mut self) -> Vec<RemovedAlarm> {
        let mut removed: Vec<RemovedAlarm> = self
            .my_alarm_ids()
            .into_iter()
            .filter_map(|id| self.take_alarm(id))
            .collect();
        removed.sort_by_key(|r| (r.when, r.id));
        removed
    }

    /// Remove this session's alarms for one state (POE's `delay($state)`
    /// without a time); returns how many there were.
    pub fn delay_clear(&mut self, state: &str) -> usize {
        let matching: Vec<AlarmId> = self
            .my_alarm_ids()
            .into_iter()
            .filter(|&id| self.my_alarm(id).is_some_and(|a| a.state == state))
            .collect();
        for &id in &matching {
            self.take_alarm(id);
        }
        matching.len()
    }

    /// This session's pending alarms: id, state and time, earliest first.
    pub fn alarms(&self) -> Vec<(AlarmId, StateName, Instant)> {
        let mut list: Vec<_> = self
            .my_alarm_ids()
            .into_iter()
            .filter_map(|id| {
                let a = self.my_alarm(id)?;
                Some((id, a.state.clone(), a.when))
            })
            .collect();
        list.sort_by_key(|(id, _, when)| (*when, *id));
        list
    }
}
