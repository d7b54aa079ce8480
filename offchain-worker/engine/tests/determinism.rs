//! Training gives the same bits on the reference backend and on the CPU backend with 1
//! and 2 threads; re-executing any segment reproduces its checkpoint hash.

mod common;

use common::*;
use decenter_engine::{
	backend::Reference,
	cpu::{Cpu, Isa},
	model::Checkpoint,
	pot::{probe, replay, train, Observer, Quiet, Trace},
	train::Trainer,
};
use decenter_primitives::{
	merkle,
	proof::checkpoint_hash_of_parts,
	spec::{Activation, Fixed9, Loss, Optimizer, Schedule},
};

/// Keeps every checkpoint so that segments can be replayed from them.
#[derive(Default)]
struct Keep(Vec<Checkpoint>);
impl Observer for Keep {
	fn on_checkpoint(
		&mut self,
		_index: u32,
		checkpoint: &Checkpoint,
		_trace: &Trace,
	) -> Result<(), decenter_engine::train::TrainError> {
		self.0.push(checkpoint.clone());
		Ok(())
	}
}

#[test]
fn digits_500_steps_same_hash_on_every_backend_and_thread_count() {
	let data = digits();
	let spec = digits_spec(500, adam());
	let start = Checkpoint::seeded(&spec);
	let (last_1, trace_1) =
		train(Cpu::new(1).unwrap(), &spec, &data, &start, Trace::default(), &mut Quiet).unwrap();
	let (last_2, trace_2) =
		train(Cpu::new(2).unwrap(), &spec, &data, &start, Trace::default(), &mut Quiet).unwrap();
	assert_eq!(trace_1, trace_2, "1 and 2 threads differ");
	assert_eq!(last_1, last_2);
	assert_eq!(trace_1.checkpoints.len(), 11);
	// The same bits in every build (debug, release) and on every machine.
	let final_hash: String = last_1.hash().iter().map(|b| format!("{b:02x}")).collect();
	assert_eq!(final_hash, DIGITS_500_FINAL, "final checkpoint hash of the digits run");
	// The loss goes down: it trains, not just runs.
	let early: f32 = trace_1.losses[..20].iter().sum::<f32>() / 20.0;
	let late: f32 = trace_1.losses[480..].iter().sum::<f32>() / 20.0;
	assert!(late < 0.5 * early, "loss {early} -> {late}");

	// Every instruction set this CPU executes gives the same bits (the AVX2 and portable
	// kernels too, on an AVX-512 machine).
	for isa in Isa::available() {
		for threads in [1, 2] {
			let (last, trace) = train(
				Cpu::with_isa(threads, isa).unwrap(),
				&spec,
				&data,
				&start,
				Trace::default(),
				&mut Quiet,
			)
			.unwrap();
			assert_eq!(trace, trace_1, "{isa}, {threads} threads");
			assert_eq!(last, last_1, "{isa}, {threads} threads");
		}
	}

	// The plain-loop reference agrees on the first checkpoints (all of it is slow in debug).
	let short = digits_spec(100, adam());
	let (ref_last, ref_trace) =
		train(Reference, &short, &data, &start, Trace::default(), &mut Quiet).unwrap();
	let (cpu_last, cpu_trace) =
		train(Cpu::new(2).unwrap(), &short, &data, &start, Trace::default(), &mut Quiet).unwrap();
	assert_eq!(ref_trace, cpu_trace);
	assert_eq!(ref_last.hash(), cpu_last.hash());
	assert_eq!(ref_trace.checkpoints[..], trace_1.checkpoints[..3]);
}

#[test]
fn every_segment_replays_to_its_checkpoint() {
	let data = digits();
	for optimizer in [Optimizer::Sgd, Optimizer::Momentum { momentum: Fixed9(900_000_000) }, adam()]
	{
		let mut spec = digits_spec(230, optimizer);
		spec.checkpoint_interval = 40; // 6 checkpoints, the last one short
		spec.model.activation = Activation::Tanh;
		spec.schedule = Schedule::WarmupLinearDecay { warmup: 20 };
		spec.learning_rate = Fixed9(50_000_000);
		let mut kept = Keep::default();
		let (_, trace) = train(
			Cpu::new(2).unwrap(),
			&spec,
			&data,
			&Checkpoint::seeded(&spec),
			Trace::default(),
			&mut kept,
		)
		.unwrap();
		assert_eq!(trace.checkpoints.len(), 7);
		for (i, from) in kept.0.iter().enumerate().take(6) {
			let next = spec.checkpoint_step(i as u32 + 1);
			let replayed = replay(Cpu::new(1).unwrap(), &spec, &data, from, next).unwrap();
			assert_eq!(replayed.hash(), trace.checkpoints[i + 1], "{optimizer:?} segment {i}");
		}
		// The commitment's root opens at every checkpoint.
		let commitment = trace.commitment(kept.0.last().unwrap());
		for (i, hash) in trace.checkpoints.iter().enumerate() {
			let proof = merkle::prove(&trace.checkpoints, i).unwrap();
			assert!(merkle::verify(&commitment.checkpoint_root, hash, &proof));
		}
		// The final model and state make the last checkpoint, as the chain checks at reveal.
		let last = checkpoint_hash_of_parts(
			u64::from(spec.steps),
			&commitment.final_model,
			&commitment.final_state,
		);
		assert_eq!(trace.checkpoints.last(), Some(&last), "{optimizer:?}");
	}
}

/// A one-step segment's probe step is its end, whose hash the worker published: the probe
/// also hashes the gradients of that step, so copying the end does not answer it.
#[test]
fn a_probe_inside_a_one_step_segment_is_not_its_published_end() {
	let data = digits();
	let mut spec = digits_spec(6, adam());
	spec.checkpoint_interval = 1;
	let from = replay(Cpu::new(1).unwrap(), &spec, &data, &Checkpoint::seeded(&spec), 3).unwrap();
	let (state, claimed) = probe(Cpu::new(1).unwrap(), &spec, &data, &from, 4).unwrap();
	assert_eq!(state.hash(), replay(Reference, &spec, &data, &from, 4).unwrap().hash());
	assert_ne!(claimed, state.hash(), "the published end is not the probe");
	for threads in [2, 1] {
		let (_, again) = probe(Cpu::new(threads).unwrap(), &spec, &data, &from, 4).unwrap();
		assert_eq!(again, claimed, "{threads} threads");
	}
	assert_eq!(probe(Reference, &spec, &data, &from, 4).unwrap().1, claimed);
	// A probe needs a step: none at the segment's start, none past the run.
	assert!(probe(Cpu::new(1).unwrap(), &spec, &data, &from, 3).is_err());
	assert!(probe(Cpu::new(1).unwrap(), &spec, &data, &from, 7).is_err());
}

#[test]
fn resuming_from_a_checkpoint_gives_the_same_result() {
	let data = digits();
	let spec = digits_spec(120, adam());
	let mut kept = Keep::default();
	let (full_last, full_trace) = train(
		Cpu::new(2).unwrap(),
		&spec,
		&data,
		&Checkpoint::seeded(&spec),
		Trace::default(),
		&mut kept,
	)
	.unwrap();
	// A worker stopped after checkpoint 1 resumes with its stored trace.
	let resume_trace = Trace {
		checkpoints: full_trace.checkpoints[..2].to_vec(),
		losses: full_trace.losses[..50].to_vec(),
	};
	let (last, trace) =
		train(Cpu::new(1).unwrap(), &spec, &data, &kept.0[1], resume_trace, &mut Quiet).unwrap();
	assert_eq!(trace, full_trace);
	assert_eq!(last, full_last);
}

/// Stops training after `after` steps, keeping the checkpoints taken until then.
struct StopAfter {
	after: u32,
	steps: u32,
	kept: Keep,
}
impl Observer for StopAfter {
	fn on_step(&mut self, _step: u32, _loss: f32) {
		self.steps += 1;
	}
	fn stop(&self) -> bool {
		self.steps >= self.after
	}
	fn on_checkpoint(
		&mut self,
		index: u32,
		checkpoint: &Checkpoint,
		trace: &Trace,
	) -> Result<(), decenter_engine::train::TrainError> {
		self.kept.on_checkpoint(index, checkpoint, trace)
	}
}

#[test]
fn a_stopped_run_ends_at_once_and_resumes_to_the_same_result() {
	let data = digits();
	let spec = digits_spec(120, adam());
	let start = Checkpoint::seeded(&spec);
	let (full_last, full_trace) =
		train(Cpu::new(1).unwrap(), &spec, &data, &start, Trace::default(), &mut Quiet).unwrap();
	// An order ending at step 70 stops its training there: checkpoints 0 and 1 (step 50) kept.
	let mut stopper = StopAfter { after: 70, steps: 0, kept: Keep::default() };
	let err = train(Cpu::new(1).unwrap(), &spec, &data, &start, Trace::default(), &mut stopper)
		.unwrap_err();
	assert!(matches!(err, decenter_engine::train::TrainError::Stopped { step: 70 }), "{err:?}");
	assert_eq!(stopper.steps, 70);
	assert_eq!(stopper.kept.0.len(), 2);
	let resume = Trace {
		checkpoints: full_trace.checkpoints[..2].to_vec(),
		losses: full_trace.losses[..50].to_vec(),
	};
	let (last, trace) =
		train(Cpu::new(1).unwrap(), &spec, &data, &stopper.kept.0[1], resume, &mut Quiet).unwrap();
	assert_eq!((last, trace), (full_last, full_trace));
}

#[test]
fn mse_regression_is_deterministic_and_learns() {
	// Targets: a fixed linear function of the digits features, learned by MSE.
	let mut data = digits();
	data.targets =
		data.features.chunks(64).flat_map(|x| [x[0] * 0.1 - x[9] * 0.05, x[20] * 0.02]).collect();
	data.target_width = 2;
	let mut spec = digits_spec(200, Optimizer::Momentum { momentum: Fixed9(900_000_000) });
	spec.model.loss = Loss::MeanSquaredError;
	spec.model.outputs = 2;
	spec.learning_rate = Fixed9(1_000_000);
	spec.schedule = Schedule::StepDecay { every: 50, factor: Fixed9(500_000_000) };
	let start = Checkpoint::seeded(&spec);
	let (a, ta) =
		train(Cpu::new(1).unwrap(), &spec, &data, &start, Trace::default(), &mut Quiet).unwrap();
	let (b, tb) = train(Reference, &spec, &data, &start, Trace::default(), &mut Quiet).unwrap();
	assert_eq!(ta, tb);
	assert_eq!(a.hash(), b.hash());
	assert!(ta.losses[199] < ta.losses[0]);
}

#[test]
fn evaluation_reports_accuracy() {
	let data = digits();
	let spec = digits_spec(300, adam());
	let (last, _) = train(
		Cpu::new(2).unwrap(),
		&spec,
		&data,
		&Checkpoint::seeded(&spec),
		Trace::default(),
		&mut Quiet,
	)
	.unwrap();
	let mut trainer = Trainer::new(Cpu::new(1).unwrap(), &spec, &data, &last).unwrap();
	let eval = trainer.evaluate(&data).unwrap();
	assert_eq!(eval.records, 1797);
	assert!(eval.accuracy.unwrap() > 0.9, "{eval:?}");
	let mut reference = Trainer::new(Reference, &spec, &data, &last).unwrap();
	assert_eq!(reference.evaluate(&data).unwrap(), eval);
}

#[test]
fn divergence_is_an_error() {
	// Regression on large targets with a far too large learning rate blows up.
	let mut data = digits();
	data.targets = data.features.chunks(64).map(|x| x[10] * 1000.0).collect();
	data.target_width = 1;
	let mut spec = digits_spec(50, Optimizer::Momentum { momentum: Fixed9(900_000_000) });
	spec.model.loss = Loss::MeanSquaredError;
	spec.model.outputs = 1;
	spec.learning_rate = Fixed9(4_000_000_000);
	let err = train(
		Cpu::new(1).unwrap(),
		&spec,
		&data,
		&Checkpoint::seeded(&spec),
		Trace::default(),
		&mut Quiet,
	)
	.unwrap_err();
	assert!(matches!(err, decenter_engine::train::TrainError::NonFinite { .. }), "{err:?}");
}

/// Checkpoint hash after 500 Adam steps of the digits MLP (seed 42), as computed by the
/// reference-equal CPU backend. A change here is a change of the training semantics.
const DIGITS_500_FINAL: &str = "243f7b795109f549be0073a3bb075eb3c3aa5a2ab1e20976806d20b5b3893e94";
