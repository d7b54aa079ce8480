//! The progress bar follows training; the loss curve is a PNG.

mod common;

use common::*;
use decenter_engine::{
	cpu::Cpu,
	model::Checkpoint,
	plot::loss_curve_png,
	pot::{train, Trace},
	progress::TrainingProgress,
};
use indicatif::ProgressDrawTarget;

#[test]
fn progress_shows_loss_and_throughput() {
	let data = digits();
	let spec = digits_spec(60, adam());
	let mut progress = TrainingProgress::with_target(60, 32, ProgressDrawTarget::hidden());
	let (_, trace) = train(
		Cpu::new(1).unwrap(),
		&spec,
		&data,
		&Checkpoint::seeded(&spec),
		Trace::default(),
		&mut progress,
	)
	.unwrap();
	let last = trace.losses[59];
	let message = progress.message();
	assert!(message.starts_with(&format!("loss {last:.4} · ")), "{message}");
	assert!(message.ends_with(" samples/s"), "{message}");
	assert!(progress.samples_per_second() > 0.0);
}

#[test]
fn loss_curve_is_a_png_and_bad_input_is_an_error() {
	let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
	let path = dir.join("loss-curve-test.png");
	let losses: Vec<f32> = (0..300).map(|i| 2.3 * (-(i as f32) / 80.0).exp() + 0.05).collect();
	loss_curve_png(&losses, &path, "test").unwrap();
	let bytes = std::fs::read(&path).unwrap();
	assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
	// 960×540 from the IHDR chunk.
	assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 960);
	assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 540);

	assert!(loss_curve_png(&[], &path, "empty").unwrap_err().0.contains("no finite loss"));
	let nowhere = dir.join("no-such-dir/loss.png");
	let error = loss_curve_png(&losses, &nowhere, "x").unwrap_err();
	assert!(error.0.contains("no-such-dir"), "{error}");
}
