//! Training throughput of the CPU engine (samples per second, one optimizer step per
//! iteration), GEMM throughput (FLOP/s) against the measured FMA peak of one core, and the
//! cost of a validator's re-execution. Every case runs on each vector instruction set this
//! CPU executes (`avx512`, `avx2`), as `CASE/ISA_Tt`. `benches/compare.sh` runs this and the
//! PyTorch side and writes the tables of BENCHMARKS.md.
//!
//! cargo bench -p decenter-engine --bench training

use std::{hint::black_box, path::PathBuf, time::Duration};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use decenter_engine::{
	cpu::{Cpu, Isa},
	data::{load_csv, Targets},
	model::Checkpoint,
	pot::{replay, train, Quiet, Trace},
	rng::{Purpose, Stream},
	train::{Dataset, Trainer},
};
use decenter_primitives::spec::{
	Activation, Fixed9, Initialization, Loss, ModelSpec, Optimizer, Schedule, TrainingSpec,
};

fn adam() -> Optimizer {
	Optimizer::Adam { beta1: Fixed9(900_000_000), beta2: Fixed9(999_000_000), epsilon: Fixed9(10) }
}

fn spec(widths: &[u32], batch: u32, steps: u32, interval: u32) -> TrainingSpec {
	TrainingSpec {
		model: ModelSpec {
			inputs: widths[0],
			hidden: widths[1..widths.len() - 1].to_vec().try_into().expect("few layers"),
			outputs: widths[widths.len() - 1],
			activation: Activation::Relu,
			loss: Loss::SoftmaxCrossEntropy,
		},
		optimizer: adam(),
		learning_rate: Fixed9(1_000_000),
		schedule: Schedule::Constant,
		batch_size: batch,
		steps,
		seed: 42,
		checkpoint_interval: interval,
		initialization: Initialization::Seeded,
	}
}

fn digits() -> Dataset {
	let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/digits.csv");
	load_csv(&path, Targets::Class).expect("examples/data/digits.csv loads")
}

/// 60,000 MNIST-shaped records: 784 features in [0, 1), labels 0..9.
fn synthetic_mnist() -> Dataset {
	let records = 60_000;
	let mut stream = Stream::new(7, Purpose::Init, 0);
	let features = (0..records * 784).map(|_| stream.next_unit()).collect();
	let targets = (0..records).map(|i| (i % 10) as f32).collect();
	Dataset { features, targets, records, feature_width: 784, target_width: 1 }
}

/// The vector instruction sets this CPU executes (the portable kernel is no target).
fn vector_isas() -> Vec<Isa> {
	Isa::available().into_iter().filter(|isa| *isa != Isa::Portable).collect()
}

fn training_throughput(c: &mut Criterion) {
	let cases = [
		("digits_64-128-10_b32", spec(&[64, 128, 10], 32, 1 << 30, 1 << 30), digits()),
		(
			"mnist_784-256-256-10_b128",
			spec(&[784, 256, 256, 10], 128, 1 << 30, 1 << 30),
			synthetic_mnist(),
		),
	];
	let mut group = c.benchmark_group("train_step");
	group.measurement_time(Duration::from_secs(5));
	for (name, spec, data) in &cases {
		group.throughput(Throughput::Elements(spec.batch_size as u64));
		for isa in vector_isas() {
			for threads in [1, 2] {
				let cpu = Cpu::with_isa(threads, isa).expect("threads");
				let mut trainer =
					Trainer::new(cpu, spec, data, &Checkpoint::seeded(spec)).expect("trainer");
				group.bench_function(BenchmarkId::new(*name, format!("{isa}_{threads}t")), |b| {
					b.iter(|| black_box(trainer.train_step().expect("step")))
				});
			}
		}
	}
	group.finish();
}

fn gemm_throughput(c: &mut Criterion) {
	let mut group = c.benchmark_group("gemm");
	group.measurement_time(Duration::from_secs(5));
	for (rows, red, cols) in [(128, 784, 256), (512, 512, 512)] {
		let mut stream = Stream::new(1, Purpose::Init, 1);
		let a: Vec<f32> = (0..rows * red).map(|_| stream.next_unit()).collect();
		let b: Vec<f32> = (0..red * cols).map(|_| stream.next_unit()).collect();
		let mut out = vec![0.0; rows * cols];
		group.throughput(Throughput::Elements(2 * (rows * red * cols) as u64));
		for isa in vector_isas() {
			for threads in [1, 2] {
				let cpu = Cpu::with_isa(threads, isa).expect("threads");
				group.bench_function(
					BenchmarkId::new(format!("{rows}x{red}x{cols}"), format!("{isa}_{threads}t")),
					|bench| bench.iter(|| cpu.gemm(&a, red, 1, &b, &mut out, rows, red, cols)),
				);
			}
		}
	}
	group.finish();
}

/// The machine's f32 FMA throughput on one core for each vector set: independent
/// accumulators (16 zmm, or 10 ymm of AVX2's 16 registers), fused multiply-adds only. The
/// real peak that the nominal `GHz × lanes × 2 units × 2` formula approximates, and the one
/// `benches/compare.sh` measures the GEMM against.
fn fma_peak(c: &mut Criterion) {
	#[cfg(target_arch = "x86_64")]
	{
		use std::arch::x86_64::*;
		const ITERATIONS: u64 = 100_000;

		#[target_feature(enable = "avx512f")]
		fn zmm_chains(x: f32) -> f32 {
			let (a, b) = (_mm512_set1_ps(x), _mm512_set1_ps(0.999));
			let mut acc = [_mm512_set1_ps(1.0); 16];
			for _ in 0..ITERATIONS {
				for v in acc.iter_mut() {
					*v = _mm512_fmadd_ps(*v, b, a);
				}
			}
			let sum = acc.into_iter().fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, v));
			_mm512_reduce_add_ps(sum)
		}

		#[target_feature(enable = "avx2,fma")]
		fn ymm_chains(x: f32) -> f32 {
			let (a, b) = (_mm256_set1_ps(x), _mm256_set1_ps(0.999));
			let mut acc = [_mm256_set1_ps(1.0); 10];
			for _ in 0..ITERATIONS {
				for v in acc.iter_mut() {
					*v = _mm256_fmadd_ps(*v, b, a);
				}
			}
			let sum = acc.into_iter().fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, v));
			let mut lanes = [0.0f32; 8];
			// SAFETY: `lanes` holds 8 floats.
			unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
			lanes.iter().sum()
		}

		let mut group = c.benchmark_group("gemm");
		for isa in vector_isas() {
			let flops = match isa {
				Isa::Avx512 => ITERATIONS * 16 * 16 * 2,
				_ => ITERATIONS * 10 * 8 * 2,
			};
			group.throughput(Throughput::Elements(flops));
			// SAFETY: `vector_isas` lists only sets this CPU executes.
			group.bench_function(BenchmarkId::new("fma_peak", format!("{isa}_1t")), |b| {
				b.iter(|| unsafe {
					match isa {
						Isa::Avx512 => zmm_chains(black_box(1e-3)),
						_ => ymm_chains(black_box(1e-3)),
					}
				})
			});
		}
		group.finish();
	}
}

/// A validator re-executes S = 4 segments of k = 50 steps of the 500-step digits run.
fn verification_cost(c: &mut Criterion) {
	let data = digits();
	let spec = spec(&[64, 128, 10], 32, 500, 50);
	let mut kept = Vec::new();
	struct Keep<'a>(&'a mut Vec<Checkpoint>);
	impl decenter_engine::pot::Observer for Keep<'_> {
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
	let mut group = c.benchmark_group("verification");
	group.sample_size(10);
	group.measurement_time(Duration::from_secs(10));
	group.bench_function("digits_full_500_steps_2t", |b| {
		b.iter(|| {
			train(
				Cpu::new(2).unwrap(),
				&spec,
				&data,
				&Checkpoint::seeded(&spec),
				Trace::default(),
				&mut Quiet,
			)
			.unwrap()
		})
	});
	train(
		Cpu::new(2).unwrap(),
		&spec,
		&data,
		&Checkpoint::seeded(&spec),
		Trace::default(),
		&mut Keep(&mut kept),
	)
	.unwrap();
	group.bench_function("digits_4_segments_of_50_2t", |b| {
		b.iter(|| {
			for i in [1usize, 4, 6, 8] {
				black_box(
					replay(
						Cpu::new(2).unwrap(),
						&spec,
						&data,
						&kept[i],
						spec.checkpoint_step(i as u32 + 1),
					)
					.unwrap(),
				);
			}
		})
	});
	group.finish();
}

criterion_group!(benches, training_throughput, gemm_throughput, fma_peak, verification_cost);
criterion_main!(benches);
