//! Reading a scenario: TOML text (+ `--set` overrides) → checked [`Scenario`], or every problem.
//!
//! The document is parsed twice: once into toml's spanned tree, only to learn where each key sits
//! (file, line, column), and once into a plain [`toml::Table`] that overrides are applied to and
//! that is checked against the schema. The schema is not written by hand: it is
//! [`Scenario::template`] serialised to TOML, so it cannot drift from the Rust types.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

use super::text::{clip, echo};
use super::{
    check, Scenario, ValidScenario, COUNTRY_REQUIRED, PARTNERSHIP_REQUIRED, POLICY_REQUIRED,
};

/// Largest scenario file accepted; real scenarios are a few kB, so this only stops runaway input.
pub const MAX_SCENARIO_BYTES: u64 = 4 * 1024 * 1024;
/// Room kept for the comment a run writes above its resolved scenario (see
/// [`crate::rundir::write::resolved_toml`], which bounds what it quotes).
pub const RESOLVED_HEADER_BYTES: usize = 64 * 1024;
/// Largest resolved scenario accepted: what a run writes as its `scenario.toml` (every
/// parameter, defaults filled in, plus its comment) must load again, so it must stay under
/// [`MAX_SCENARIO_BYTES`] even though the file it came from was smaller.
pub const MAX_RESOLVED_BYTES: usize = MAX_SCENARIO_BYTES as usize - RESOLVED_HEADER_BYTES;
/// Deepest table/array nesting accepted (a scenario needs 3).
const MAX_DEPTH: usize = 16;
/// Problems listed in an error message; the rest are counted.
const MAX_REPORTED: usize = 50;

/// Where a scenario came from, for error messages and the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceName {
    /// A file on disk.
    File(PathBuf),
    /// A scenario compiled into the binary.
    Embedded(&'static str),
    /// A scenario built in code and checked with [`Scenario::validate`].
    Code,
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceName::File(p) => write!(f, "{}", p.display()),
            SourceName::Embedded(name) => write!(f, "<embedded {name}>"),
            SourceName::Code => write!(f, "<scenario built in code>"),
        }
    }
}

/// One `--set key.path=value` override.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Dotted key path as written, e.g. `innovation.lambda` or `country.SAU.wage_k`.
    pub path: String,
    /// The value as written (parsed as a TOML value; bare words become strings).
    pub value: String,
}

/// Why a `--set key.path=value` text is not an override.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// No `=` in the text.
    #[error("`--set {text}`: expected key.path=value")]
    MissingEquals {
        /// The text as given (clipped).
        text: String,
    },
    /// The key, or one of its dotted parts, is empty.
    #[error("`--set {text}`: empty key in `{key}`")]
    EmptyKey {
        /// The text as given (clipped).
        text: String,
        /// The key part (clipped).
        key: String,
    },
    /// More dotted parts than any scenario key has.
    #[error("`--set {text}`: a key path of {parts} parts; scenario keys have at most 3")]
    TooDeep {
        /// The text as given (clipped).
        text: String,
        /// Number of dotted parts.
        parts: usize,
    },
}

impl Override {
    /// Parses `key.path=value`.
    pub fn parse(text: &str) -> Result<Override, OverrideError> {
        let (path, value) = text
            .split_once('=')
            .ok_or_else(|| OverrideError::MissingEquals { text: echo(text) })?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(|s| s.trim().is_empty()) {
            return Err(OverrideError::EmptyKey {
                text: echo(text),
                key: echo(path),
            });
        }
        let parts = path.split('.').count();
        if parts > MAX_DEPTH {
            return Err(OverrideError::TooDeep {
                text: echo(text),
                parts,
            });
        }
        Ok(Override {
            path: path.to_string(),
            value: value.trim().to_string(),
        })
    }

    fn value(&self) -> Value {
        match toml::from_str::<Table>(&format!("v = {}", self.value)) {
            Ok(mut t) => t
                .remove("v")
                .unwrap_or_else(|| Value::String(self.value.clone())),
            Err(_) => Value::String(self.value.clone()),
        }
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.path, self.value)
    }
}

/// One problem found in a scenario, located as precisely as the input allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `file:line:col`, `--set key=value`, or just the file.
    pub location: String,
    /// Line in the file, when the problem has one (used to list problems in document order).
    pub line: Option<usize>,
    /// The key path, e.g. `country[3].wage_k` (empty for syntax errors).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn new(location: String, key: &str, message: String) -> Problem {
        // `file:line:col` → line; `--set …` and bare file names have none.
        let line = if location.starts_with("--set") {
            None
        } else {
            let mut parts = location.rsplitn(3, ':');
            let _col = parts.next();
            parts.next().and_then(|l| l.parse().ok())
        };
        // Hostile input can make keys and messages enormous; a report stays readable.
        Problem {
            location: clip(&location, 300),
            line,
            key: clip(key, 120),
            message: clip(&message, 600),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.location, self.key, self.message)
        }
    }
}

/// Every problem found in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The scenario's source.
    pub source_name: String,
    /// The problems, in document order where known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "invalid scenario {}: {n} problem{}",
            self.source_name,
            if n == 1 { "" } else { "s" }
        )?;
        let shown = n.min(MAX_REPORTED);
        for (i, p) in self.problems.iter().take(shown).enumerate() {
            if i + 1 < n {
                writeln!(f, "  {p}")?;
            } else {
                write!(f, "  {p}")?;
            }
        }
        if n > shown {
            write!(f, "  … and {} more", n - shown)?;
        }
        Ok(())
    }
}

impl ScenarioError {
    fn single(source: &SourceName, location: String, key: &str, message: String) -> Self {
        ScenarioError {
            source_name: source.to_string(),
            problems: vec![Problem::new(location, key, message)],
        }
    }

    fn sorted(source_name: String, mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        ScenarioError {
            source_name,
            problems,
        }
    }
}

/// Reads and checks a scenario file, applying `overrides`.
pub fn load_file(path: &Path, overrides: &[Override]) -> Result<ValidScenario, ScenarioError> {
    let source = SourceName::File(path.to_path_buf());
    let loc = source.to_string();
    let meta = std::fs::metadata(path).map_err(|e| {
        ScenarioError::single(&source, loc.clone(), "", format!("cannot read: {e}"))
    })?;
    if !meta.is_file() {
        return Err(ScenarioError::single(
            &source,
            loc,
            "",
            "not a regular file".into(),
        ));
    }
    if meta.len() > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::single(
            &source,
            loc,
            "",
            format!(
                "file is {} bytes; scenarios larger than {MAX_SCENARIO_BYTES} bytes are refused",
                meta.len()
            ),
        ));
    }
    // Read at most one byte more than allowed: a file that grows meanwhile is still bounded.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| {
            ScenarioError::single(&source, loc.clone(), "", format!("cannot read: {e}"))
        })?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::single(
            &source,
            loc,
            "",
            format!("file grew beyond {MAX_SCENARIO_BYTES} bytes while being read"),
        ));
    }
    load_bytes(&bytes, &source, overrides)
}

/// Checks that `bytes` are UTF-8 text, then parses and checks them as scenario text.
pub fn load_bytes(
    bytes: &[u8],
    source: &SourceName,
    overrides: &[Override],
) -> Result<ValidScenario, ScenarioError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        // The prefix up to `offset` is valid UTF-8 by definition.
        let valid = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let (line, col) = line_col(valid, offset);
        ScenarioError::single(
            source,
            format!("{source}:{line}:{col}"),
            "",
            format!(
                "file is not valid UTF-8 (byte 0x{:02x} at offset {offset}); scenarios are TOML text",
                bytes.get(offset).copied().unwrap_or(0)
            ),
        )
    })?;
    load_str(text, source, overrides)
}

/// Parses and checks scenario text, applying `overrides`.
pub fn load_str(
    text: &str,
    source: &SourceName,
    overrides: &[Override],
) -> Result<ValidScenario, ScenarioError> {
    let name = source.to_string();
    if text.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::single(
            source,
            name,
            "",
            "scenario text too large".into(),
        ));
    }
    if let Some(offset) = excessive_nesting(text) {
        let (line, col) = line_col(text, offset);
        return Err(ScenarioError::single(
            source,
            format!("{name}:{line}:{col}"),
            "",
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    let spanned = DeTable::parse(text).map_err(|e| {
        let location = match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{name}:{line}:{col}")
            }
            None => name.clone(),
        };
        ScenarioError::single(
            source,
            location,
            "",
            format!("TOML syntax: {}", e.message().trim()),
        )
    })?;
    let mut keys = Vec::new();
    index_spans(spanned.get_ref(), "", &mut keys);
    let offsets: Vec<usize> = keys.iter().map(|(_, at)| *at).collect();
    let mut spans = BTreeMap::new();
    for ((path, _), place) in keys.into_iter().zip(line_cols(text, &offsets)) {
        // The first occurrence names the key (array items are indexed before their contents).
        spans.entry(path).or_insert(place);
    }
    let mut table: Table = toml::from_str(text).map_err(|e| {
        ScenarioError::single(
            source,
            name.clone(),
            "",
            format!("TOML syntax: {}", e.message().trim()),
        )
    })?;

    let locator = Locator {
        file: name.clone(),
        spans,
        overridden: BTreeMap::new(),
    };
    let mut locator = locator;
    let mut problems = Vec::new();
    for ov in overrides {
        match apply_override(&mut table, ov) {
            Ok(path) => {
                locator.overridden.insert(path, echo(&ov.to_string()));
            }
            Err(message) => problems.push(Problem::new(
                format!("--set {}", echo(&ov.to_string())),
                &ov.path,
                message,
            )),
        }
    }

    let template = schema(source)?;
    // Structure first; every value found wrong is replaced by a well-typed stand-in (and its
    // key remembered), so the meaning checks can still run on the rest of the document.
    let mut repaired = Vec::new();
    walk_table(
        &mut table,
        &template,
        "",
        &locator,
        &mut problems,
        &mut repaired,
    );
    let mut scenario: Scenario = match Value::Table(table).try_into() {
        Ok(s) => s,
        Err(e) => {
            let e: toml::de::Error = e;
            let mut problems = sort_by_line(problems);
            problems.push(Problem::new(
                name.clone(),
                "",
                e.message().trim().to_string(),
            ));
            return Err(ScenarioError {
                source_name: name,
                problems,
            });
        }
    };
    name_countries(&mut scenario);
    meaning(scenario, &locator, problems, &repaired)
}

/// Problems in document order (those without a line last), the order of one phase.
fn sort_by_line(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    problems
}

/// Whether a meaning problem at `key` follows from a structure problem already reported: the
/// key (or an enclosing one) was replaced by a stand-in, or it belongs to a policy whose kind
/// was (its other checks depend on the kind).
fn follows_from(key: &str, repaired: &[String]) -> bool {
    repaired.iter().any(|r| {
        key == r
            || key.starts_with(&format!("{r}."))
            || key.starts_with(&format!("{r}["))
            || r.strip_suffix(".kind")
                .is_some_and(|item| key.starts_with(&format!("{item}.")))
    })
}

/// The schema files are checked against: [`Scenario::template`] as a TOML table.
fn schema(source: &SourceName) -> Result<Table, ScenarioError> {
    let internal = |m: String| ScenarioError::single(source, source.to_string(), "", m);
    match Value::try_from(Scenario::template()) {
        Ok(Value::Table(t)) => Ok(t),
        Ok(_) => Err(internal("internal schema error".into())),
        Err(e) => Err(internal(format!("internal schema error: {e}"))),
    }
}

fn name_countries(scenario: &mut Scenario) {
    for c in &mut scenario.countries {
        if c.name.is_empty() {
            c.name = c.code.clone();
        }
    }
}

/// The meaning checks ([`check::check`]), located by `locator`, after the `structure` problems
/// already found; meaning problems that follow from a `repaired` key are left out. A scenario
/// that passes every check is also refused when its resolved TOML could not be read back.
fn meaning(
    scenario: Scenario,
    locator: &Locator,
    structure: Vec<Problem>,
    repaired: &[String],
) -> Result<ValidScenario, ScenarioError> {
    let mut found: Vec<Problem> = check::check(&scenario)
        .into_iter()
        .filter(|(key, _)| !follows_from(key, repaired))
        .map(|(key, message)| Problem::new(locator.locate(&key), &key, message))
        .collect();
    if found.is_empty() && structure.is_empty() {
        let written = scenario.to_toml().len();
        if written > 0 && written <= MAX_RESOLVED_BYTES {
            return Ok(ValidScenario::new_unchecked(scenario));
        }
        found.push(Problem::new(
            locator.locate(""),
            "",
            format!(
                "the resolved scenario (every parameter written out, as a run stores it) \
                 would be {written} bytes; at most {MAX_RESOLVED_BYTES} can be read back \
                 (shorten names, or use fewer countries, partnerships or policies)"
            ),
        ));
    }
    let mut problems = sort_by_line(structure);
    problems.extend(sort_by_line(found));
    Err(ScenarioError {
        source_name: locator.file.clone(),
        problems,
    })
}

/// [`Scenario::validate`]: the structure checks that can fail for a typed value (non-finite
/// numbers, unknown policy kinds cannot occur) and the meaning checks, as for a file.
pub(super) fn validate(
    mut scenario: Scenario,
    source: &SourceName,
) -> Result<ValidScenario, ScenarioError> {
    let locator = Locator {
        file: source.to_string(),
        spans: BTreeMap::new(),
        overridden: BTreeMap::new(),
    };
    let template = schema(source)?;
    let mut problems = Vec::new();
    let mut repaired = Vec::new();
    match Value::try_from(&scenario) {
        Ok(Value::Table(mut table)) => walk_table(
            &mut table,
            &template,
            "",
            &locator,
            &mut problems,
            &mut repaired,
        ),
        Ok(_) => {}
        Err(e) => {
            problems.push(Problem::new(
                locator.file.clone(),
                "",
                format!("cannot be represented as TOML: {e}"),
            ));
            return Err(ScenarioError::sorted(locator.file, problems));
        }
    }
    name_countries(&mut scenario);
    // A typed scenario can only be wrong in its numbers (NaN, ±inf), which the meaning checks
    // see as they are; what follows from them is left out as for a file.
    meaning(scenario, &locator, problems, &repaired)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut start = offset;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Byte offset where brackets nest deeper than [`MAX_DEPTH`], ignoring strings and comments.
/// The TOML parser recurses on nesting, so absurd nesting is refused before parsing.
fn excessive_nesting(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string: Option<u8> = None;
    let mut in_comment = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_comment {
            if b == b'\n' {
                in_comment = false;
            }
        } else if let Some(q) = in_string {
            if b == b'\\' && q == b'"' {
                i += 1;
            } else if b == q || b == b'\n' {
                in_string = None;
            }
        } else {
            match b {
                b'#' => in_comment = true,
                b'"' | b'\'' => in_string = Some(b),
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(i);
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Every key path of the document with the byte offset where it starts.
fn index_spans(table: &DeTable<'_>, prefix: &str, out: &mut Vec<(String, usize)>) {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
        out.push((path.clone(), key.span().start));
        index_value(value.get_ref(), &path, out);
    }
}

fn index_value(value: &DeValue<'_>, path: &str, out: &mut Vec<(String, usize)>) {
    match value {
        DeValue::Table(t) => index_spans(t, path, out),
        DeValue::Array(items) => {
            // Items of scalar arrays are located by their array: indexing them would cost a
            // string per number of `x = [1, 1, …]`.
            for (i, item) in items.iter().enumerate() {
                if matches!(item.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                    let item_path = format!("{path}[{i}]");
                    out.push((item_path.clone(), item.span().start));
                    index_value(item.get_ref(), &item_path, out);
                }
            }
        }
        _ => {}
    }
}

/// 1-based (line, column in characters) of many byte offsets, in one pass over `text`: a pass
/// per key would be quadratic, and a 4 MiB file can hold hundreds of thousands of keys.
fn line_cols(text: &str, offsets: &[usize]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = vec![(1, 1); offsets.len()];
    let (mut line, mut col) = (1, 1);
    let mut chars = text.char_indices().peekable();
    for i in order {
        while let Some(&(pos, ch)) = chars.peek() {
            if pos >= offsets[i] {
                break;
            }
            if ch == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
            chars.next();
        }
        out[i] = (line, col);
    }
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Maps key paths to a human location: the `--set` that wrote it, or file:line:col of the
/// nearest enclosing key that appears in the file.
struct Locator {
    file: String,
    spans: BTreeMap<String, (usize, usize)>,
    overridden: BTreeMap<String, String>,
}

impl Locator {
    fn locate(&self, path: &str) -> String {
        let mut p = path.to_string();
        loop {
            if let Some(ov) = self.overridden.get(&p) {
                return format!("--set {ov}");
            }
            if let Some((line, col)) = self.spans.get(&p) {
                return format!("{}:{line}:{col}", self.file);
            }
            match parent(&p) {
                Some(up) => p = up,
                None => return self.file.clone(),
            }
        }
    }
}

fn parent(path: &str) -> Option<String> {
    let cut = path.rfind(['.', '['])?;
    Some(path[..cut].to_string())
}

/// The canonical spelling of the key path `path` in `scenario`, as an override of it would
/// write it: `country.SAU.openness` and `country.3.openness` are both `country[3].openness`
/// when SAU is the fourth country. Used to tell that two spellings name the same key.
pub fn canonical_key(scenario: &Scenario, path: &str) -> Result<String, String> {
    let mut table = match Value::try_from(scenario) {
        Ok(Value::Table(t)) => t,
        _ => return Err("the scenario cannot be represented as TOML".into()),
    };
    let probe = Override {
        path: path.trim().to_string(),
        value: "0".into(),
    };
    apply_override(&mut table, &probe)
}

/// Applies one override; returns the canonical path it wrote (`country[3].wage_k`).
fn apply_override(root: &mut Table, ov: &Override) -> Result<String, String> {
    let segments: Vec<&str> = ov.path.split('.').map(str::trim).collect();
    // Each segment can create a nested table; thousands would overflow the stack when the
    // document is later walked or dropped (found by fuzzing).
    if segments.len() > MAX_DEPTH {
        return Err(format!(
            "a key path of {} parts; scenario keys have at most 3",
            segments.len()
        ));
    }
    let mut canonical = String::new();
    let mut table = root;
    let mut i = 0;
    while i < segments.len() {
        let key = segments[i];
        canonical = join(&canonical, key);
        let last = i + 1 == segments.len();
        if last {
            table.insert(key.to_string(), ov.value());
            return Ok(canonical);
        }
        let entry = table
            .entry(key.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        match entry {
            Value::Table(t) => {
                table = t;
                i += 1;
            }
            Value::Array(items) => {
                let selector = segments[i + 1];
                let index = select_item(items, selector).ok_or_else(|| match items.len() {
                    0 => format!("`{key}` has no element `{selector}`: the list is empty"),
                    n => format!(
                        "`{key}` has no element `{selector}` (use an index from 0 to {} or, for \
                         countries, a code)",
                        n - 1
                    ),
                })?;
                canonical = format!("{canonical}[{index}]");
                if i + 2 == segments.len() {
                    return Err(format!(
                        "cannot replace a whole `{key}` element; set one of its keys"
                    ));
                }
                match &mut items[index] {
                    Value::Table(t) => table = t,
                    _ => return Err(format!("`{key}[{index}]` is not a table")),
                }
                i += 2;
            }
            other => {
                return Err(format!("`{canonical}` is {}, not a table", describe(other)));
            }
        }
    }
    Err("empty key".into())
}

fn select_item(items: &[Value], selector: &str) -> Option<usize> {
    if let Ok(i) = selector.parse::<usize>() {
        return (i < items.len()).then_some(i);
    }
    items
        .iter()
        .position(|v| v.get("code").and_then(Value::as_str) == Some(selector))
}

fn required_keys(path: &str) -> &'static [&'static str] {
    match path {
        "country" => COUNTRY_REQUIRED,
        "partnership" => PARTNERSHIP_REQUIRED,
        "policy" => POLICY_REQUIRED,
        _ => &[],
    }
}

fn allowed_strings(path: &str) -> Option<Vec<&'static str>> {
    if path.starts_with("policy[") && path.ends_with(".kind") {
        Some(super::PolicyKind::ALL.iter().map(|k| k.name()).collect())
    } else {
        None
    }
}

/// A well-typed stand-in for a value of the template's type `expected` at `path`, put where a
/// wrong value was so the meaning checks can run on the rest: the template's value, with
/// strings (codes) empty (so a stand-in matches no real country) and lists of tables empty.
fn stand_in(expected: &Value, path: &str) -> Value {
    match expected {
        Value::String(_) if allowed_strings(path).is_some() => expected.clone(),
        Value::String(_) => Value::String(String::new()),
        Value::Array(items) if matches!(items.first(), Some(Value::Table(_))) => {
            Value::Array(Vec::new())
        }
        Value::Table(t) => Value::Table(
            t.iter()
                .map(|(k, v)| (k.clone(), stand_in(v, &join(path, k))))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Checks `table` against `template`: unknown keys are reported and removed, wrong values
/// reported and replaced by a [`stand_in`]; every key so changed is pushed to `repaired`.
fn walk_table(
    table: &mut Table,
    template: &Table,
    path: &str,
    loc: &Locator,
    out: &mut Vec<Problem>,
    repaired: &mut Vec<String>,
) {
    let mut unknown = Vec::new();
    for (key, value) in table.iter_mut() {
        let key_path = join(path, key);
        match template.get(key) {
            Some(expected) => {
                if !walk_value(value, expected, &key_path, loc, out, repaired) {
                    *value = stand_in(expected, &key_path);
                    repaired.push(key_path);
                }
            }
            None => {
                let mut message = format!("unknown key `{key}`");
                if let Some(suggestion) = closest(key, template.keys().map(String::as_str)) {
                    message.push_str(&format!(" (did you mean `{suggestion}`?)"));
                } else if path.is_empty() {
                    let known: Vec<&str> = template.keys().map(String::as_str).collect();
                    message.push_str(&format!(" (known sections: {})", known.join(", ")));
                }
                out.push(Problem::new(loc.locate(&key_path), &key_path, message));
                unknown.push(key.clone());
                repaired.push(key_path);
            }
        }
    }
    for key in unknown {
        table.remove(&key);
    }
}

/// Checks one value; false when it is wrong and must be replaced (the problem is reported).
fn walk_value(
    value: &mut Value,
    expected: &Value,
    path: &str,
    loc: &Locator,
    out: &mut Vec<Problem>,
    repaired: &mut Vec<String>,
) -> bool {
    let mut problem = |message: String| {
        out.push(Problem::new(loc.locate(path), path, message));
        false
    };
    match (expected, value) {
        (Value::Table(t), Value::Table(v)) => {
            walk_table(v, t, path, loc, out, repaired);
            true
        }
        (Value::Array(t), Value::Array(items)) => {
            let Some(element) = t.first() else {
                return true;
            };
            let list_name = path.rsplit('.').next().unwrap_or(path);
            for (i, item) in items.iter_mut().enumerate() {
                let item_path = format!("{path}[{i}]");
                if let (Value::Table(et), Value::Table(it)) = (element, &mut *item) {
                    let missing: Vec<&str> = required_keys(list_name)
                        .iter()
                        .copied()
                        .filter(|k| !it.contains_key(*k))
                        .collect();
                    if !missing.is_empty() {
                        let s = if missing.len() == 1 { "" } else { "s" };
                        let names: Vec<String> = missing.iter().map(|k| format!("`{k}`")).collect();
                        out.push(Problem::new(
                            loc.locate(&item_path),
                            &item_path,
                            format!("missing required key{s} {}", names.join(", ")),
                        ));
                        for k in missing {
                            if let Some(v) = et.get(k) {
                                let key_path = format!("{item_path}.{k}");
                                it.insert(k.to_string(), stand_in(v, &key_path));
                                repaired.push(key_path);
                            }
                        }
                    }
                    walk_table(it, et, &item_path, loc, out, repaired);
                } else if !walk_value(item, element, &item_path, loc, out, repaired) {
                    *item = stand_in(element, &item_path);
                    repaired.push(item_path);
                }
            }
            true
        }
        (Value::Float(_), Value::Float(x)) if !x.is_finite() => {
            problem(format!("must be a finite number, found {x}"))
        }
        (Value::Float(_), Value::Float(_) | Value::Integer(_)) => true,
        (Value::Integer(_), Value::Integer(x)) => {
            let x = *x;
            match integer_range(path).filter(|&(lo, hi)| !(lo..=hi).contains(&x)) {
                Some((lo, hi)) => problem(format!("must be an integer in [{lo}, {hi}], found {x}")),
                None => true,
            }
        }
        (Value::Boolean(_), Value::Boolean(_)) => true,
        (Value::String(_), Value::String(s)) => match allowed_strings(path) {
            Some(allowed) if !allowed.contains(&s.as_str()) => problem(format!(
                "unknown value \"{}\"; expected one of: {}",
                echo(s),
                allowed.join(", ")
            )),
            _ => true,
        },
        (Value::Integer(_), Value::Float(x)) => problem(format!("expected an integer, found {x}")),
        (expected, found) => {
            let message = format!(
                "expected {}, found {} ({})",
                describe(expected),
                describe(found),
                short(found)
            );
            problem(message)
        }
    }
}

/// The range of the integer key at `path` when its Rust type is narrower than TOML's i64 (e.g.
/// `world.seed` is a u64, so `-1` does not fit): a value outside it would otherwise fail only
/// when the table is converted to a [`Scenario`], in a message naming neither key nor line.
fn integer_range(path: &str) -> Option<(i64, i64)> {
    static RANGES: OnceLock<BTreeMap<String, (i64, i64)>> = OnceLock::new();
    RANGES
        .get_or_init(probe_integer_ranges)
        .get(&schema_path(path))
        .copied()
}

/// `policy[3].x` → `policy[].x`: a key path with its array indices dropped.
fn schema_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for ch in path.chars() {
        match ch {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(ch),
        }
    }
    out
}

/// The ranges of the template's integer keys, found by asking serde which values the typed
/// [`Scenario`] accepts at each one: they follow the Rust types, so a new `u32` or `u64` key is
/// covered without a list to keep up to date.
fn probe_integer_ranges() -> BTreeMap<String, (i64, i64)> {
    let mut ranges = BTreeMap::new();
    let Ok(Value::Table(template)) = Value::try_from(Scenario::template()) else {
        return ranges;
    };
    let mut leaves = Vec::new();
    integer_leaves(&template, "", &mut leaves);
    for (path, steps) in leaves {
        let accepts = |v: i64| {
            let mut t = template.clone();
            set_leaf(&mut t, &steps, v);
            Value::Table(t).try_into::<Scenario>().is_ok()
        };
        let lo = [
            i64::MIN,
            i32::MIN.into(),
            i16::MIN.into(),
            i8::MIN.into(),
            0,
        ]
        .into_iter()
        .find(|&v| accepts(v));
        let hi = [
            i64::MAX,
            u32::MAX.into(),
            i32::MAX.into(),
            u16::MAX.into(),
            i16::MAX.into(),
            u8::MAX.into(),
            i8::MAX.into(),
        ]
        .into_iter()
        .find(|&v| accepts(v));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if (lo, hi) != (i64::MIN, i64::MAX) {
                ranges.insert(path, (lo, hi));
            }
        }
    }
    ranges
}

/// Every integer leaf of `table`: its schema path and the keys leading to it (`None`: the
/// first element of an array).
fn integer_leaves(table: &Table, prefix: &str, out: &mut Vec<(String, Vec<Option<String>>)>) {
    fn visit(
        v: &Value,
        path: String,
        steps: Vec<Option<String>>,
        out: &mut Vec<(String, Vec<Option<String>>)>,
    ) {
        match v {
            Value::Integer(_) => out.push((path, steps)),
            Value::Table(t) => {
                for (k, x) in t {
                    let mut s = steps.clone();
                    s.push(Some(k.clone()));
                    visit(x, join(&path, k), s, out);
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    let mut s = steps;
                    s.push(None);
                    visit(first, format!("{path}[]"), s, out);
                }
            }
            _ => {}
        }
    }
    for (k, x) in table {
        visit(x, join(prefix, k), vec![Some(k.clone())], out);
    }
}

fn set_leaf(table: &mut Table, steps: &[Option<String>], v: i64) {
    let Some((Some(first), rest)) = steps.split_first() else {
        return;
    };
    let Some(mut at) = table.get_mut(first) else {
        return;
    };
    for step in rest {
        let next = match (step, at) {
            (Some(k), Value::Table(t)) => t.get_mut(k),
            (None, Value::Array(a)) => a.first_mut(),
            _ => None,
        };
        let Some(next) = next else { return };
        at = next;
    }
    *at = Value::Integer(v);
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(a) if matches!(a.first(), Some(Value::Table(_))) => {
            "a list of tables ([[...]])"
        }
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// A value as quoted in a message, cut at 40 characters. Tables and arrays are rendered two
/// levels deep at most (serialising a whole hostile document could be deep and huge).
fn short(v: &Value) -> String {
    fn render(v: &Value, depth: usize, out: &mut String) {
        if out.len() > 40 {
            return;
        }
        match v {
            Value::Table(t) if depth >= 2 => {
                out.push_str(if t.is_empty() { "{}" } else { "{…}" })
            }
            Value::Array(a) if depth >= 2 => {
                out.push_str(if a.is_empty() { "[]" } else { "[…]" })
            }
            Value::Table(t) => {
                out.push_str("{ ");
                for (i, (k, x)) in t.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if out.len() > 40 {
                        break;
                    }
                    out.push_str(&clip(k, 40));
                    out.push_str(" = ");
                    render(x, depth + 1, out);
                }
                out.push_str(" }");
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if out.len() > 40 {
                        break;
                    }
                    render(x, depth + 1, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&clip(&scalar.to_string(), 40)),
        }
    }
    let mut s = String::new();
    render(v, 0, &mut s);
    clip(&s, 40)
}

/// The known key closest to `key` by edit distance, if close enough to be a typo.
fn closest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    if key.len() > 64 {
        return None; // no key is that long; and edit distance is quadratic
    }
    for k in known {
        let d = edit_distance(key, k);
        if d <= 2.max(key.len() / 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Names of the scenarios compiled into the binary.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("world2025", super::WORLD2025_TOML),
    ("toy3", super::TOY3_TOML),
];

/// Loads a scenario by path, or an embedded one by name (`world2025`, `toy3`) when no such file
/// exists. A relative path is taken from `base_dir` when given (e.g. an experiment file's folder).
/// Returns the scenario and a description of its source.
pub fn load_named(
    name: &str,
    base_dir: Option<&Path>,
    overrides: &[Override],
) -> Result<(ValidScenario, String), ScenarioError> {
    let path = match base_dir {
        Some(dir) if Path::new(name).is_relative() => dir.join(name),
        _ => PathBuf::from(name),
    };
    if !path.exists() {
        if let Some((n, text)) = EMBEDDED.iter().find(|(n, _)| *n == name) {
            let source = SourceName::Embedded(n);
            return load_str(text, &source, overrides).map(|s| (s, source.to_string()));
        }
    }
    load_file(&path, overrides).map(|s| (s, path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_spellings_of_a_key_have_one_canonical_form() {
        let s = load_str(super::super::TOY3_TOML, &SourceName::Embedded("toy3"), &[]).unwrap();
        let key = |p: &str| canonical_key(&s, p);
        assert_eq!(
            key("country.NEW.openness"),
            Ok("country[2].openness".into())
        );
        assert_eq!(key("country.2.openness"), Ok("country[2].openness".into()));
        assert_eq!(key(" world . years "), Ok("world.years".into()));
        assert!(key("country.ZZZ.openness")
            .unwrap_err()
            .contains("no element `ZZZ`"));
    }

    #[test]
    fn narrow_integer_keys_have_their_ranges() {
        assert_eq!(integer_range("world.seed"), Some((0, i64::MAX)));
        // i64 keys take every TOML integer: no range to check beyond the meaning checks.
        assert_eq!(integer_range("world.years"), None);
        assert_eq!(schema_path("policy[12].budget_bn"), "policy[].budget_bn");
    }
}
