//! Datasets from CSV and safetensors, models and checkpoints in safetensors. Every error
//! names the file and the line, column or tensor that is wrong.

use std::{collections::HashMap, fmt, path::Path};

use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use crate::{
	model::{Checkpoint, Shapes},
	train::Dataset,
};

/// What is wrong with an input file.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
	/// The file (or artifact) it came from.
	pub source: String,
	/// What is wrong, and where in it.
	pub message: String,
}

impl fmt::Display for DataError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		write!(f, "{}: {}", self.source, self.message)
	}
}

impl std::error::Error for DataError {}

fn err(source: &str, message: impl Into<String>) -> DataError {
	DataError { source: source.to_string(), message: message.into() }
}

/// How the last column(s) of a record are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
	/// The last column is a class index `0..classes`.
	Class,
	/// The last `width` columns are regression targets.
	Regression { width: usize },
}

/// Reads a CSV file of numbers: features, then the target column(s). The first line may be a
/// header, skipped: column names (no number among them, as many as the records' columns), or
/// scikit-learn's `samples,features,class names…` (both counts must match the file). Any other
/// first line is a record, so a typo in it is an error, never a silently dropped record.
pub fn load_csv(path: &Path, targets: Targets) -> Result<Dataset, DataError> {
	let source = path.display().to_string();
	let text =
		std::fs::read_to_string(path).map_err(|e| err(&source, format!("cannot read: {e}")))?;
	parse_csv(&source, &text, targets)
}

/// [`load_csv`] on text already in memory; `source` names it in errors.
pub fn parse_csv(source: &str, text: &str, targets: Targets) -> Result<Dataset, DataError> {
	let target_width = match targets {
		Targets::Class => 1,
		Targets::Regression { width } => width,
	};
	let mut features = Vec::new();
	let mut target_values = Vec::new();
	let mut width: Option<usize> = None;
	let mut header: Option<Header> = None;
	let mut records = 0;
	for (index, line) in text.lines().enumerate() {
		let line_no = index + 1;
		let line = line.trim();
		if line.is_empty() {
			continue;
		}
		let fields: Vec<&str> = line.split(',').map(str::trim).collect();
		let parsed: Result<Vec<f32>, usize> =
			fields.iter().enumerate().map(|(c, f)| f.parse::<f32>().map_err(|_| c)).collect();
		let values = match parsed {
			Ok(values) => values,
			Err(_) if index == 0 && Header::of(&fields).is_some() => {
				header = Header::of(&fields);
				continue;
			},
			Err(column) => {
				return Err(err(
					source,
					format!(
						"line {line_no}, column {}: `{}` is not a number",
						column + 1,
						fields[column]
					),
				))
			},
		};
		if let Some(column) = values.iter().position(|v| !v.is_finite()) {
			return Err(err(
				source,
				format!("line {line_no}, column {}: value is not finite", column + 1),
			));
		}
		match width {
			None => {
				if values.len() <= target_width {
					return Err(err(
						source,
						format!(
							"line {line_no}: {} columns leave no features besides {target_width} target column(s)",
							values.len()
						),
					));
				}
				if let Some(Header::Names(names)) =
					header.filter(|h| *h != Header::Names(values.len()))
				{
					return Err(err(
						source,
						format!(
							"line {line_no}: {} columns, but the header (line 1) names {names}",
							values.len()
						),
					));
				}
				width = Some(values.len());
			},
			Some(w) if w != values.len() => {
				return Err(err(
					source,
					format!("line {line_no}: {} columns, earlier lines have {w}", values.len()),
				))
			},
			Some(_) => {},
		}
		let split = values.len() - target_width;
		if targets == Targets::Class {
			let label = values[split];
			if label < 0.0 || label.fract() != 0.0 {
				return Err(err(
					source,
					format!("line {line_no}, column {}: class label {label} is not a non-negative integer", split + 1),
				));
			}
		}
		features.extend_from_slice(&values[..split]);
		target_values.extend_from_slice(&values[split..]);
		records += 1;
	}
	let Some(width) = width else { return Err(err(source, "no records")) };
	if let Some(Header::ScikitLearn { samples, features }) = header {
		if (samples, features) != (records, width - target_width) {
			return Err(err(
				source,
				format!(
					"line 1 is a scikit-learn header of {samples} samples with {features} \
					 features, but the file has {records} records with {} features",
					width - target_width
				),
			));
		}
	}
	Ok(Dataset {
		features,
		targets: target_values,
		records,
		feature_width: width - target_width,
		target_width,
	})
}

/// A CSV file's first line, when it is not a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Header {
	/// Column names: this many, none a number.
	Names(usize),
	/// scikit-learn's `samples,features,class names…`.
	ScikitLearn { samples: usize, features: usize },
}

impl Header {
	fn of(fields: &[&str]) -> Option<Header> {
		if fields.iter().all(|f| f.parse::<f32>().is_err()) {
			return Some(Header::Names(fields.len()));
		}
		match fields {
			[samples, features, names @ ..] if names.iter().all(|f| f.parse::<f32>().is_err()) => {
				Some(Header::ScikitLearn {
					samples: samples.parse().ok()?,
					features: features.parse().ok()?,
				})
			},
			_ => None,
		}
	}
}

fn tensor_f32(source: &str, name: &str, view: &TensorView<'_>) -> Result<Vec<f32>, DataError> {
	let data = view.data();
	let values: Vec<f32> = match view.dtype() {
		Dtype::F32 => {
			data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
		},
		Dtype::I64 => data
			.chunks_exact(8)
			.map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
			.collect(),
		Dtype::I32 => data
			.chunks_exact(4)
			.map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
			.collect(),
		Dtype::U8 => data.iter().map(|&b| f32::from(b)).collect(),
		other => {
			return Err(err(
				source,
				format!("tensor `{name}` has dtype {other:?}; use F32 (or I64/I32/U8 labels)"),
			))
		},
	};
	if let Some(i) = values.iter().position(|v| !v.is_finite()) {
		return Err(err(source, format!("tensor `{name}`: element {i} is not finite")));
	}
	Ok(values)
}

/// Reads a dataset from safetensors bytes: `features` `[records, width]` (F32) and either
/// `labels` `[records]` (class indices) or `targets` `[records, width]` (F32).
pub fn parse_safetensors_dataset(source: &str, bytes: &[u8]) -> Result<Dataset, DataError> {
	let file = SafeTensors::deserialize(bytes)
		.map_err(|e| err(source, format!("not a safetensors file: {e}")))?;
	let features_view = file
		.tensor("features")
		.map_err(|_| err(source, "no tensor `features` ([records, width], F32)"))?;
	let [records, feature_width] = features_view.shape()[..] else {
		return Err(err(
			source,
			format!(
				"tensor `features` has shape {:?}; expected [records, width]",
				features_view.shape()
			),
		));
	};
	let features = tensor_f32(source, "features", &features_view)?;
	let (targets, target_width) = if let Ok(labels) = file.tensor("labels") {
		if labels.shape() != [records] {
			return Err(err(
				source,
				format!("tensor `labels` has shape {:?}; expected [{records}]", labels.shape()),
			));
		}
		(tensor_f32(source, "labels", &labels)?, 1)
	} else if let Ok(targets) = file.tensor("targets") {
		let [rows, width] = targets.shape()[..] else {
			return Err(err(
				source,
				format!(
					"tensor `targets` has shape {:?}; expected [records, width]",
					targets.shape()
				),
			));
		};
		if rows != records {
			return Err(err(
				source,
				format!("tensor `targets` has {rows} rows, `features` has {records}"),
			));
		}
		(tensor_f32(source, "targets", &targets)?, width)
	} else {
		return Err(err(source, "no tensor `labels` ([records]) or `targets` ([records, width])"));
	};
	Ok(Dataset { features, targets, records, feature_width, target_width })
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
	values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serializes `parameters` (shapes `shapes`) as safetensors: `layers.{l}.weight`
/// `[fan_in, fan_out]` and `layers.{l}.bias` `[fan_out]`, plus extra tensors and metadata.
fn serialize(
	shapes: &Shapes,
	parameters: &[Vec<f32>],
	extra: Vec<(String, Vec<usize>, &[f32])>,
	metadata: HashMap<String, String>,
) -> Result<Vec<u8>, DataError> {
	let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
		.tensor_names()
		.into_iter()
		.zip(parameters)
		.map(|((name, shape), values)| (name, shape, f32_bytes(values)))
		.collect();
	owned.extend(extra.into_iter().map(|(name, shape, values)| (name, shape, f32_bytes(values))));
	let views = owned
		.iter()
		.map(|(name, shape, bytes)| {
			TensorView::new(Dtype::F32, shape.clone(), bytes).map(|view| (name.clone(), view))
		})
		.collect::<Result<Vec<_>, _>>()
		.map_err(|e| err("model", format!("cannot build tensor: {e}")))?;
	safetensors::serialize(views, Some(metadata))
		.map_err(|e| err("model", format!("cannot serialize: {e}")))
}

/// A trained model as safetensors bytes.
pub fn model_to_safetensors(
	shapes: &Shapes,
	parameters: &[Vec<f32>],
) -> Result<Vec<u8>, DataError> {
	let widths: Vec<String> = shapes.widths.iter().map(ToString::to_string).collect();
	let metadata = HashMap::from([
		("format".to_string(), "decenter-mlp".to_string()),
		("widths".to_string(), widths.join(",")),
	]);
	serialize(shapes, parameters, Vec::new(), metadata)
}

/// Reads parameters of `shapes` from safetensors bytes (initial weights or a downloaded
/// model), checking every tensor's name, dtype and shape.
pub fn parameters_from_safetensors(
	source: &str,
	shapes: &Shapes,
	bytes: &[u8],
) -> Result<Vec<Vec<f32>>, DataError> {
	let file = SafeTensors::deserialize(bytes)
		.map_err(|e| err(source, format!("not a safetensors file: {e}")))?;
	shapes
		.tensor_names()
		.into_iter()
		.map(|(name, shape)| {
			let view = file
				.tensor(&name)
				.map_err(|_| err(source, format!("missing tensor `{name}` of shape {shape:?}")))?;
			if view.dtype() != Dtype::F32 {
				return Err(err(
					source,
					format!("tensor `{name}` is {:?}; expected F32", view.dtype()),
				));
			}
			if view.shape() != shape.as_slice() {
				return Err(err(
					source,
					format!(
						"tensor `{name}` has shape {:?}; the model needs {shape:?}",
						view.shape()
					),
				));
			}
			tensor_f32(source, &name, &view)
		})
		.collect()
}

/// A checkpoint as safetensors bytes: the parameters, `optimizer.{s}.{tensor}` slots and
/// the step in the metadata.
pub fn checkpoint_to_safetensors(
	shapes: &Shapes,
	checkpoint: &Checkpoint,
) -> Result<Vec<u8>, DataError> {
	let names = shapes.tensor_names();
	let extra = checkpoint
		.optimizer_state
		.iter()
		.enumerate()
		.map(|(i, values)| {
			let (name, shape) = &names[i % names.len()];
			(format!("optimizer.{}.{name}", i / names.len()), shape.clone(), values.as_slice())
		})
		.collect();
	let metadata = HashMap::from([
		("format".to_string(), "decenter-checkpoint".to_string()),
		("step".to_string(), checkpoint.step.to_string()),
	]);
	serialize(shapes, &checkpoint.parameters, extra, metadata)
}

/// Reads a checkpoint written by [`checkpoint_to_safetensors`] with `slots` optimizer slots.
pub fn checkpoint_from_safetensors(
	source: &str,
	shapes: &Shapes,
	slots: usize,
	bytes: &[u8],
) -> Result<Checkpoint, DataError> {
	let parameters = parameters_from_safetensors(source, shapes, bytes)?;
	let file = SafeTensors::deserialize(bytes)
		.map_err(|e| err(source, format!("not a safetensors file: {e}")))?;
	let (_, metadata) = SafeTensors::read_metadata(bytes)
		.map_err(|e| err(source, format!("unreadable header: {e}")))?;
	let step = metadata
		.metadata()
		.as_ref()
		.and_then(|m| m.get("step"))
		.and_then(|s| s.parse::<u32>().ok())
		.ok_or_else(|| err(source, "metadata has no `step`"))?;
	let mut optimizer_state = Vec::new();
	for s in 0..slots {
		for (name, shape) in shapes.tensor_names() {
			let full = format!("optimizer.{s}.{name}");
			let view =
				file.tensor(&full).map_err(|_| err(source, format!("missing tensor `{full}`")))?;
			if view.shape() != shape.as_slice() {
				return Err(err(
					source,
					format!("tensor `{full}` has shape {:?}; expected {shape:?}", view.shape()),
				));
			}
			optimizer_state.push(tensor_f32(source, &full, &view)?);
		}
	}
	Ok(Checkpoint { step, parameters, optimizer_state })
}

#[cfg(test)]
mod tests {
	use super::*;

	fn csv(text: &str, targets: Targets) -> Result<Dataset, String> {
		parse_csv("data.csv", text, targets).map_err(|e| e.to_string())
	}

	#[test]
	fn a_header_of_names_is_skipped_and_records_are_read() {
		let data = csv("a,b,label\n1,2,0\n\n3,4,1\n", Targets::Class).unwrap();
		assert_eq!((data.records, data.feature_width, data.target_width), (2, 2, 1));
		assert_eq!(data.features, vec![1.0, 2.0, 3.0, 4.0]);
		assert_eq!(data.targets, vec![0.0, 1.0]);
		// scikit-learn's header: samples, features, class names.
		let data = csv("2,2,setosa,virginica\n1,2,0\n3,4,1\n", Targets::Class).unwrap();
		assert_eq!((data.records, data.feature_width), (2, 2));
		let data = csv("1,2,0.5,1.5\n", Targets::Regression { width: 2 }).unwrap();
		assert_eq!((data.feature_width, data.targets), (2, vec![0.5, 1.5]));
	}

	#[test]
	fn every_csv_error_names_the_file_line_and_column() {
		let cases = [
			// A typo in the first record is not a header.
			("1,x,0\n2,3,1\n", "data.csv: line 1, column 2: `x` is not a number"),
			("1,2,0\n3,y,1\n", "data.csv: line 2, column 2: `y` is not a number"),
			("a,b,label\nc,d,e\n", "data.csv: line 2, column 1: `c` is not a number"),
			("1,inf,0\n", "data.csv: line 1, column 2: value is not finite"),
			("1,NaN,0\n", "data.csv: line 1, column 2: value is not finite"),
			("0\n", "data.csv: line 1: 1 columns leave no features besides 1 target column(s)"),
			("1,2,0\n1,0\n", "data.csv: line 2: 2 columns, earlier lines have 3"),
			("a,b\n1,2,0\n", "data.csv: line 2: 3 columns, but the header (line 1) names 2"),
			("1,2,-1\n", "data.csv: line 1, column 3: class label -1 is not a non-negative integer"),
			("1,2,0.5\n", "data.csv: line 1, column 3: class label 0.5 is not a non-negative integer"),
			("3,2,a,b\n1,2,0\n3,4,1\n", "data.csv: line 1 is a scikit-learn header of 3 samples with 2 features, but the file has 2 records with 2 features"),
			("1.5,2,a\n1,2,0\n", "data.csv: line 1, column 3: `a` is not a number"),
			("", "data.csv: no records"),
			("a,b,label\n\n", "data.csv: no records"),
		];
		for (text, expected) in cases {
			assert_eq!(csv(text, Targets::Class).unwrap_err(), expected, "{text:?}");
		}
		let error = csv("1,2\n", Targets::Regression { width: 2 }).unwrap_err();
		assert_eq!(
			error,
			"data.csv: line 1: 2 columns leave no features besides 2 target column(s)"
		);
		let missing = load_csv(Path::new("/nonexistent/data.csv"), Targets::Class).unwrap_err();
		assert!(
			missing.to_string().starts_with("/nonexistent/data.csv: cannot read:"),
			"{missing}"
		);
	}

	fn tensors(entries: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
		let views: Vec<(String, TensorView<'_>)> = entries
			.iter()
			.map(|(name, dtype, shape, bytes)| {
				(name.to_string(), TensorView::new(*dtype, shape.clone(), bytes).unwrap())
			})
			.collect();
		safetensors::serialize(views, None).unwrap()
	}

	fn floats(values: &[f32]) -> Vec<u8> {
		f32_bytes(values)
	}

	#[test]
	fn safetensors_datasets_load_and_every_error_is_named() {
		let features = ("features", Dtype::F32, vec![2, 2], floats(&[1.0, 2.0, 3.0, 4.0]));
		let labels = (
			"labels",
			Dtype::I64,
			vec![2],
			[0i64, 1].iter().flat_map(|v| v.to_le_bytes()).collect(),
		);
		let data = parse_safetensors_dataset("d", &tensors(&[features.clone(), labels])).unwrap();
		assert_eq!((data.records, data.feature_width, data.targets), (2, 2, vec![0.0, 1.0]));
		let targets = ("targets", Dtype::F32, vec![2, 1], floats(&[0.5, 1.5]));
		let data = parse_safetensors_dataset("d", &tensors(&[features.clone(), targets])).unwrap();
		assert_eq!((data.target_width, data.targets), (1, vec![0.5, 1.5]));

		let fails = |entries: &[(&str, Dtype, Vec<usize>, Vec<u8>)]| {
			parse_safetensors_dataset("d", &tensors(entries)).unwrap_err().to_string()
		};
		assert!(parse_safetensors_dataset("d", b"not safetensors")
			.unwrap_err()
			.to_string()
			.starts_with("d: not a safetensors file"));
		let labels_ok = ("labels", Dtype::U8, vec![2], vec![0, 1]);
		assert_eq!(fails(&[labels_ok.clone()]), "d: no tensor `features` ([records, width], F32)");
		assert_eq!(
			fails(&[("features", Dtype::F32, vec![4], floats(&[1.0; 4])), labels_ok.clone()]),
			"d: tensor `features` has shape [4]; expected [records, width]"
		);
		assert_eq!(
			fails(&[("features", Dtype::F16, vec![2, 1], vec![0; 4]), labels_ok.clone()]),
			"d: tensor `features` has dtype F16; use F32 (or I64/I32/U8 labels)"
		);
		assert_eq!(
			fails(&[
				("features", Dtype::F32, vec![2, 1], floats(&[1.0, f32::NAN])),
				labels_ok.clone()
			]),
			"d: tensor `features`: element 1 is not finite"
		);
		assert_eq!(
			fails(&[features.clone(), ("labels", Dtype::U8, vec![3], vec![0, 1, 2])]),
			"d: tensor `labels` has shape [3]; expected [2]"
		);
		assert_eq!(
			fails(&[features.clone(), ("targets", Dtype::F32, vec![2], floats(&[0.0, 1.0]))]),
			"d: tensor `targets` has shape [2]; expected [records, width]"
		);
		assert_eq!(
			fails(&[features.clone(), ("targets", Dtype::F32, vec![3, 1], floats(&[0.0; 3]))]),
			"d: tensor `targets` has 3 rows, `features` has 2"
		);
		assert_eq!(
			fails(&[features]),
			"d: no tensor `labels` ([records]) or `targets` ([records, width])"
		);
	}

	#[test]
	fn models_and_checkpoints_round_trip_and_every_error_is_named() {
		let shapes = Shapes { widths: vec![2, 1] };
		let parameters = vec![vec![0.5, -0.5], vec![0.25]];
		let model = model_to_safetensors(&shapes, &parameters).unwrap();
		assert_eq!(parameters_from_safetensors("m", &shapes, &model).unwrap(), parameters);
		let checkpoint = Checkpoint {
			step: 7,
			parameters: parameters.clone(),
			optimizer_state: vec![vec![1.0, 2.0], vec![3.0]],
		};
		let bytes = checkpoint_to_safetensors(&shapes, &checkpoint).unwrap();
		assert_eq!(checkpoint_from_safetensors("c", &shapes, 1, &bytes).unwrap(), checkpoint);

		let wider = Shapes { widths: vec![3, 1] };
		assert_eq!(
			parameters_from_safetensors("m", &wider, &model).unwrap_err().to_string(),
			"m: tensor `layers.0.weight` has shape [2, 1]; the model needs [3, 1]"
		);
		let deeper = Shapes { widths: vec![2, 1, 1] };
		assert_eq!(
			parameters_from_safetensors("m", &deeper, &model).unwrap_err().to_string(),
			"m: missing tensor `layers.1.weight` of shape [1, 1]"
		);
		let integers = tensors(&[
			("layers.0.weight", Dtype::I32, vec![2, 1], vec![0; 8]),
			("layers.0.bias", Dtype::F32, vec![1], floats(&[0.0])),
		]);
		assert_eq!(
			parameters_from_safetensors("m", &shapes, &integers).unwrap_err().to_string(),
			"m: tensor `layers.0.weight` is I32; expected F32"
		);
		assert!(parameters_from_safetensors("m", &shapes, b"junk")
			.unwrap_err()
			.to_string()
			.starts_with("m: not a safetensors file"));
		// A model is not a checkpoint: no step, no optimizer state.
		assert_eq!(
			checkpoint_from_safetensors("c", &shapes, 0, &model).unwrap_err().to_string(),
			"c: metadata has no `step`"
		);
		assert_eq!(
			checkpoint_from_safetensors("c", &shapes, 2, &bytes).unwrap_err().to_string(),
			"c: missing tensor `optimizer.1.layers.0.weight`"
		);
	}
}
