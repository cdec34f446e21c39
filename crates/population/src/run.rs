//! The engine: one DataFusion session, the stages of a run, the outputs, and `explain`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::config::RunSettings;
use crate::ingest::{IngestReport, TableSummary, UnknownCode};
use crate::reference::Reference;
use crate::{engine, ingest, places, udf, Codelists, PopulationError};

/// The stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Ingest,
    Features,
    Person,
    Cohorts,
    Places,
    Outputs,
}

impl Stage {
    /// Every stage in run order.
    pub const ALL: [Stage; 6] = [
        Stage::Ingest,
        Stage::Features,
        Stage::Person,
        Stage::Cohorts,
        Stage::Places,
        Stage::Outputs,
    ];

    /// A short name for progress bars and reports.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest and validate",
            Stage::Features => "features and scores",
            Stage::Person => "tiers and segments",
            Stage::Cohorts => "cohorts and worklists",
            Stage::Places => "place profiles",
            Stage::Outputs => "write outputs",
        }
    }
}

/// How long a stage took and the process's peak memory when it ended.
#[derive(Debug, Clone, Copy)]
pub struct StageTiming {
    pub stage: Stage,
    pub wall: Duration,
    /// Peak resident set size of the process so far (VmHWM), in KiB, where the platform reports it.
    pub peak_rss_kib: Option<u64>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub tables: Vec<TableSummary>,
    pub warnings: Vec<String>,
    /// Codelists the configuration or the score tables name that were not loaded.
    pub missing_codelists: Vec<String>,
    /// Well-formed codes no codelist or score table names, most rows first.
    pub unknown_codes: Vec<UnknownCode>,
    /// The configured limit on each table's share of rejected rows.
    pub max_rejected_share: f64,
    /// The Charlson variant written as `charlson`.
    pub charlson_variant: &'static str,
    pub people: u64,
    /// (cohort name, title, people on the worklist).
    pub cohorts: Vec<(String, String, u64)>,
    /// (segment, people), in rule order.
    pub segments: Vec<(String, u64)>,
    pub timings: Vec<StageTiming>,
    pub outputs: Vec<PathBuf>,
}

impl RunSummary {
    /// Why this run's answer cannot be trusted as it stands: a table that rejected more than the
    /// configured share of its rows, or a codelist that is not loaded. Empty for a good run.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .tables
            .iter()
            .filter(|t| t.rejected_share() > self.max_rejected_share)
            .map(|t| {
                format!(
                    "{} rejected {} of {} rows ({:.1}%), more than the limit of {:.1}% (max_rejected_share); see diagnostics.csv",
                    t.table,
                    t.rejected,
                    t.read,
                    t.rejected_share() * 100.0,
                    self.max_rejected_share * 100.0
                )
            })
            .collect();
        out.extend(self.missing_codelists.iter().map(|name| {
            format!("codelist {name} is named by the configuration or a score but is not loaded: nothing can match it")
        }));
        out
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<24} {:>10} {:>10} {:>10} {:>8} {:>14}",
            "table", "read", "accepted", "rejected", "% rej", "values ignored"
        )?;
        for t in &self.tables {
            let table = if t.file.is_none() {
                format!("{} (no file)", t.table)
            } else {
                t.table.clone()
            };
            writeln!(
                f,
                "{:<24} {:>10} {:>10} {:>10} {:>8.2} {:>14}",
                table,
                t.read,
                t.accepted,
                t.rejected,
                t.rejected_share() * 100.0,
                t.values_ignored
            )?;
        }
        if !self.unknown_codes.is_empty() {
            // One count per code, whichever table or column carried it.
            let mut per_code: std::collections::BTreeMap<(&str, &str), u64> =
                std::collections::BTreeMap::new();
            for c in &self.unknown_codes {
                *per_code.entry((&c.system, &c.code)).or_default() += c.rows;
            }
            let rows: u64 = per_code.values().sum();
            let mut ranked: Vec<_> = per_code.iter().collect();
            ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let top: Vec<String> = ranked
                .iter()
                .take(10)
                .map(|((system, code), n)| format!("{system} {code} ({n} rows)"))
                .collect();
            writeln!(
                f,
                "\nwarning: {} distinct well-formed codes on {rows} accepted rows are in no loaded codelist or score table, so they count towards nothing (per code in unknown_codes.csv); most frequent: {}",
                per_code.len(),
                top.join(", ")
            )?;
        }
        writeln!(
            f,
            "\npeople in the population at the index date: {}",
            self.people
        )?;
        for (segment, n) in &self.segments {
            writeln!(f, "  segment {segment}: {n}")?;
        }
        for (_, title, n) in &self.cohorts {
            writeln!(f, "  worklist {title}: {n}")?;
        }
        writeln!(
            f,
            "  Charlson score used by default (column charlson): {}",
            self.charlson_variant
        )?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        for t in &self.timings {
            let rss = t
                .peak_rss_kib
                .map_or_else(String::new, |k| format!(", peak RSS {} MiB", k / 1024));
            writeln!(
                f,
                "stage {}: {:.2} s{rss}",
                t.stage.label(),
                t.wall.as_secs_f64()
            )?;
        }
        let failures = self.failures();
        if failures.is_empty() {
            writeln!(
                f,
                "\nrun complete: no table over its rejection limit, every named codelist loaded"
            )?;
        } else {
            writeln!(f, "\nrun INCOMPLETE:")?;
            for why in &failures {
                writeln!(f, "  - {why}")?;
            }
        }
        Ok(())
    }
}

/// The peak resident set size of this process in KiB (Linux `VmHWM`), or `None` elsewhere.
#[must_use]
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One person's features, scores, segment and cohorts, as name/value pairs for reading aloud.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub fields: Vec<(String, String)>,
    /// (cohort title, criteria met).
    pub cohorts: Vec<(String, String)>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &self.fields {
            writeln!(f, "{k:<width$}  {v}")?;
        }
        if self.cohorts.is_empty() {
            writeln!(f, "\non no worklist")?;
        }
        for (title, met) in &self.cohorts {
            writeln!(f, "\non worklist {title}: {met}")?;
        }
        Ok(())
    }
}

/// The session settings every run uses, on one machine or on a cluster.
#[must_use]
pub fn session_config() -> SessionConfig {
    // One file scan per file keeps row order, which the diagnostics' line numbers rely on.
    //
    // Text is held as plain `Utf8`, not DataFusion's default `Utf8View`: a view array made by
    // a join or a filter still points at every data buffer of its input, and gathering such
    // batches copies those buffers once per batch. Through the chain of per-person joins in
    // `person_features` that multiplied memory at every join (a 100,000-person run went past
    // 24 GB and was killed); with plain strings each join copies only the values it keeps.
    SessionConfig::new()
        .set_bool("datafusion.optimizer.repartition_file_scans", false)
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
        .set_bool("datafusion.sql_parser.map_string_types_to_utf8view", false)
}

/// The folder a run writes into before its outputs move to `out`: a hidden sibling, so that the
/// move is a rename on the same file system.
fn staging_folder(out: &Path) -> PathBuf {
    let name = out.file_name().map_or_else(
        || "outputs".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// A DataFusion session set up for one run.
pub struct Engine {
    ctx: SessionContext,
    settings: RunSettings,
    codelists: Codelists,
    reference: Reference,
    missing_codelists: Vec<String>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The session holds the data itself, which has no useful debug form.
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A session with careweave's functions, the reference tables and the codelists registered.
    ///
    /// # Errors
    /// Only if DataFusion refuses a table.
    pub fn new(settings: RunSettings, codelists: Codelists) -> Result<Self, PopulationError> {
        let ctx = SessionContext::new_with_config(session_config());
        Self::with_context(settings, codelists, ctx)
    }

    /// The same as [`Engine::new`] on a session the caller built, such as one whose queries run on
    /// a cluster. The session should start from [`session_config`]; careweave's functions,
    /// reference tables and codelists are registered on it here.
    ///
    /// # Errors
    /// Only if DataFusion refuses a table.
    pub fn with_context(
        settings: RunSettings,
        codelists: Codelists,
        ctx: SessionContext,
    ) -> Result<Self, PopulationError> {
        udf::register_all(&ctx);
        let reference = Reference::shipped()?;
        reference.register(&ctx)?;
        let batch = codelists.to_batch()?;
        ctx.register_table(
            "codelists",
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?),
        )?;
        let missing_codelists = engine::referenced_codelists(&settings, &reference)
            .into_iter()
            .filter(|name| codelists.get(name).is_none())
            .collect();
        Ok(Self {
            ctx,
            settings,
            codelists,
            reference,
            missing_codelists,
        })
    }

    /// The session, for queries over the named tables after a run (tests, the store loader).
    #[must_use]
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The reference tables the session was built with, for callers that run single stages
    /// (the evaluation reads features through them).
    #[must_use]
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The settings of this engine.
    #[must_use]
    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    /// The codelists of this engine.
    #[must_use]
    pub fn codelists(&self) -> &Codelists {
        &self.codelists
    }

    /// Runs the analysis stages over `input` without writing anything; `on_stage` is told when each
    /// stage starts. Returns the ingest report and the timings.
    ///
    /// # Errors
    /// See [`PopulationError`].
    pub async fn analyse(
        &self,
        input: &Path,
        on_stage: &mut dyn FnMut(Stage),
    ) -> Result<(IngestReport, Vec<StageTiming>), PopulationError> {
        let mut timings = Vec::new();
        let timed = |stage: Stage, started: Instant, timings: &mut Vec<StageTiming>| {
            timings.push(StageTiming {
                stage,
                wall: started.elapsed(),
                peak_rss_kib: peak_rss_kib(),
            });
        };
        on_stage(Stage::Ingest);
        let t = Instant::now();
        // Every rule is checked against the person schema before the extract is read, so that a
        // misspelt column stops the run at once, naming its file and rule.
        crate::rules_check::check_rules(&self.settings, &self.reference).await?;
        let report = ingest::ingest(
            &self.ctx,
            input,
            self.settings
                .config
                .extract_date
                .unwrap_or(self.settings.config.index_date),
            self.settings.config.input_format,
        )
        .await?;
        timed(Stage::Ingest, t, &mut timings);
        on_stage(Stage::Features);
        let t = Instant::now();
        engine::build_features(&self.ctx, &self.settings, &self.reference).await?;
        timed(Stage::Features, t, &mut timings);
        on_stage(Stage::Person);
        let t = Instant::now();
        engine::build_person(&self.ctx, &self.settings).await?;
        timed(Stage::Person, t, &mut timings);
        on_stage(Stage::Cohorts);
        let t = Instant::now();
        engine::build_cohorts(&self.ctx, &self.settings).await?;
        timed(Stage::Cohorts, t, &mut timings);
        Ok((report, timings))
    }

    /// A full run: analysis, place profiles, and outputs in `out` (Parquet tables and the
    /// diagnostics CSV).
    ///
    /// # Errors
    /// See [`PopulationError`].
    ///
    /// Every file is written first to a sibling folder of `out` and moved into `out` only when the
    /// whole run has succeeded, so a run that fails part way (a lost cluster executor, a full
    /// disk) leaves no output that looks complete; the sibling folder is removed on failure.
    pub async fn run(
        &self,
        input: &Path,
        out: &Path,
        on_stage: &mut dyn FnMut(Stage),
    ) -> Result<RunSummary, PopulationError> {
        let staging = staging_folder(out);
        let io = |path: &Path, source: std::io::Error| PopulationError::Io {
            path: path.to_path_buf(),
            source,
        };
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
        }
        let mut summary = match self.write_run(input, &staging, on_stage).await {
            Ok(summary) => summary,
            Err(e) => {
                // The partial outputs are useless and may be large; the error is what matters, so
                // a failure to remove them is not reported over it.
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::create_dir_all(out) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(io(out, e));
        }
        for path in &mut summary.outputs {
            let rel = path.strip_prefix(&staging).unwrap_or(path).to_path_buf();
            let target = out.join(&rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            std::fs::rename(&*path, &target).map_err(|e| io(&target, e))?;
            *path = target;
        }
        std::fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
        Ok(summary)
    }

    /// The run itself, writing every output under `out`.
    async fn write_run(
        &self,
        input: &Path,
        out: &Path,
        on_stage: &mut dyn FnMut(Stage),
    ) -> Result<RunSummary, PopulationError> {
        let (report, mut timings) = self.analyse(input, on_stage).await?;
        on_stage(Stage::Places);
        let t = Instant::now();
        places::build_place_profiles(&self.ctx, &self.settings).await?;
        timings.push(StageTiming {
            stage: Stage::Places,
            wall: t.elapsed(),
            peak_rss_kib: peak_rss_kib(),
        });
        on_stage(Stage::Outputs);
        let t = Instant::now();
        std::fs::create_dir_all(out).map_err(|source| PopulationError::Io {
            path: out.to_path_buf(),
            source,
        })?;
        let mut outputs = Vec::new();
        let mut tables = vec![
            "person".to_owned(),
            "worklist".to_owned(),
            "place_profiles".to_owned(),
        ];
        tables.extend(
            self.settings
                .cohorts
                .iter()
                .map(|c| format!("cohort_{}", c.name)),
        );
        for table in &tables {
            let path = out.join(format!("{table}.parquet"));
            self.ctx
                .table(table.as_str())
                .await?
                .write_parquet(
                    &path.to_string_lossy(),
                    DataFrameWriteOptions::new().with_single_file_output(true),
                    None,
                )
                .await?;
            outputs.push(path);
        }
        outputs.extend(
            crate::report::write_reports(
                &self.ctx,
                out,
                &self.settings.config.index_date.to_string(),
                self.settings.config.charlson.default.describe(),
            )
            .await?,
        );
        let diag_path = out.join("diagnostics.csv");
        write_diagnostics(&report.diagnostics, &diag_path)?;
        outputs.push(diag_path);
        let unknown_path = out.join("unknown_codes.csv");
        write_unknown_codes(&report.unknown_codes, &unknown_path)?;
        outputs.push(unknown_path);
        timings.push(StageTiming {
            stage: Stage::Outputs,
            wall: t.elapsed(),
            peak_rss_kib: peak_rss_kib(),
        });
        let people = self.count("SELECT count(*) FROM person").await?;
        let mut cohorts = Vec::new();
        for c in &self.settings.cohorts {
            cohorts.push((
                c.name.clone(),
                c.title.clone(),
                self.count(&format!("SELECT count(*) FROM cohort_{}", c.name))
                    .await?,
            ));
        }
        let mut segments = Vec::new();
        let mut seen = Vec::new();
        for r in &self.settings.segments {
            if seen.contains(&r.segment) {
                continue;
            }
            seen.push(r.segment.clone());
            let n = self
                .count(&format!(
                    "SELECT count(*) FROM person WHERE segment = '{}'",
                    r.segment.replace('\'', "''")
                ))
                .await?;
            segments.push((r.segment.clone(), n));
        }
        Ok(RunSummary {
            tables: report.tables,
            warnings: report.warnings,
            missing_codelists: self.missing_codelists.clone(),
            unknown_codes: report.unknown_codes,
            max_rejected_share: self.settings.config.max_rejected_share,
            charlson_variant: self.settings.config.charlson.default.describe(),
            people,
            cohorts,
            segments,
            timings,
            outputs,
        })
    }

    async fn count(&self, sql: &str) -> Result<u64, PopulationError> {
        let batches = self.ctx.sql(sql).await?.collect().await?;
        Ok(batches
            .first()
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::Int64Array>()
                    .map(|a| a.value(0))
            })
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    /// Every feature, score, segment rule and cohort criterion for one person, after
    /// [`Engine::analyse`] has run.
    ///
    /// # Errors
    /// [`PopulationError::NoSuchPerson`] when the person is not in the population.
    pub async fn explain(
        &self,
        nhs_number: &careweave_domain::NhsNumber,
    ) -> Result<Explanation, PopulationError> {
        let digits = nhs_number.as_digits();
        let batches = self
            .ctx
            .sql(&format!(
                "SELECT * FROM person WHERE nhs_number = '{digits}'"
            ))
            .await?
            .collect()
            .await?;
        let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
            return Err(PopulationError::NoSuchPerson);
        };
        let mut fields = vec![(
            "index_date".to_owned(),
            self.settings.config.index_date.to_string(),
        )];
        fields.extend(row_values(batch, 0)?);
        let mut cohorts = Vec::new();
        for c in &self.settings.cohorts {
            let rows = self
                .ctx
                .sql(&format!(
                    "SELECT criteria_met FROM cohort_{} WHERE nhs_number = '{digits}'",
                    c.name
                ))
                .await?
                .collect()
                .await?;
            if let Some(b) = rows.iter().find(|b| b.num_rows() > 0) {
                let met = row_values(b, 0)?
                    .into_iter()
                    .next()
                    .map(|(_, v)| v)
                    .unwrap_or_default();
                let described: Vec<String> = met
                    .split(", ")
                    .filter_map(|name| c.criteria.iter().find(|k| k.name == name))
                    .map(|k| format!("{} ({})", k.name, k.description))
                    .collect();
                cohorts.push((c.title.clone(), described.join("; ")));
            }
        }
        if let Some((_, rule)) = fields.iter().find(|(k, _)| k == "segment_rule") {
            if let Some(r) = self.settings.segments.iter().find(|r| &r.name == rule) {
                fields.push(("segment_rule_condition".to_owned(), r.when.clone()));
            }
        }
        Ok(Explanation { fields, cohorts })
    }
}

async fn profile_rows_in(ctx: &SessionContext) -> Result<Vec<ProfileExport>, PopulationError> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Int64Type;
    let batches = ctx
        .sql("SELECT level, place, place_name, dimension, category, people, emergency_admissions, ae_attendances, gp_appointments, bed_days, cost FROM place_profiles")
        .await?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        let cols = utf8_columns(b, 5)?;
        let text = |i: usize| cols[i].as_string::<i32>();
        for r in 0..b.num_rows() {
            let opt = |i: usize| (!b.column(i).is_null(r)).then(|| text(i).value(r).to_owned());
            let num = |i: usize| {
                let a = b.column(i).as_primitive::<Int64Type>();
                (!a.is_null(r)).then(|| a.value(r))
            };
            out.push(ProfileExport {
                level: text(0).value(r).to_owned(),
                place: text(1).value(r).to_owned(),
                place_name: opt(2),
                dimension: text(3).value(r).to_owned(),
                category: text(4).value(r).to_owned(),
                values: [num(5), num(6), num(7), num(8), num(9), num(10)],
            });
        }
    }
    Ok(out)
}

/// The place profiles a finished run wrote to `out` (`place_profiles.parquet`), for planning from a
/// run without running it again (`careweave workforce plan`).
///
/// # Errors
/// A missing or unreadable file.
pub async fn read_place_profiles(out: &Path) -> Result<Vec<ProfileExport>, PopulationError> {
    let ctx = SessionContext::new();
    let path = out.join("place_profiles.parquet");
    if !path.is_file() {
        return Err(PopulationError::Io {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no place_profiles.parquet: run `careweave population run` first",
            ),
        });
    }
    ctx.register_parquet(
        "place_profiles",
        &path.to_string_lossy(),
        datafusion::prelude::ParquetReadOptions::default(),
    )
    .await?;
    profile_rows_in(&ctx).await
}

/// One published cell of `place_profiles`, for loading into the operational store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileExport {
    pub level: String,
    pub place: String,
    pub place_name: Option<String>,
    pub dimension: String,
    pub category: String,
    /// People, emergency admissions, A&E attendances, GP appointments, bed days, cost (£).
    pub values: [Option<i64>; 6],
}

/// One worklist row, for loading into the operational store.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistExport {
    pub cohort: String,
    pub nhs_number: String,
    pub practice: Option<String>,
    pub segment: Option<String>,
    pub criteria_met: String,
    pub criteria_count: i64,
    pub age: Option<i64>,
    pub sex: Option<String>,
    pub efi: Option<f64>,
    pub charlson: Option<i64>,
    pub hfrs: Option<f64>,
    pub emergency_admissions: Option<i64>,
}

impl Engine {
    /// The place profiles as rows, after [`Engine::run`].
    ///
    /// # Errors
    /// A query failure (for example before a run).
    pub async fn profile_rows(&self) -> Result<Vec<ProfileExport>, PopulationError> {
        profile_rows_in(&self.ctx).await
    }

    /// The worklists as rows, after [`Engine::analyse`].
    ///
    /// # Errors
    /// A query failure (for example before a run).
    pub async fn worklist_rows(&self) -> Result<Vec<WorklistExport>, PopulationError> {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::datatypes::{Float64Type, Int64Type};
        // The figures behind the reasons travel with each row, so that a worker can sort by them
        // and see why someone was found without opening the extract.
        let batches = self
            .ctx
            .sql(
                "SELECT w.cohort, w.nhs_number, p.practice, p.segment, w.criteria_met, p.sex, \
                 CAST(w.criteria_count AS BIGINT), CAST(p.age AS BIGINT), CAST(p.charlson_quan_2011 AS BIGINT), \
                 CAST(p.emergency_admissions AS BIGINT), CAST(p.efi AS DOUBLE), CAST(p.hfrs AS DOUBLE) \
                 FROM worklist w JOIN person p ON p.nhs_number = w.nhs_number",
            )
            .await?
            .collect()
            .await?;
        let mut out = Vec::new();
        for b in &batches {
            let cols = utf8_columns(b, 6)?;
            let text = |i: usize| cols[i].as_string::<i32>();
            for r in 0..b.num_rows() {
                let opt = |i: usize| (!b.column(i).is_null(r)).then(|| text(i).value(r).to_owned());
                let int = |i: usize| {
                    let a = b.column(i).as_primitive::<Int64Type>();
                    (!a.is_null(r)).then(|| a.value(r))
                };
                let float = |i: usize| {
                    let a = b.column(i).as_primitive::<Float64Type>();
                    (!a.is_null(r)).then(|| a.value(r))
                };
                out.push(WorklistExport {
                    cohort: text(0).value(r).to_owned(),
                    nhs_number: text(1).value(r).to_owned(),
                    practice: opt(2),
                    segment: opt(3),
                    criteria_met: text(4).value(r).to_owned(),
                    sex: opt(5),
                    criteria_count: int(6).unwrap_or(0),
                    age: int(7),
                    charlson: int(8),
                    emergency_admissions: int(9),
                    efi: float(10),
                    hfrs: float(11),
                });
            }
        }
        Ok(out)
    }
}

/// The first `n` columns of `batch` as `Utf8` (DataFusion may hand back `Utf8View`).
pub(crate) fn utf8_columns(
    batch: &RecordBatch,
    n: usize,
) -> Result<Vec<datafusion::arrow::array::ArrayRef>, PopulationError> {
    (0..n)
        .map(|i| {
            Ok(datafusion::arrow::compute::cast(
                batch.column(i),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )?)
        })
        .collect()
}

/// The values of one row as display strings, by column name.
fn row_values(batch: &RecordBatch, row: usize) -> Result<Vec<(String, String)>, PopulationError> {
    let options = FormatOptions::default().with_null("(none)");
    let mut out = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
        out.push((field.name().clone(), formatter.value(row).to_string()));
    }
    Ok(out)
}

/// Writes `unknown_codes.csv`: `table,column,system,code,rows`, most rows first.
fn write_unknown_codes(codes: &[UnknownCode], path: &Path) -> Result<(), PopulationError> {
    let mut w = careweave_csv::Writer::with_header(["table", "column", "system", "code", "rows"]);
    for c in codes {
        w.record([
            c.table.clone(),
            c.column.clone(),
            c.system.clone(),
            c.code.clone(),
            c.rows.to_string(),
        ]);
    }
    std::fs::write(path, w.finish()).map_err(|source| PopulationError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the diagnostics as CSV: `file,line,field,problem,value,outcome`, through careweave's one CSV
/// writer, so that a rejected value a spreadsheet would run as a formula is written defused.
fn write_diagnostics(batches: &[RecordBatch], path: &Path) -> Result<(), PopulationError> {
    let header = batches.first().map_or_else(
        || {
            ["file", "line", "field", "problem", "value", "outcome"]
                .map(str::to_owned)
                .to_vec()
        },
        |b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        },
    );
    let mut w = careweave_csv::Writer::with_header(&header);
    let options = FormatOptions::default();
    for b in batches {
        let columns = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..b.num_rows() {
            w.record(columns.iter().map(|f| f.value(row).to_string()));
        }
    }
    std::fs::write(path, w.finish()).map_err(|source| PopulationError::Io {
        path: path.to_path_buf(),
        source,
    })
}
