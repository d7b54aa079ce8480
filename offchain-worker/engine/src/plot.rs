//! The loss curve as a PNG (plotters).

use std::path::Path;

use plotters::prelude::*;

/// Why the picture could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotError(pub String);

impl std::fmt::Display for PlotError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str(&self.0)
	}
}

impl std::error::Error for PlotError {}

/// Fonts tried for the labels, in order (the first that exists is used).
const FONTS: &[&str] = &[
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/TTF/DejaVuSans.ttf",
	"/usr/share/fonts/dejavu/DejaVuSans.ttf",
	"/System/Library/Fonts/Supplemental/Arial.ttf",
	"C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers a system font for the labels once; `false` when none was found (the curve is
/// then drawn without text).
fn labels_font() -> bool {
	static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
	*FOUND.get_or_init(|| {
		let Some(bytes) = FONTS.iter().find_map(|path| std::fs::read(path).ok()) else {
			return false;
		};
		// The font lives for the process, as plotters requires.
		let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
		plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
	})
}

fn error(what: &str) -> impl Fn(String) -> PlotError + '_ {
	move |e| PlotError(format!("cannot draw the loss curve ({what}): {e}"))
}

/// Writes `losses` (one per step) as a line chart to `path` (PNG, 960×540).
pub fn loss_curve_png(losses: &[f32], path: &Path, title: &str) -> Result<(), PlotError> {
	let finite: Vec<f32> = losses.iter().copied().filter(|v| v.is_finite()).collect();
	if finite.is_empty() {
		return Err(PlotError("no finite loss to plot".into()));
	}
	let top = finite.iter().copied().fold(f32::MIN, f32::max).max(f32::MIN_POSITIVE) * 1.05;
	let steps = losses.len() as u32;
	let labels = labels_font();
	let root = BitMapBackend::new(path, (960, 540)).into_drawing_area();
	root.fill(&WHITE).map_err(|e| error("background")(format!("{e:?}")))?;
	let mut builder = ChartBuilder::on(&root);
	builder.margin(24);
	if labels {
		builder.caption(title, ("sans-serif", 26)).x_label_area_size(44).y_label_area_size(64);
	}
	let mut chart = builder
		.build_cartesian_2d(0u32..steps.max(1), 0f32..top)
		.map_err(|e| error("axes")(format!("{e:?}")))?;
	if labels {
		chart
			.configure_mesh()
			.x_desc("step")
			.y_desc("training loss")
			.draw()
			.map_err(|e| error("grid")(format!("{e:?}")))?;
	}
	chart
		.draw_series(LineSeries::new(
			losses.iter().enumerate().filter(|(_, l)| l.is_finite()).map(|(i, l)| (i as u32, *l)),
			&BLUE,
		))
		.map_err(|e| error("curve")(format!("{e:?}")))?;
	root.present().map_err(|e| error(&path.display().to_string())(format!("{e:?}")))
}
