//! What a person reads: the end-of-run summary, figures (SVG, PNG) and the HTML report, all
//! functions of a run or experiment directory's files. Figures and the report need the `viz`
//! feature (on by default through `cli`); the text summary does not.

#[cfg(feature = "viz")]
pub mod plot;
#[cfg(feature = "viz")]
pub mod report;
pub mod summary;
