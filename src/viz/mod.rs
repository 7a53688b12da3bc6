//! What a person reads: the end-of-run summary, figures (SVG, PNG) and the HTML report, all
//! functions of a run or experiment directory's files.

pub mod plot;
pub mod report;
pub mod summary;
