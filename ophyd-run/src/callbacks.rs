//! Subscribers for a run's documents: a JSON-lines writer, a live table for
//! the terminal in the style of bluesky's `LiveTable`, and a progress bar.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::Value as Json;

use crate::documents::{Document, EventDescriptor, RunStart};

/// Something that receives a run's documents (closures do too).
pub trait Callback: Send {
    /// Receive one document with its name.
    fn call(&mut self, name: &str, doc: &Document);
}

impl<F: FnMut(&str, &Document) + Send> Callback for F {
    fn call(&mut self, name: &str, doc: &Document) {
        self(name, doc)
    }
}

/// Writes every document as one JSON line `[name, document]`, flushed per
/// line, so an interrupted run leaves a readable file.
pub struct JsonLines {
    out: BufWriter<File>,
}

impl JsonLines {
    /// Write to a new file at `path`.
    pub fn create(path: impl AsRef<Path>) -> io::Result<JsonLines> {
        Ok(JsonLines { out: BufWriter::new(File::create(path)?) })
    }
}

impl Callback for JsonLines {
    fn call(&mut self, name: &str, doc: &Document) {
        let written = serde_json::to_writer(&mut self.out, &(name, doc))
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush());
        if let Err(e) = written {
            tracing::error!(error = %e, "writing a document failed");
        }
    }
}

/// A table of the hinted fields, a row per event, as bluesky's `LiveTable`.
pub struct LiveTable {
    out: Box<dyn Write + Send>,
    columns: Vec<(String, usize)>,
    start: Option<RunStart>,
}

const WIDTH: usize = 12;

impl LiveTable {
    /// A table printed on standard output.
    pub fn stdout() -> LiveTable {
        LiveTable::to(Box::new(io::stdout()))
    }

    /// A table written to `out`.
    pub fn to(out: Box<dyn Write + Send>) -> LiveTable {
        LiveTable { out, columns: Vec::new(), start: None }
    }

    fn rule(&self) -> String {
        let mut line = String::from("+");
        for (_, width) in self.header_widths() {
            line.push_str(&"-".repeat(width + 2));
            line.push('+');
        }
        line
    }

    fn header_widths(&self) -> Vec<(String, usize)> {
        let mut cols = vec![("seq_num".to_owned(), 9), ("time".to_owned(), 12)];
        cols.extend(self.columns.iter().map(|(name, _)| (name.clone(), name.len().max(WIDTH))));
        cols
    }

    fn row(&self, cells: &[String]) -> String {
        let mut line = String::from("|");
        for ((_, width), cell) in self.header_widths().iter().zip(cells) {
            line.push_str(&format!(" {cell:>width$} |"));
        }
        line
    }

    fn on_descriptor(&mut self, d: &EventDescriptor) -> io::Result<()> {
        self.columns.clear();
        for hint in d.hints.values() {
            for field in hint["fields"].as_array().into_iter().flatten().filter_map(Json::as_str) {
                let precision = d.data_keys.get(field).and_then(|k| k["precision"].as_u64()).unwrap_or(3) as usize;
                self.columns.push((field.to_owned(), precision));
            }
        }
        let names: Vec<String> = self.header_widths().into_iter().map(|(n, _)| n).collect();
        writeln!(self.out, "{}\n{}\n{}", self.rule(), self.row(&names), self.rule())
    }

    fn cell(value: Option<&Json>, precision: usize) -> String {
        match value {
            Some(Json::Number(n)) if n.is_f64() => format!("{:.precision$}", n.as_f64().unwrap_or(f64::NAN)),
            Some(Json::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    }

    fn on_event(&mut self, e: &crate::documents::Event) -> io::Result<()> {
        let secs = e.time.rem_euclid(86_400.0);
        let time = format!("{:02}:{:02}:{:04.1}", (secs / 3600.0) as u32, ((secs % 3600.0) / 60.0) as u32, secs % 60.0);
        let mut cells = vec![e.seq_num.to_string(), time];
        cells.extend(self.columns.iter().map(|(field, precision)| Self::cell(e.data.get(field), *precision)));
        writeln!(self.out, "{}", self.row(&cells))?;
        self.out.flush()
    }

    fn on_stop(&mut self, s: &crate::documents::RunStop) -> io::Result<()> {
        let (plan, uid, scan_id) = match &self.start {
            Some(start) => (start.plan_name.as_str(), &start.uid[..8.min(start.uid.len())], start.scan_id),
            None => ("", "", 0),
        };
        writeln!(self.out, "{}", self.rule())?;
        writeln!(self.out, "{plan} ['{uid}'] (scan num: {scan_id}): {:?}", s.exit_status)?;
        if !s.reason.is_empty() {
            writeln!(self.out, "reason: {}", s.reason)?;
        }
        self.out.flush()
    }
}

impl Callback for LiveTable {
    fn call(&mut self, _name: &str, doc: &Document) {
        let written = match doc {
            Document::Start(s) => {
                self.start = Some(s.clone());
                Ok(())
            }
            Document::Descriptor(d) => self.on_descriptor(d),
            Document::Event(e) => self.on_event(e),
            Document::Stop(s) => self.on_stop(s),
            Document::StreamResource(_) | Document::StreamDatum(_) => Ok(()),
        };
        if let Err(e) = written {
            tracing::error!(error = %e, "writing the live table failed");
        }
    }
}

/// A progress bar (on standard error) of a run's points.
pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
}

impl Default for ProgressBar {
    fn default() -> Self {
        ProgressBar::new()
    }
}

impl ProgressBar {
    /// A bar that appears when a run starts.
    pub fn new() -> ProgressBar {
        ProgressBar { bar: None }
    }
}

impl ProgressBar {
    /// Draw a bar for `status` (a move, an acquisition) while it reports
    /// progress; it finishes with the status.
    pub fn watch(status: &ophyd_core::Status) {
        const STEPS: u64 = 1000;
        let bar = indicatif::ProgressBar::new(STEPS);
        bar.set_style(
            indicatif::ProgressStyle::with_template("  {msg} [{bar:30}] {percent}%")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_message(status.what().to_owned());
        let b = bar.clone();
        status.on_progress(move |done, total| {
            let fraction = if total > 0.0 { (done / total).clamp(0.0, 1.0) } else { 1.0 };
            b.set_position((fraction * STEPS as f64) as u64);
        });
        status.add_callback(move |_| bar.finish_and_clear());
    }
}

impl Callback for ProgressBar {
    fn call(&mut self, _name: &str, doc: &Document) {
        match doc {
            Document::Start(s) => {
                let bar = indicatif::ProgressBar::new(s.num_points as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} points, {elapsed}")
                        .expect("a valid template")
                        .progress_chars("=> "),
                );
                bar.set_message(s.plan_name.clone());
                self.bar = Some(bar);
            }
            Document::Event(_) => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            Document::Stop(s) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_with_message(format!("{:?}", s.exit_status));
                }
            }
            Document::Descriptor(_) | Document::StreamResource(_) | Document::StreamDatum(_) => {}
        }
    }
}
