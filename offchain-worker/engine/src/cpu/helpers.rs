//! The CPU backend's helper threads. A training step hands work to them several times a
//! millisecond (each large product, each large optimizer update), so they wait for the next
//! hand-over spinning for a while before they sleep, as OpenMP runtimes do: waking a sleeping
//! thread costs tens of microseconds (far more on a VM), which measured as much as the second
//! core gained. The caller always takes a part itself.

use std::{
	panic::{self, AssertUnwindSafe},
	sync::{
		atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::SeqCst},
		Arc, Condvar, Mutex,
	},
	thread::{self, JoinHandle},
	time::{Duration, Instant},
};

/// How long an idle helper spins before it sleeps.
const SPIN: Duration = Duration::from_millis(2);

/// The helper threads of one backend.
pub struct Helpers {
	shared: Arc<Shared>,
	threads: Vec<JoinHandle<()>>,
	/// One hand-over at a time (the backend may be shared between threads).
	caller: Mutex<()>,
}

/// A hand-over: part `i` of `parts` is `work(i)`.
struct Job<'a> {
	work: &'a (dyn Fn(usize) + Sync),
	parts: usize,
}

struct Shared {
	/// Bumped for every hand-over; a helper runs one part per generation it sees.
	generation: AtomicUsize,
	/// The current [`Job`], on the caller's stack; valid while `pending > 0`.
	job: AtomicPtr<()>,
	/// Helpers that have not yet finished with the current job.
	pending: AtomicUsize,
	/// Whether a part panicked.
	panicked: AtomicBool,
	sleeping: AtomicUsize,
	shutdown: AtomicBool,
	lock: Mutex<()>,
	wake: Condvar,
}

impl Helpers {
	/// Starts `count` helper threads named `decenter-cpu-1 …`.
	pub fn new(count: usize) -> std::io::Result<Self> {
		let shared = Arc::new(Shared {
			generation: AtomicUsize::new(0),
			job: AtomicPtr::new(std::ptr::null_mut()),
			pending: AtomicUsize::new(0),
			panicked: AtomicBool::new(false),
			sleeping: AtomicUsize::new(0),
			shutdown: AtomicBool::new(false),
			lock: Mutex::new(()),
			wake: Condvar::new(),
		});
		let mut threads = Vec::with_capacity(count);
		for index in 1..=count {
			let own = shared.clone();
			let spawned = thread::Builder::new()
				.name(format!("decenter-cpu-{index}"))
				.spawn(move || helper(&own, index));
			match spawned {
				Ok(handle) => threads.push(handle),
				Err(e) => {
					// Stop the ones already started before reporting.
					drop(Helpers { shared, threads, caller: Mutex::new(()) });
					return Err(e);
				},
			}
		}
		Ok(Helpers { shared, threads, caller: Mutex::new(()) })
	}

	/// Runs `work(i)` for every `i < parts`: part 0 and any beyond the helpers on the calling
	/// thread, part `i` on helper `i`; returns when all are done. A panicking part panics here.
	/// A part must not call `run` on the same helpers: it would wait for itself.
	pub fn run(&self, parts: usize, work: &(dyn Fn(usize) + Sync)) {
		if parts <= 1 || self.threads.is_empty() {
			(0..parts).for_each(work);
			return;
		}
		let _one_at_a_time = self.caller.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
		let shared = &*self.shared;
		let job = Job { work, parts };
		shared.job.store(&job as *const Job<'_> as *mut (), SeqCst);
		shared.pending.store(self.threads.len(), SeqCst);
		shared.generation.fetch_add(1, SeqCst);
		if shared.sleeping.load(SeqCst) > 0 {
			let _guard = shared.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
			shared.wake.notify_all();
		}
		let mine = panic::catch_unwind(AssertUnwindSafe(|| {
			work(0);
			(self.threads.len() + 1..parts).for_each(work);
		}));
		// `job` lives on this stack: wait until no helper can still read it.
		let mut spins = 0u32;
		while shared.pending.load(SeqCst) > 0 {
			spins += 1;
			if spins < 1 << 16 {
				std::hint::spin_loop();
			} else {
				thread::yield_now();
			}
		}
		let helper_panicked = shared.panicked.swap(false, SeqCst);
		if let Err(payload) = mine {
			panic::resume_unwind(payload);
		}
		if helper_panicked {
			panic!("a CPU helper thread panicked in its part of the work");
		}
	}
}

impl Drop for Helpers {
	fn drop(&mut self) {
		self.shared.shutdown.store(true, SeqCst);
		{
			let _guard = self.shared.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
			self.shared.wake.notify_all();
		}
		for handle in self.threads.drain(..) {
			let _ = handle.join();
		}
	}
}

/// Helper `index`'s loop: wait for a generation, run its part, report done.
fn helper(shared: &Shared, index: usize) {
	let mut seen = 0;
	loop {
		let idle_since = Instant::now();
		let mut spins = 0u32;
		loop {
			let generation = shared.generation.load(SeqCst);
			if generation != seen {
				seen = generation;
				break;
			}
			if shared.shutdown.load(SeqCst) {
				return;
			}
			spins = spins.wrapping_add(1);
			if !spins.is_multiple_of(64) || idle_since.elapsed() < SPIN {
				std::hint::spin_loop();
				continue;
			}
			let mut guard = shared.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
			shared.sleeping.fetch_add(1, SeqCst);
			while shared.generation.load(SeqCst) == seen && !shared.shutdown.load(SeqCst) {
				guard = shared.wake.wait(guard).unwrap_or_else(|poisoned| poisoned.into_inner());
			}
			shared.sleeping.fetch_sub(1, SeqCst);
		}
		// SAFETY: the caller stored the job before bumping the generation and keeps it alive
		// until `pending` reaches 0, which needs this helper's decrement below.
		let job = unsafe { &*(shared.job.load(SeqCst) as *const Job<'_>) };
		if index < job.parts {
			let result = panic::catch_unwind(AssertUnwindSafe(|| (job.work)(index)));
			if result.is_err() {
				shared.panicked.store(true, SeqCst);
			}
		}
		shared.pending.fetch_sub(1, SeqCst);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_part_runs_once_with_more_or_fewer_parts_than_threads() {
		let helpers = Helpers::new(2).unwrap();
		for parts in [0, 1, 2, 3, 7] {
			let counts: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
			helpers.run(parts, &|i| {
				counts[i].fetch_add(1, SeqCst);
			});
			assert!(counts.iter().all(|c| c.load(SeqCst) == 1), "{parts} parts");
		}
	}

	#[test]
	fn sleeping_helpers_wake_for_the_next_hand_over() {
		let helpers = Helpers::new(1).unwrap();
		thread::sleep(SPIN * 3);
		let ran = AtomicUsize::new(0);
		helpers.run(2, &|_| {
			ran.fetch_add(1, SeqCst);
		});
		assert_eq!(ran.load(SeqCst), 2);
	}

	#[test]
	fn a_panicking_part_is_reported_to_the_caller_and_the_helpers_go_on() {
		let helpers = Helpers::new(1).unwrap();
		let result = panic::catch_unwind(AssertUnwindSafe(|| {
			helpers.run(2, &|i| assert!(i != 1, "part 1 fails"));
		}));
		assert!(result.is_err());
		let ran = AtomicUsize::new(0);
		helpers.run(2, &|_| {
			ran.fetch_add(1, SeqCst);
		});
		assert_eq!(ran.load(SeqCst), 2);
	}
}
