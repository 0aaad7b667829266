//! The pool's lifecycle: one enum, and every transition in [`Lifecycle::on`].
//!
//! ```text
//!            Init                 Started(g)
//!   Uninit ───────▶ Starting(g) ────────────▶ Running(g) ◀────────────────┐
//!     ▲                 │ StartFailed          │    │ WorkerLost(g)         │ Retired
//!     │◀────────────────┘                      │    ▼                       │
//!     │                               Recycle  │  Poisoned(g) ── Recycle ─┐ │
//!     │                                        ▼                          ▼ │
//!     │                          Recycling { old: g, new: Starting(g+1) }   │
//!     │                                        │ Started(g+1)               │
//!     │                                        ▼                            │
//!     │                          Recycling { old: g, new: Serving(g+1) } ───┘
//!     │  Exited                                        (old drains, is dropped,
//!     └──────── Exiting(g) ◀── Exit ── Running(g) / Poisoned(g)   its workers exit)
//! ```
//!
//! A generation being started is held as a pending handle (`P`, see
//! [`PendingRef`]); a worker it loses before it is up is recorded in that
//! handle, which the generation shares once built, so it arrives in
//! `Started(g)` with [`GenerationRef::lost_worker`] set: from `Starting` that
//! leads to `Poisoned(g)`, and a recycle whose new generation arrives so ends
//! `Poisoned` instead of `Running`. Every loss is an `Event::WorkerLost`
//! applied here, whichever state holds the generation.
//!
//! Who serves jobs (see [`Lifecycle::serving`]): the running generation; during
//! a recycle the old one until the new one is up, then the new one (blue/green:
//! a recycle never makes a job fail or wait for the old generation to drain).
//! A recycle that rebuilds a poisoned pool has nothing to serve until the new
//! generation is up, and says so.
//!
//! # Standby
//!
//! A running (or poisoned) pool may hold a *standby*: a generation started
//! ahead and parked, its workers waiting in Rayon's loop, that serves no job.
//! A recycle then only swaps (`Swap`: the standby becomes the recycle's new
//! generation, already `Serving`) instead of starting workers; a recycle
//! that wants another size, or a standby that lost a worker, first takes it
//! out (`DiscardStandby`) and the flow retires it. While a standby starts,
//! a recycle or an exit waits for it (what is left of its start is shorter
//! than a whole start). A recycle always ends with no standby; the flows
//! start the next one afterwards (`flows::prepare_standby`).
//!
//! ```text
//!   Running(g) { standby: None } ── PrepareStandby ──▶ { standby: Starting(s) }
//!        ▲                                                  │ Started(s)
//!        │ DiscardStandby (the flow retires s)              ▼
//!        └────────────────────────────────────────── { standby: Ready(s) }
//!                                                           │ Swap
//!                                    Recycling { old: g, new: Serving(s) }
//! ```
//!
//! Operations that arrive while another is in progress are not errors: the
//! transition answers [`Rejected::Wait`] and the driver waits for (or joins)
//! the operation in progress. Operations that make no sense in a state answer
//! a [`PoolError`] that says why and what to do.

use super::error::PoolError;

/// What the lifecycle needs to know about a generation. `Arc<Generation>` in
/// the pool; a plain number in the transition tests.
pub trait GenerationRef: Clone + std::fmt::Debug {
    fn number(&self) -> u64;
    fn threads(&self) -> usize;
    /// Why the generation lost a worker, if it did.
    fn lost_worker(&self) -> Option<String>;
}

/// A generation being started: its number, and where a worker loss before
/// it is up is recorded (the built generation shares that record).
/// `Arc<PendingGeneration>` in the pool.
pub trait PendingRef: Clone + std::fmt::Debug {
    fn number(&self) -> u64;
    /// Records why a worker of it was lost (the first reason wins).
    fn record_loss(&self, reason: String);
}

#[derive(Clone, Debug, PartialEq)]
pub enum Lifecycle<G, P> {
    Uninit,
    Starting {
        pending: P,
    },
    Running {
        serving: G,
        standby: Standby<G, P>,
    },
    Recycling {
        old: G,
        new: NewGeneration<G, P>,
        cause: RecycleCause,
    },
    Exiting {
        old: G,
    },
    Poisoned {
        dead: G,
        reason: String,
        standby: Standby<G, P>,
    },
}

/// A generation started ahead of a recycle, which serves no job until a
/// recycle swaps it in. Only `Running` and `Poisoned` hold one.
#[derive(Clone, Debug, PartialEq)]
pub enum Standby<G, P> {
    None,
    Starting { pending: P },
    Ready(G),
}

#[derive(Clone, Debug, PartialEq)]
pub enum NewGeneration<G, P> {
    Starting { pending: P },
    Serving(G),
}

#[derive(Clone, Debug, PartialEq)]
pub enum RecycleCause {
    Requested,
    /// Rebuilding after a worker of the old generation died: the old one
    /// must not take jobs.
    Poisoned {
        reason: String,
    },
}

#[derive(Clone, Debug)]
pub enum Event<G, P> {
    Init {
        pending: P,
    },
    Started(G),
    StartFailed {
        generation: u64,
        message: String,
    },
    Recycle {
        pending: P,
    },
    /// Starts a standby (a no-op unless the pool runs without one).
    PrepareStandby {
        pending: P,
    },
    /// A recycle that takes the ready standby as its new generation.
    Swap,
    /// Takes the ready standby out; the flow that applied it retires it
    /// (waits for one that starts; a no-op when there is none).
    DiscardStandby,
    /// The old generation of a recycle has drained, been dropped and its
    /// workers have exited (or were forced, or were abandoned past the bound).
    Retired,
    Exit,
    Exited,
    WorkerLost {
        generation: u64,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Rejected {
    /// Another operation is in progress; wait for it, then try again.
    Wait,
    /// Already done: nothing to change (e.g. exit when not running).
    NoOp,
    Error(PoolError),
}

impl<G: GenerationRef, P: PendingRef> Lifecycle<G, P> {
    /// The transition table. Returns the next state, or why there is none.
    pub fn on(&self, event: Event<G, P>) -> Result<Lifecycle<G, P>, Rejected> {
        use Lifecycle::*;
        let refuse = |error: PoolError| Err(Rejected::Error(error));
        let running = |serving: &G| Running {
            serving: serving.clone(),
            standby: Standby::None,
        };
        let poisoned = |dead: &G, reason: &str| Poisoned {
            dead: dead.clone(),
            reason: reason.to_string(),
            standby: Standby::None,
        };
        if let Some(standby) = self.standby() {
            if let Some(next) = self.on_standby(standby, &event) {
                return next;
            }
        }
        match (self, event) {
            (Uninit, Event::Init { pending }) => Ok(Starting { pending }),
            (Starting { pending }, Event::Started(g)) if g.number() == pending.number() => {
                Ok(match g.lost_worker() {
                    None => running(&g),
                    Some(reason) => poisoned(&g, &reason),
                })
            }
            (
                Starting { pending },
                Event::StartFailed {
                    generation: failed, ..
                },
            ) if failed == pending.number() => Ok(Uninit),

            (
                Running {
                    serving,
                    standby: Standby::None,
                },
                Event::Recycle { pending },
            ) => Ok(Recycling {
                old: serving.clone(),
                new: NewGeneration::Starting { pending },
                cause: RecycleCause::Requested,
            }),
            (
                Poisoned {
                    dead,
                    reason,
                    standby: Standby::None,
                },
                Event::Recycle { pending },
            ) => Ok(Recycling {
                old: dead.clone(),
                new: NewGeneration::Starting { pending },
                cause: RecycleCause::Poisoned {
                    reason: reason.clone(),
                },
            }),
            (
                Recycling {
                    old,
                    new: NewGeneration::Starting { pending },
                    cause,
                },
                Event::Started(g),
            ) if g.number() == pending.number() => Ok(Recycling {
                old: old.clone(),
                new: NewGeneration::Serving(g),
                cause: cause.clone(),
            }),
            (
                Recycling {
                    old,
                    new: NewGeneration::Starting { pending },
                    cause,
                },
                Event::StartFailed {
                    generation: failed, ..
                },
            ) if failed == pending.number() => Ok(match cause {
                RecycleCause::Requested => running(old),
                RecycleCause::Poisoned { reason } => poisoned(old, reason),
            }),
            (
                Recycling {
                    new: NewGeneration::Serving(g),
                    ..
                },
                Event::Retired,
            ) => Ok(match g.lost_worker() {
                None => running(g),
                Some(reason) => poisoned(g, &reason),
            }),

            (
                Running {
                    serving,
                    standby: Standby::None,
                },
                Event::Exit,
            ) => Ok(Exiting {
                old: serving.clone(),
            }),
            (
                Poisoned {
                    dead,
                    standby: Standby::None,
                    ..
                },
                Event::Exit,
            ) => Ok(Exiting { old: dead.clone() }),
            (Exiting { .. }, Event::Exited) => Ok(Uninit),

            (Running { serving, standby }, Event::WorkerLost { generation, reason })
                if serving.number() == generation =>
            {
                Ok(Poisoned {
                    dead: serving.clone(),
                    reason,
                    standby: standby.clone(),
                })
            }
            (
                Recycling {
                    old,
                    new: new @ NewGeneration::Starting { .. },
                    cause: RecycleCause::Requested,
                },
                Event::WorkerLost { generation, reason },
            ) if old.number() == generation => Ok(Recycling {
                old: old.clone(),
                new: new.clone(),
                cause: RecycleCause::Poisoned { reason },
            }),
            // Any other loss changes no state: a retiring generation is being
            // torn down anyway, and one that is starting, standing by, or
            // serving but not `Running` yet, holds the loss itself (its
            // pending handle recorded it, see `holder_of`) and carries it into
            // `Started` and `Retired`; a standby that lost a worker is
            // discarded instead of swapped in.
            (_, Event::WorkerLost { .. }) => Ok(self.clone()),

            // A standby is only ever started while the pool runs; there is
            // none to discard in the other states.
            (_, Event::PrepareStandby { .. }) | (_, Event::DiscardStandby) => Err(Rejected::NoOp),

            // Operations that wait for the one in progress.
            (Starting { .. }, Event::Exit)
            | (Recycling { .. }, Event::Exit)
            | (Recycling { .. }, Event::Recycle { .. })
            | (Exiting { .. }, Event::Exit)
            | (Exiting { .. }, Event::Init { .. }) => Err(Rejected::Wait),
            (Uninit, Event::Exit) => Err(Rejected::NoOp),

            // Operations that make no sense here.
            (Uninit, Event::Recycle { .. }) => refuse(PoolError::NotInitialized),
            (Starting { pending }, Event::Recycle { .. })
            | (Starting { pending }, Event::Init { .. }) => refuse(PoolError::Starting {
                generation: pending.number(),
            }),
            (Exiting { .. }, Event::Recycle { .. }) => refuse(PoolError::Exiting),
            (Running { serving, .. }, Event::Init { .. }) => {
                refuse(PoolError::AlreadyInitialized {
                    generation: serving.number(),
                    threads: serving.threads(),
                })
            }
            (Recycling { old, .. }, Event::Init { .. }) => refuse(PoolError::AlreadyInitialized {
                generation: old.number(),
                threads: old.threads(),
            }),
            (Poisoned { dead, reason, .. }, Event::Init { .. }) => refuse(PoolError::Poisoned {
                generation: dead.number(),
                reason: reason.clone(),
            }),

            // Driver bugs: a completion for an operation that is not running.
            (state, event) => panic!(
                "plonk-wasm pool: event {:?} is not valid in state {}",
                event,
                state.name()
            ),
        }
    }

    /// The transitions of a state that may hold a standby (`Running`,
    /// `Poisoned`) which concern the standby; `None` for every other event.
    fn on_standby(
        &self,
        standby: &Standby<G, P>,
        event: &Event<G, P>,
    ) -> Option<Result<Lifecycle<G, P>, Rejected>> {
        let with = |standby: Standby<G, P>| Ok(self.with_standby(standby));
        Some(match (standby, event) {
            (Standby::None, Event::PrepareStandby { pending }) => with(Standby::Starting {
                pending: pending.clone(),
            }),
            (Standby::Starting { pending }, Event::Started(g))
                if g.number() == pending.number() =>
            {
                with(Standby::Ready(g.clone()))
            }
            (Standby::Starting { pending }, Event::StartFailed { generation, .. })
                if *generation == pending.number() =>
            {
                with(Standby::None)
            }
            (Standby::Ready(_), Event::DiscardStandby) => with(Standby::None),
            (Standby::Ready(ready), Event::Swap) => Ok(match self {
                Lifecycle::Running { serving, .. } => Lifecycle::Recycling {
                    old: serving.clone(),
                    new: NewGeneration::Serving(ready.clone()),
                    cause: RecycleCause::Requested,
                },
                Lifecycle::Poisoned { dead, reason, .. } => Lifecycle::Recycling {
                    old: dead.clone(),
                    new: NewGeneration::Serving(ready.clone()),
                    cause: RecycleCause::Poisoned {
                        reason: reason.clone(),
                    },
                },
                _ => unreachable!("only Running and Poisoned hold a standby"),
            }),
            (_, Event::PrepareStandby { .. }) => Err(Rejected::NoOp),
            // A recycle or an exit waits for a standby that starts: what is
            // left of its start is shorter than a new one. (A ready one is
            // swapped in or discarded by the flow first; see below.)
            (Standby::Starting { .. }, Event::Recycle { .. } | Event::Exit) => Err(Rejected::Wait),
            (Standby::Starting { .. }, Event::DiscardStandby) => Err(Rejected::Wait),
            _ => return None,
        })
    }

    /// This state with its standby replaced (`Running` and `Poisoned` only).
    fn with_standby(&self, standby: Standby<G, P>) -> Lifecycle<G, P> {
        match self {
            Lifecycle::Running { serving, .. } => Lifecycle::Running {
                serving: serving.clone(),
                standby,
            },
            Lifecycle::Poisoned { dead, reason, .. } => Lifecycle::Poisoned {
                dead: dead.clone(),
                reason: reason.clone(),
                standby,
            },
            _ => unreachable!("only Running and Poisoned hold a standby"),
        }
    }

    /// The standby slot, in the states that have one.
    pub fn standby(&self) -> Option<&Standby<G, P>> {
        match self {
            Lifecycle::Running { standby, .. } | Lifecycle::Poisoned { standby, .. } => {
                Some(standby)
            }
            _ => None,
        }
    }

    /// The generation that takes new jobs now, or why none does.
    pub fn serving(&self) -> Result<&G, PoolError> {
        use Lifecycle::*;
        let healthy = |g: &G| match g.lost_worker() {
            None => Ok(()),
            Some(reason) => Err(PoolError::Poisoned {
                generation: g.number(),
                reason,
            }),
        };
        match self {
            Uninit => Err(PoolError::NotInitialized),
            Starting { pending } => Err(PoolError::Starting {
                generation: pending.number(),
            }),
            Running { serving, .. } => healthy(serving).map(|_| serving),
            Recycling {
                new: NewGeneration::Serving(g),
                ..
            } => healthy(g).map(|_| g),
            Recycling {
                old,
                cause: RecycleCause::Requested,
                ..
            } => healthy(old).map(|_| old),
            Recycling {
                new: NewGeneration::Starting { pending },
                cause: RecycleCause::Poisoned { .. },
                ..
            } => Err(PoolError::Rebuilding {
                generation: pending.number(),
            }),
            Exiting { .. } => Err(PoolError::Exiting),
            Poisoned { dead, reason, .. } => Err(PoolError::Poisoned {
                generation: dead.number(),
                reason: reason.clone(),
            }),
        }
    }

    /// The built generations this state holds: the one serving, a recycle's
    /// old and new ones, the one exiting or poisoned, then a ready standby.
    pub fn generations(&self) -> Vec<&G> {
        let mut built = match self {
            Lifecycle::Uninit | Lifecycle::Starting { .. } => vec![],
            Lifecycle::Running { serving, .. } => vec![serving],
            Lifecycle::Recycling { old, new, .. } => match new {
                NewGeneration::Serving(g) => vec![old, g],
                NewGeneration::Starting { .. } => vec![old],
            },
            Lifecycle::Exiting { old } => vec![old],
            Lifecycle::Poisoned { dead, .. } => vec![dead],
        };
        if let Some(Standby::Ready(ready)) = self.standby() {
            built.push(ready);
        }
        built
    }

    /// Who holds generation `number` now, to record a worker loss in it.
    pub fn holder_of(&self, number: u64) -> Option<Holder<'_, G, P>> {
        let pending = match self {
            Lifecycle::Starting { pending }
            | Lifecycle::Recycling {
                new: NewGeneration::Starting { pending },
                ..
            }
            | Lifecycle::Running {
                standby: Standby::Starting { pending },
                ..
            }
            | Lifecycle::Poisoned {
                standby: Standby::Starting { pending },
                ..
            } => Some(pending),
            _ => None,
        };
        if let Some(pending) = pending.filter(|p| p.number() == number) {
            return Some(Holder::Pending(pending));
        }
        self.generations()
            .into_iter()
            .find(|g| g.number() == number)
            .map(Holder::Built)
    }

    /// Name used in health reports and messages (one of [`STATE_NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            Lifecycle::Uninit => "uninit",
            Lifecycle::Starting { .. } => "starting",
            Lifecycle::Running { .. } => "running",
            Lifecycle::Recycling { .. } => "recycling",
            Lifecycle::Exiting { .. } => "exiting",
            Lifecycle::Poisoned { .. } => "poisoned",
        }
    }
}

/// Every name [`Lifecycle::name`] gives, in the order of the variants.
pub const STATE_NAMES: [&str; 6] = [
    "uninit",
    "starting",
    "running",
    "recycling",
    "exiting",
    "poisoned",
];

/// A generation the lifecycle holds: built, or still starting.
pub enum Holder<'a, G, P> {
    Built(&'a G),
    Pending(&'a P),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generation for transition tests: its number, and a lost-worker note.
    #[derive(Clone, Debug, PartialEq)]
    struct Gen(u64, Option<&'static str>);

    impl GenerationRef for Gen {
        fn number(&self) -> u64 {
            self.0
        }
        fn threads(&self) -> usize {
            2
        }
        fn lost_worker(&self) -> Option<String> {
            self.1.map(str::to_string)
        }
    }

    /// A pending generation for transition tests: its number (losses are
    /// recorded by the pool, tested there).
    #[derive(Clone, Debug, PartialEq)]
    struct Pend(u64);

    impl PendingRef for Pend {
        fn number(&self) -> u64 {
            self.0
        }
        fn record_loss(&self, _reason: String) {}
    }

    type State = Lifecycle<Gen, Pend>;

    fn running(n: u64) -> State {
        Lifecycle::Running {
            serving: Gen(n, None),
            standby: Standby::None,
        }
    }

    #[test]
    fn state_names_list_every_variant_once_in_order() {
        let every: Vec<State> = vec![
            State::Uninit,
            State::Starting { pending: Pend(1) },
            running(1),
            State::Recycling {
                old: Gen(1, None),
                new: NewGeneration::Starting { pending: Pend(2) },
                cause: RecycleCause::Requested,
            },
            State::Exiting { old: Gen(1, None) },
            State::Poisoned {
                dead: Gen(1, Some("trap")),
                reason: "trap".into(),
                standby: Standby::None,
            },
        ];
        let names: Vec<&str> = every.iter().map(State::name).collect();
        assert_eq!(names, STATE_NAMES.to_vec());
    }

    #[test]
    fn init_start_recycle_exit_is_the_happy_path() {
        let s = State::Uninit.on(Event::Init { pending: Pend(1) }).unwrap();
        assert_eq!(s, Lifecycle::Starting { pending: Pend(1) });
        let s = s.on(Event::Started(Gen(1, None))).unwrap();
        assert_eq!(s, running(1));
        let s = s.on(Event::Recycle { pending: Pend(2) }).unwrap();
        assert_eq!(
            s.serving().unwrap().0,
            1,
            "old generation serves while the new one starts"
        );
        let s = s.on(Event::Started(Gen(2, None))).unwrap();
        assert_eq!(
            s.serving().unwrap().0,
            2,
            "new generation serves as soon as it is up"
        );
        let s = s.on(Event::Retired).unwrap();
        assert_eq!(s, running(2));
        let s = s.on(Event::Exit).unwrap();
        assert_eq!(s.serving(), Err(PoolError::Exiting));
        assert_eq!(s.on(Event::Exited).unwrap(), State::Uninit);
    }

    #[test]
    fn a_failed_start_returns_to_the_state_before_it() {
        let s = State::Starting { pending: Pend(1) };
        let failed = Event::StartFailed {
            generation: 1,
            message: "boom".into(),
        };
        assert_eq!(s.on(failed).unwrap(), State::Uninit);

        let recycling = running(1).on(Event::Recycle { pending: Pend(2) }).unwrap();
        let failed = Event::StartFailed {
            generation: 2,
            message: "boom".into(),
        };
        assert_eq!(recycling.on(failed).unwrap(), running(1));
    }

    #[test]
    fn operations_during_another_operation_wait_for_it() {
        let recycling = running(1).on(Event::Recycle { pending: Pend(2) }).unwrap();
        assert_eq!(
            recycling.on(Event::Recycle { pending: Pend(3) }),
            Err(Rejected::Wait)
        );
        assert_eq!(recycling.on(Event::Exit), Err(Rejected::Wait));
        let exiting = running(1).on(Event::Exit).unwrap();
        assert_eq!(exiting.on(Event::Exit), Err(Rejected::Wait));
        assert_eq!(
            exiting.on(Event::Init { pending: Pend(2) }),
            Err(Rejected::Wait)
        );
        assert_eq!(
            State::Starting { pending: Pend(1) }.on(Event::Exit),
            Err(Rejected::Wait)
        );
    }

    #[test]
    fn operations_that_make_no_sense_are_clear_errors() {
        let err = |r: Result<State, Rejected>| match r {
            Err(Rejected::Error(e)) => e,
            other => panic!("expected an error, got {:?}", other),
        };
        assert_eq!(
            err(State::Uninit.on(Event::Recycle { pending: Pend(1) })),
            PoolError::NotInitialized
        );
        assert_eq!(
            err(State::Starting { pending: Pend(1) }.on(Event::Recycle { pending: Pend(2) })),
            PoolError::Starting { generation: 1 }
        );
        assert_eq!(
            err(running(3).on(Event::Init { pending: Pend(4) })),
            PoolError::AlreadyInitialized {
                generation: 3,
                threads: 2
            }
        );
        assert_eq!(
            err(running(1)
                .on(Event::Exit)
                .unwrap()
                .on(Event::Recycle { pending: Pend(2) })),
            PoolError::Exiting
        );
        assert_eq!(
            State::Uninit.on(Event::Exit),
            Err(Rejected::NoOp),
            "double exit is a no-op"
        );
    }

    #[test]
    fn a_lost_worker_poisons_its_generation_and_a_recycle_rebuilds_it() {
        let lost = Event::WorkerLost {
            generation: 1,
            reason: "worker 0 exited".into(),
        };
        let poisoned = running(1).on(lost).unwrap();
        assert!(matches!(
            poisoned.serving(),
            Err(PoolError::Poisoned { generation: 1, .. })
        ));

        let rebuilding = poisoned.on(Event::Recycle { pending: Pend(2) }).unwrap();
        assert_eq!(
            rebuilding.serving(),
            Err(PoolError::Rebuilding { generation: 2 })
        );
        let rebuilt = rebuilding
            .on(Event::Started(Gen(2, None)))
            .unwrap()
            .on(Event::Retired)
            .unwrap();
        assert_eq!(rebuilt, running(2));
    }

    #[test]
    fn a_loss_in_the_old_generation_during_a_recycle_stops_it_serving() {
        let recycling = running(1).on(Event::Recycle { pending: Pend(2) }).unwrap();
        let lost = Event::WorkerLost {
            generation: 1,
            reason: "trap".into(),
        };
        let s = recycling.on(lost).unwrap();
        assert_eq!(s.serving(), Err(PoolError::Rebuilding { generation: 2 }));
        let failed = Event::StartFailed {
            generation: 2,
            message: "boom".into(),
        };
        assert!(matches!(s.on(failed).unwrap(), Lifecycle::Poisoned { .. }));
    }

    #[test]
    fn a_new_generation_that_lost_a_worker_ends_its_recycle_poisoned() {
        let s = running(1)
            .on(Event::Recycle { pending: Pend(2) })
            .unwrap()
            .on(Event::Started(Gen(2, Some("worker 1 trapped"))))
            .unwrap();
        assert!(matches!(
            s.serving(),
            Err(PoolError::Poisoned { generation: 2, .. })
        ));
        assert!(matches!(
            s.on(Event::Retired).unwrap(),
            Lifecycle::Poisoned { .. }
        ));
    }

    #[test]
    fn a_generation_that_lost_a_worker_while_starting_comes_up_poisoned() {
        let s = State::Starting { pending: Pend(1) }
            .on(Event::Started(Gen(1, Some("worker 1 trapped"))))
            .unwrap();
        assert_eq!(
            s,
            Lifecycle::Poisoned {
                dead: Gen(1, Some("worker 1 trapped")),
                reason: "worker 1 trapped".into(),
                standby: Standby::None,
            }
        );
        assert_eq!(
            s.serving(),
            Err(PoolError::Poisoned {
                generation: 1,
                reason: "worker 1 trapped".into(),
            })
        );
        let rebuilt = s
            .on(Event::Recycle { pending: Pend(2) })
            .unwrap()
            .on(Event::Started(Gen(2, None)))
            .unwrap()
            .on(Event::Retired)
            .unwrap();
        assert_eq!(rebuilt, running(2));
    }

    #[test]
    fn a_loss_reported_while_a_generation_starts_changes_no_state_by_itself() {
        let lost = || Event::WorkerLost {
            generation: 2,
            reason: "worker 0 exited".into(),
        };
        let starting = State::Starting { pending: Pend(2) };
        assert_eq!(starting.on(lost()).unwrap(), starting);
        let recycling = running(1).on(Event::Recycle { pending: Pend(2) }).unwrap();
        assert_eq!(recycling.on(lost()).unwrap(), recycling);
    }

    fn with_ready_standby(n: u64, s: u64) -> State {
        running(n)
            .on(Event::PrepareStandby { pending: Pend(s) })
            .unwrap()
            .on(Event::Started(Gen(s, None)))
            .unwrap()
    }

    #[test]
    fn a_recycle_swaps_in_the_ready_standby_and_ends_without_one() {
        let ready = with_ready_standby(1, 2);
        assert_eq!(ready.serving().unwrap().0, 1, "a standby serves no job");
        assert_eq!(ready.standby(), Some(&Standby::Ready(Gen(2, None))));
        assert_eq!(
            ready.generations(),
            vec![&Gen(1, None), &Gen(2, None)],
            "the serving generation first, then the standby"
        );
        let swapped = ready.on(Event::Swap).unwrap();
        assert_eq!(
            swapped,
            Lifecycle::Recycling {
                old: Gen(1, None),
                new: NewGeneration::Serving(Gen(2, None)),
                cause: RecycleCause::Requested,
            }
        );
        assert_eq!(swapped.serving().unwrap().0, 2, "serves at once");
        assert_eq!(swapped.on(Event::Retired).unwrap(), running(2));
    }

    #[test]
    fn a_poisoned_pool_is_rebuilt_by_swapping_in_its_standby() {
        let lost = Event::WorkerLost {
            generation: 1,
            reason: "trap".into(),
        };
        let poisoned = with_ready_standby(1, 2).on(lost).unwrap();
        assert!(matches!(
            poisoned,
            Lifecycle::Poisoned {
                standby: Standby::Ready(Gen(2, None)),
                ..
            }
        ));
        let rebuilding = poisoned.on(Event::Swap).unwrap();
        assert_eq!(rebuilding.serving().unwrap().0, 2);
        assert_eq!(rebuilding.on(Event::Retired).unwrap(), running(2));
    }

    #[test]
    fn recycles_and_exits_wait_for_a_starting_standby() {
        let starting = running(1)
            .on(Event::PrepareStandby { pending: Pend(2) })
            .unwrap();
        assert_eq!(
            starting.on(Event::Recycle { pending: Pend(3) }),
            Err(Rejected::Wait)
        );
        assert_eq!(starting.on(Event::Exit), Err(Rejected::Wait));
        assert_eq!(
            starting.on(Event::PrepareStandby { pending: Pend(3) }),
            Err(Rejected::NoOp),
            "one standby at a time"
        );
        let failed = Event::StartFailed {
            generation: 2,
            message: "boom".into(),
        };
        assert_eq!(starting.on(failed).unwrap(), running(1));
    }

    #[test]
    fn a_discarded_standby_leaves_the_pool_as_it_was() {
        let ready = with_ready_standby(1, 2);
        assert_eq!(ready.on(Event::DiscardStandby).unwrap(), running(1));
        assert_eq!(running(1).on(Event::DiscardStandby), Err(Rejected::NoOp));
        assert_eq!(
            State::Uninit.on(Event::PrepareStandby { pending: Pend(1) }),
            Err(Rejected::NoOp),
            "no standby without a running pool"
        );
        assert!(matches!(
            ready.holder_of(2),
            Some(Holder::Built(Gen(2, None)))
        ));
        let starting = running(1)
            .on(Event::PrepareStandby { pending: Pend(2) })
            .unwrap();
        assert!(matches!(
            starting.holder_of(2),
            Some(Holder::Pending(Pend(2)))
        ));
    }

    #[test]
    #[should_panic(expected = "not valid in state running")]
    fn a_recycle_that_ignores_a_ready_standby_is_a_driver_bug() {
        let _ = with_ready_standby(1, 2).on(Event::Recycle { pending: Pend(3) });
    }

    #[test]
    #[should_panic(expected = "not valid in state running")]
    fn a_completion_without_its_operation_is_a_driver_bug() {
        let _ = running(1).on(Event::Exited);
    }
}
