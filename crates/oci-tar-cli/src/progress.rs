//! A progress bar on stderr while large inputs are read: only when stderr
//! is a terminal, an input is large, and `--quiet` is not given.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wasm_artifact::ImageSink;

/// Inputs smaller than this finish before a bar would be worth drawing.
const LARGE_INPUT: u64 = 64 * 1024 * 1024;

/// Shows a bar over every read of the inputs (`origin`, size) that `sink`
/// makes: one read each into a file or directory, two (hash, then copy)
/// into a stream. Returns the bar to finish once the image is written, or
/// `None` when no bar is shown.
pub(crate) fn attach(
    sink: &mut dyn ImageSink,
    inputs: &[(String, u64)],
    quiet: bool,
) -> Option<ProgressBar> {
    let reads_each = sink.reads_of_each_file();
    let large = inputs.iter().any(|(_, size)| *size >= LARGE_INPUT);
    if quiet || !large || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs.iter().map(|(_, size)| size * reads_each).sum();
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    // The writer reports each read's running count per origin; the bar
    // moves by the difference. Other blobs (config, manifest) are ignored.
    let last: Mutex<HashMap<String, u64>> = Mutex::new(
        inputs
            .iter()
            .map(|(origin, _)| (origin.clone(), 0))
            .collect(),
    );
    let shown = bar.clone();
    sink.on_progress(Arc::new(move |origin: &str, done: u64, _total: u64| {
        let Ok(mut last) = last.lock() else { return };
        if let Some(previous) = last.get_mut(origin) {
            // A new read of the same input starts again from zero.
            let delta = if done >= *previous {
                done - *previous
            } else {
                done
            };
            *previous = done;
            shown.inc(delta);
            shown.set_message(origin.rsplit('/').next().unwrap_or(origin).to_owned());
        }
    }));
    Some(bar)
}
