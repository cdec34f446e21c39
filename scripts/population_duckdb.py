"""The population pipeline of `careweave population run` written in DuckDB SQL, for the comparison
benchmark `scripts/bench-population-vs-duckdb` (see docs/benchmarks.md).

It reads the same extract, the same codelists, score tables and rule files as the engine (from the
repository, never a copy) and does the same work: every row of every table checked (typed, first
problem named, duplicates and orphans rejected), features and the four scores, tiers, segments,
cohorts and worklists, written as Parquet. Place profiles and the HTML reports are not rebuilt here:
the benchmark compares careweave's time both end to end and without its place-profile stage.

Modes (each prints one JSON object on stdout):
  pipeline EXTRACT OUT   run the pipeline, write OUT/person.parquet and OUT/worklist.parquet and
                         print the summary used to check that both engines agree
  summary OUT            the same summary from another run's outputs (careweave's)
  scan EXTRACT           the time of a bare scan of every column the pipeline reads
  compare OUT STDOUT JSON  checks careweave's outputs (OUT) and run summary (STDOUT) against the
                         DuckDB pipeline's summary (JSON); exits 1 when they differ
"""

import csv
import datetime
import json
import os
import pathlib
import sys
import time
import tomllib

import duckdb

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRATE = ROOT / "crates" / "population"
THREADS = int(os.environ.get("CAREWEAVE_BENCH_THREADS", "2"))

# (name, [(column, kind, required)], link) as `crates/population/src/ingest.rs` lists them; kinds
# are nhs, date, text, int:min:max, bool, snomed, icd10, icd10_kept (a bad value is ignored).
BIG = 9223372036854775807
TABLES = [
    ("pcns", [("pcn_code", "text", True), ("name", "text", True)], None),
    ("practices", [("ods_code", "text", True), ("name", "text", True), ("pcn_code", "text", True)], None),
    ("lsoas", [("lsoa_code", "text", True), ("name", "text", True), ("imd_decile", "int:1:10", True)], None),
    ("persons", [("person_id", f"int:1:{BIG}", True), ("nhs_number", "nhs", True), ("date_of_birth", "date", True),
                 ("sex", "text", True), ("ethnic_category", "text", False), ("lsoa_code", "text", True),
                 ("practice_ods_code", "text", True), ("date_of_death", "date", False)], None),
    ("conditions", [("person_id", f"int:1:{BIG}", True), ("condition", "text", True), ("snomed_code", "snomed", True),
                    ("onset_date", "date", True)], "person"),
    ("social_needs", [("person_id", f"int:1:{BIG}", True), ("need", "text", True), ("snomed_code", "snomed", True),
                      ("recorded_date", "date", True)], "person"),
    ("frailty_deficits", [("person_id", f"int:1:{BIG}", True), ("deficit", "text", True), ("snomed_code", "snomed", False),
                          ("recorded_date", "date", True)], "person"),
    ("medication_counts", [("person_id", f"int:1:{BIG}", True), ("period_end", "date", True),
                           ("repeat_medications", "int:0:200", True)], "person"),
    ("gp_appointments", [("person_id", f"int:1:{BIG}", True), ("appointment_date", "date", True), ("attended", "bool", True)], "person"),
    ("ae_attendances", [("person_id", f"int:1:{BIG}", True), ("attendance_date", "date", True)], "person"),
    ("admissions", [("admission_id", f"int:1:{BIG}", True), ("person_id", f"int:1:{BIG}", True), ("admission_date", "date", True),
                    ("discharge_date", "date", True), ("admission_method", "text", True), ("primary_diagnosis", "icd10_kept", True)], "person"),
    ("admission_diagnoses", [("admission_id", f"int:1:{BIG}", True), ("position", "int:1:99", True), ("icd10_code", "icd10", True)], "admission"),
    ("outpatients", [("person_id", f"int:1:{BIG}", True), ("appointment_date", "date", True), ("attended", "bool", True)], "person"),
    ("community_contacts", [("person_id", f"int:1:{BIG}", True), ("contact_date", "date", True)], "person"),
    ("mental_health_contacts", [("person_id", f"int:1:{BIG}", True), ("contact_date", "date", True)], "person"),
]


def icd10_normalise(text):
    """The same structural check and normal form as `crates/population/src/icd10.rs`."""
    text = text.strip()
    if text and text[-1] in "†+*!":
        text = text[:-1].rstrip()
    if "." in text:
        dot = text.find(".")
        if dot != 3 or "." in text[dot + 1:]:
            return None
    chars = [c.upper() if c.isascii() else c for c in text if c != "."]
    if len(chars) < 3:
        return None
    letter, d1, d2, rest = chars[0], chars[1], chars[2], chars[3:]
    if not ("A" <= letter <= "Z") or not d1.isdigit() or not d2.isdigit() or not d1.isascii() or not d2.isascii():
        return None
    sub, i, padded = "", 0, False
    while i < len(rest) and i < 2:
        c = rest[i]
        if c.isascii() and c.isdigit() and not padded:
            sub += c
        elif c in "X-":
            padded = True
        else:
            break
        i += 1
    if i < len(rest) and rest[i] in "DA":
        i += 1
    if i != len(rest):
        return None
    return letter + d1 + d2 + ("." + sub if sub else "")


def read_csv_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load_codelists():
    """Every shipped codelist as (codelist, system, code): the repository's, then the crate's (which
    win on a shared name, as in `Codelists::load`)."""
    lists = {}
    for root in (ROOT / "codelists", CRATE / "codelists"):
        for path in sorted(root.rglob("*.csv")):
            name = path.relative_to(root).with_suffix("").as_posix()
            system = name.split("/")[0]
            codes = set()
            for row in read_csv_rows(path):
                code = (row.get("code") or "").strip()
                if not code:
                    continue
                if system == "icd10":
                    code = icd10_normalise(code) or code
                codes.add(code)
            lists[name] = (system, codes)
    return [(name, system, code) for name, (system, codes) in lists.items() for code in sorted(codes)]


def settings():
    config = tomllib.loads((CRATE / "rules" / "default.toml").read_text())
    segments = tomllib.loads((CRATE / "rules" / "segments.toml").read_text())["rule"]
    cohorts = [tomllib.loads(p.read_text()) for p in sorted((CRATE / "rules" / "cohorts").glob("*.toml"))]
    return config, segments, cohorts


def register_reference(con):
    con.execute("CREATE TEMP TABLE codelists(codelist VARCHAR, system VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO codelists VALUES (?, ?, ?)", load_codelists())
    data = CRATE / "data"
    charlson_map = [(r["category"], icd10_normalise(r["code"])) for r in read_csv_rows(data / "charlson_quan2005_icd10.csv")]
    con.execute("CREATE TEMP TABLE charlson_map(category VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO charlson_map VALUES (?, ?)", charlson_map)
    weights = read_csv_rows(data / "charlson_weights.csv")
    con.execute("CREATE TEMP TABLE hfrs_weights(code VARCHAR, weight DOUBLE)")
    con.executemany("INSERT INTO hfrs_weights VALUES (?, ?)",
                    [(r["code"], float(r["weight"])) for r in read_csv_rows(data / "hfrs_icd10.csv")])
    con.execute("CREATE TEMP TABLE cms_codelists(condition VARCHAR, weight DOUBLE, window_years BIGINT, codelist VARCHAR)")
    con.executemany("INSERT INTO cms_codelists VALUES (?, ?, ?, ?)", [
        (r["condition"], float(r["weight"]), int(r["window_years"]) if r["window_years"] else None, l)
        for r in read_csv_rows(data / "cms_payne2020.csv") for l in r["codelists"].split()])
    efi = read_csv_rows(data / "efi_clegg2016.csv")
    con.execute("CREATE TEMP TABLE efi_codelists(deficit VARCHAR, codelist VARCHAR)")
    con.executemany("INSERT INTO efi_codelists VALUES (?, ?)", [(r["deficit"], l) for r in efi for l in r["codelists"].split()])
    con.execute("CREATE TEMP TABLE ltc_icd10(condition VARCHAR, code VARCHAR)")
    con.executemany("INSERT INTO ltc_icd10 VALUES (?, ?)",
                    [(r["condition"], icd10_normalise(r["code"])) for r in read_csv_rows(data / "ltc_icd10.csv")])
    return weights, [r["deficit"] for r in efi]


def table_file(extract, name):
    for p in (extract / "parquet" / f"{name}.parquet", extract / f"{name}.parquet"):
        if p.is_file():
            return p
    return None


def q(s):
    return "'" + s.replace("'", "''") + "'"


# The NHS number check (modulus 11 on the first nine digits, spaces and hyphens allowed) as macros.
NHS_MACROS = [
    "CREATE TEMP MACRO nhs_clean(s) AS replace(replace(s, ' ', ''), '-', '')",
    "CREATE TEMP MACRO nhs_sum(v) AS 10*CAST(v[1] AS INT) + 9*CAST(v[2] AS INT) + 8*CAST(v[3] AS INT) + 7*CAST(v[4] AS INT) "
    "+ 6*CAST(v[5] AS INT) + 5*CAST(v[6] AS INT) + 4*CAST(v[7] AS INT) + 3*CAST(v[8] AS INT) + 2*CAST(v[9] AS INT)",
    "CREATE TEMP MACRO nhs_digits(s) AS CASE WHEN regexp_full_match(nhs_clean(s), '[0-9]{10}') "
    "AND (11 - nhs_sum(nhs_clean(s)) % 11) % 11 = CAST(nhs_clean(s)[10] AS INT) THEN nhs_clean(s) END",
]


def check_table(con, extract, name, columns, link, extract_date, icd_map):
    """Checks one table like the engine's ingest: typed columns and the first problem of each row;
    registers the accepted rows as x_<name> and returns (read, accepted, rejected)."""
    path = table_file(extract, name)
    if path is None:
        con.execute(f"CREATE TEMP TABLE x_{name} AS SELECT " + ", ".join(
            f"CAST(NULL AS {'DATE' if k == 'date' else 'BIGINT' if k.startswith('int') else 'BOOLEAN' if k == 'bool' else 'VARCHAR'}) AS {c}"
            for c, k, _ in columns) + " WHERE false")
        return (0, 0, 0)
    t = lambda c: f"NULLIF(TRIM(CAST(r.\"{c}\" AS VARCHAR)), '')"
    # Like the engine, a column the file already holds typed is used as it is, not parsed from text.
    types = dict((row[0], row[1]) for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({q(str(path))})").fetchall())
    kinds = {c: k for c, k, _ in columns}
    native = lambda c: (kinds[c] == "date" and types.get(c) == "DATE") or (kinds[c].startswith("int") and types.get(c) == "BIGINT") \
        or (kinds[c] == "bool" and types.get(c) == "BOOLEAN")
    typed_of = lambda c: f"r.\"{c}\"" if native(c) else f"TRY_CAST({t(c)} AS {'DATE' if kinds[c] == 'date' else 'BIGINT'})"
    typed, checks, kept = [], [], []
    joins = ""
    upper = f"DATE '{extract_date}'"
    for c, kind, required in columns:
        v = t(c)
        if kind == "nhs":
            digits = f"nhs_digits({v})"
            typed.append(f"{digits} AS {c}")
            checks += [(c, f"{v} IS NULL", "missing NHS number"), (c, f"{digits} IS NULL", "not a valid NHS number")]
        elif kind == "date" and native(c):
            typed.append(f"r.{c} AS {c}")
            if required:
                checks.append((c, f"r.{c} IS NULL", "missing date"))
            checks.append((c, f"r.{c} < DATE '1880-01-01' OR r.{c} > {upper}", "impossible date"))
        elif kind.startswith("int") and native(c):
            _, lo, hi = kind.split(":")
            typed.append(f"r.{c} AS {c}")
            checks.append((c, f"r.{c} IS NULL OR r.{c} NOT BETWEEN {lo} AND {hi}", "expected a whole number"))
        elif kind == "bool" and native(c):
            typed.append(f"r.{c} AS {c}")
            checks.append((c, f"r.{c} IS NULL", "expected true or false"))
        elif kind == "date":
            typed.append(f"TRY_CAST({v} AS DATE) AS {c}")
            if required:
                checks.append((c, f"{v} IS NULL", "missing date"))
            checks.append((c, f"{v} IS NOT NULL AND TRY_CAST({v} AS DATE) IS NULL", "not a date"))
            checks.append((c, f"TRY_CAST({v} AS DATE) < DATE '1880-01-01' OR TRY_CAST({v} AS DATE) > {upper}", "impossible date"))
        elif kind == "text":
            typed.append(f"{v} AS {c}")
            if required:
                checks.append((c, f"{v} IS NULL", f"missing {c}"))
        elif kind.startswith("int"):
            _, lo, hi = kind.split(":")
            typed.append(f"TRY_CAST({v} AS BIGINT) AS {c}")
            checks.append((c, f"{v} IS NULL OR TRY_CAST({v} AS BIGINT) IS NULL OR TRY_CAST({v} AS BIGINT) NOT BETWEEN {lo} AND {hi}", "expected a whole number"))
        elif kind == "bool":
            l = f"lower({v})"
            typed.append(f"CASE WHEN {l} IN ('true','1','y','yes','t') THEN true WHEN {l} IN ('false','0','n','no','f') THEN false END AS {c}")
            checks.append((c, f"{v} IS NULL OR {l} NOT IN ('true','1','y','yes','t','false','0','n','no','f')", "expected true or false"))
        elif kind == "snomed":
            typed.append(f"{v} AS {c}")
            if required:
                checks.append((c, f"{v} IS NULL", "missing code"))
            checks.append((c, f"{v} IS NOT NULL AND NOT (regexp_full_match({v}, '[1-9][0-9]{{5,17}}') AND substr({v}, length({v}) - 2, 2) IN ('00', '10'))", "not a SNOMED CT concept id"))
        elif kind.startswith("icd10"):
            # The structural check runs once per distinct code (a few thousand), as a join.
            alias = f"icd_{c}"
            joins += f" LEFT JOIN icd_map {alias} ON {alias}.raw = {v}"
            typed.append(f"{alias}.norm AS {c}")
            target = kept if kind == "icd10_kept" else checks
            target += [(c, f"{v} IS NULL", "missing code"), (c, f"{v} IS NOT NULL AND {alias}.norm IS NULL", "not an ICD-10 code")]
    if name == "persons":
        checks.append(("date_of_death", f"{typed_of('date_of_death')} < {typed_of('date_of_birth')}", "death before birth"))
        joins += f" LEFT JOIN (SELECT lsoa_code AS k_lsoa FROM x_lsoas) k_lsoa ON k_lsoa.k_lsoa = {t('lsoa_code')}"
        checks.append(("lsoa_code", "k_lsoa.k_lsoa IS NULL", "unknown LSOA"))
        joins += f" LEFT JOIN (SELECT ods_code AS k_practice FROM x_practices) k_practice ON k_practice.k_practice = {t('practice_ods_code')}"
        checks.append(("practice_ods_code", "k_practice.k_practice IS NULL", "unknown practice"))
    if name == "practices":
        joins += f" LEFT JOIN (SELECT pcn_code AS k_pcn FROM x_pcns) k_pcn ON k_pcn.k_pcn = {t('pcn_code')}"
        checks.append(("pcn_code", "k_pcn.k_pcn IS NULL", "unknown PCN"))
    if link == "person":
        joins += f" LEFT JOIN (SELECT person_id AS p_id, date_of_birth AS p_dob FROM x_persons) p ON p.p_id = {typed_of('person_id')}"
        checks.append(("person_id", "p.p_id IS NULL", "orphan record"))
        first_date = next((c for c, k, _ in columns if k == "date"), None)
        if first_date:
            checks.append((first_date, f"{typed_of(first_date)} < p.p_dob", "before the person was born"))
    if link == "admission":
        joins += f" LEFT JOIN (SELECT admission_id AS a_id FROM x_admissions) a ON a.a_id = {typed_of('admission_id')}"
        checks.append(("admission_id", "a.a_id IS NULL", "orphan record"))
    if name == "admissions":
        checks.append(("discharge_date", f"{typed_of('discharge_date')} < {typed_of('admission_date')}", "discharged before admitted"))
    case = lambda cs: ("CASE" + "".join(f" WHEN {cond} THEN {q(f + ': ' + msg)}" for f, cond, msg in cs) + " END") if cs else "CAST(NULL AS VARCHAR)"
    problem = case(checks)
    if name == "persons":
        problem = problem[:-4] + " WHEN dup_rank > 1 THEN 'nhs_number: duplicate person' END"
        dedup = ("SELECT r0.*, row_number() OVER (PARTITION BY nhs_digits(NULLIF(TRIM(CAST(r0.nhs_number AS VARCHAR)), '')) ORDER BY line) "
                 "+ row_number() OVER (PARTITION BY NULLIF(TRIM(CAST(r0.person_id AS VARCHAR)), '') ORDER BY line) - 1 AS dup_rank FROM r0")
    else:
        dedup = "SELECT * FROM r0"
    cols = ", ".join(c for c, _, _ in columns)
    con.execute(
        f"CREATE TEMP TABLE checked_{name} AS WITH r0 AS (SELECT file_row_number + 1 AS line, * FROM read_parquet({q(str(path))}, file_row_number = true)), "
        f"r AS ({dedup}) SELECT r.line, {', '.join(typed)}, {problem} AS problem, {case(kept)} AS kept_problem FROM r{joins}")
    con.execute(f"CREATE TEMP TABLE x_{name} AS SELECT {cols} FROM checked_{name} WHERE problem IS NULL")
    con.execute(f"CREATE TEMP TABLE diag_{name} AS SELECT line, problem FROM checked_{name} WHERE problem IS NOT NULL "
                f"UNION ALL SELECT line, kept_problem FROM checked_{name} WHERE problem IS NULL AND kept_problem IS NOT NULL ORDER BY line")
    read, rejected = con.execute(f"SELECT count(*), count(*) FILTER (WHERE problem IS NOT NULL) FROM checked_{name}").fetchone()
    con.execute(f"DROP TABLE checked_{name}")
    return (read, read - rejected, rejected)


def months_before(d, m):
    y, mo = divmod(d.year * 12 + d.month - 1 - m, 12)
    mo += 1
    day = d.day
    while True:
        try:
            return datetime.date(y, mo, day)
        except ValueError:
            day -= 1


def pipeline(extract, out):
    started = time.monotonic()
    config, segments, cohorts = settings()
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    con.execute("SET enable_progress_bar = false")
    charlson, deficits = register_reference(con)
    for macro in NHS_MACROS:
        con.execute(macro)
    idx_date = datetime.date.fromisoformat(config["index_date"])
    extract_date = idx_date
    # Every distinct ICD-10 text in the extract, normalised once in Python (a few thousand codes).
    raw_codes = set()
    for name, col in (("admissions", "primary_diagnosis"), ("admission_diagnoses", "icd10_code")):
        path = table_file(extract, name)
        if path:
            raw_codes.update(r[0] for r in con.execute(
                f"SELECT DISTINCT NULLIF(TRIM(CAST({col} AS VARCHAR)), '') FROM read_parquet({q(str(path))})").fetchall() if r[0])
    con.execute("CREATE TEMP TABLE icd_map(raw VARCHAR, norm VARCHAR)")
    con.executemany("INSERT INTO icd_map VALUES (?, ?)", [(r, icd10_normalise(r)) for r in sorted(raw_codes)])
    tables = {}
    for name, columns, link in TABLES:
        tables[name] = check_table(con, extract, name, columns, link, extract_date, None)
    ingest_s = time.monotonic() - started

    idx = f"DATE '{idx_date}'"
    w = config["windows"]
    util_start = f"DATE '{months_before(idx_date, w['utilisation_months'])}'"
    charlson_start = f"DATE '{months_before(idx_date, w['charlson_months'])}'"
    hfrs_start = f"DATE '{months_before(idx_date, w['hfrs_months'])}'"
    # CAREWEAVE_BENCH_TRACE=1 prints each statement's time, to see where DuckDB's time goes.
    def run(sql):
        t = time.monotonic()
        con.execute(sql)
        if os.environ.get("CAREWEAVE_BENCH_TRACE"):
            print(f"{time.monotonic() - t:7.2f} s  {' '.join(sql.split())[:100]}", file=sys.stderr)
    run("""CREATE TEMP VIEW clinical_events AS SELECT p.nhs_number, e.date, e.code FROM (
             SELECT person_id, onset_date AS date, snomed_code AS code FROM x_conditions
             UNION ALL SELECT person_id, recorded_date, snomed_code FROM x_social_needs
             UNION ALL SELECT person_id, recorded_date, snomed_code FROM x_frailty_deficits WHERE snomed_code IS NOT NULL) e
           JOIN x_persons p ON p.person_id = e.person_id""")
    run("CREATE TEMP TABLE admissions AS SELECT p.nhs_number, a.admission_id, a.admission_date AS admitted, a.discharge_date AS discharged, "
        "lower(a.admission_method) IN ('emergency', 'non-elective', 'non_elective') AS emergency FROM x_admissions a JOIN x_persons p ON p.person_id = a.person_id")
    run("""CREATE TEMP TABLE diagnoses AS SELECT a.nhs_number, d.admission_id, a.admitted AS date, d.position, d.icd10_code AS code
           FROM x_admission_diagnoses d JOIN admissions a ON a.admission_id = d.admission_id
           UNION ALL SELECT a.nhs_number, x.admission_id, a.admitted, 1, x.primary_diagnosis FROM x_admissions x JOIN admissions a ON a.admission_id = x.admission_id
           WHERE x.primary_diagnosis IS NOT NULL AND NOT EXISTS (SELECT 1 FROM x_admission_diagnoses d2 WHERE d2.admission_id = x.admission_id AND d2.position = 1)""")
    for view, table, cols in (("medications", "medication_counts", "m.period_end AS date, m.repeat_medications AS repeat_medicines"),
                              ("gp", "gp_appointments", "m.appointment_date AS date, m.attended"),
                              ("ae", "ae_attendances", "m.attendance_date AS date"),
                              ("outpatients", "outpatients", "m.appointment_date AS date, m.attended"),
                              ("cc", "community_contacts", "m.contact_date AS date"),
                              ("mh", "mental_health_contacts", "m.contact_date AS date")):
        run(f"CREATE TEMP VIEW v_{view} AS SELECT p.nhs_number, {cols} FROM x_{table} m JOIN x_persons p ON p.person_id = m.person_id")
    ymd = lambda c: f"(year({c}) * 10000 + month({c}) * 100 + day({c}))"
    run(f"""CREATE TEMP TABLE population AS SELECT p.nhs_number, p.date_of_birth, p.sex, p.ethnic_category AS ethnicity, p.lsoa_code AS lsoa,
             p.practice_ods_code AS practice, pr.name AS practice_name, pr.pcn_code AS pcn, pc.name AS pcn_name, CAST(NULL AS VARCHAR) AS locality,
             l.imd_decile, CAST((l.imd_decile + 1) // 2 AS BIGINT) AS imd_quintile, ({ymd(idx)} - {ymd('p.date_of_birth')}) // 10000 AS age
           FROM x_persons p JOIN x_practices pr ON pr.ods_code = p.practice_ods_code LEFT JOIN x_pcns pc ON pc.pcn_code = pr.pcn_code
           JOIN x_lsoas l ON l.lsoa_code = p.lsoa_code
           WHERE p.date_of_birth <= {idx} AND (p.date_of_death IS NULL OR p.date_of_death > {idx})""")
    run(f"""CREATE TEMP TABLE person_codelists AS SELECT nhs_number, codelist, min(date) AS first_date, max(date) AS last_date,
             count(DISTINCT CASE WHEN date > {util_start} THEN date END) AS dates_in_window
           FROM clinical_events e JOIN codelists c ON c.system = 'snomed' AND c.code = e.code WHERE e.date <= {idx}
           GROUP BY nhs_number, codelist""")
    in_lists = lambda lists: "codelist IN (" + ", ".join(q(l) for l in lists) + ")"
    ltc, social = config["long_term_conditions"], config["social_needs"]
    flags = [f"bool_or({in_lists(v)}) AS ltc_{k}" for k, v in ltc.items()]
    flags += [f"bool_or({in_lists(v)} AND last_date > {util_start}) AS social_{k}" for k, v in social.items()]
    flags.append("sum(CASE WHEN codelist = 'snomed/efi/falls' THEN dates_in_window ELSE 0 END) AS falls_coded")
    run(f"CREATE TEMP TABLE f_flags AS SELECT nhs_number, {', '.join(flags)} FROM person_codelists GROUP BY nhs_number")
    run(f"""CREATE TEMP TABLE f_meds AS SELECT m.nhs_number, max(m.repeat_medicines) AS repeat_medicines FROM v_medications m
           JOIN (SELECT nhs_number, max(date) AS d FROM v_medications WHERE date <= {idx} GROUP BY nhs_number) l
           ON l.nhs_number = m.nhs_number AND l.d = m.date GROUP BY m.nhs_number""")
    efi_flags = "".join(f", bool_or(deficit = {q(d)}) AS efi_{d}" for d in deficits)
    run(f"""CREATE TEMP TABLE f_efi AS SELECT nhs_number, count(deficit) AS efi_deficits {efi_flags} FROM (SELECT DISTINCT nhs_number, deficit FROM (
             SELECT pc.nhs_number, d.deficit FROM person_codelists pc JOIN efi_codelists d ON d.codelist = pc.codelist
             UNION ALL SELECT nhs_number, 'polypharmacy' FROM f_meds WHERE repeat_medicines >= 5)) GROUP BY nhs_number""")
    windows = sorted({int(r[0]) for r in con.execute("SELECT DISTINCT window_years FROM cms_codelists WHERE window_years IS NOT NULL").fetchall()})
    cms_windows = "".join(f" OR (k.window_years = {y} AND pc.first_date > DATE '{months_before(idx_date, y * 12)}')" for y in windows)
    run(f"""CREATE TEMP TABLE f_cms AS SELECT nhs_number, round(sum(weight), 2) AS cms FROM (
             SELECT DISTINCT pc.nhs_number, k.condition, k.weight FROM person_codelists pc JOIN cms_codelists k ON k.codelist = pc.codelist
             WHERE k.window_years IS NULL{cms_windows}) GROUP BY nhs_number""")
    util = f"date > {util_start} AND date <= {idx}"
    run(f"CREATE TEMP TABLE f_gp AS SELECT nhs_number, count(*) FILTER (WHERE attended) AS gp_appointments, count(*) FILTER (WHERE NOT attended) AS gp_dnas FROM v_gp WHERE {util} GROUP BY nhs_number")
    run(f"CREATE TEMP TABLE f_ae AS SELECT nhs_number, count(*) AS ae_attendances FROM v_ae WHERE {util} GROUP BY nhs_number")
    run(f"CREATE TEMP TABLE f_op AS SELECT nhs_number, count(*) FILTER (WHERE attended) AS outpatient_attendances FROM v_outpatients WHERE {util} GROUP BY nhs_number")
    run(f"CREATE TEMP TABLE f_cc AS SELECT nhs_number, count(*) AS community_contacts FROM v_cc WHERE {util} GROUP BY nhs_number")
    run(f"CREATE TEMP TABLE f_mh AS SELECT nhs_number, count(*) AS mental_health_contacts FROM v_mh WHERE {util} GROUP BY nhs_number")
    run(f"""CREATE TEMP TABLE f_adm AS SELECT nhs_number, count(*) FILTER (WHERE emergency) AS emergency_admissions, count(*) FILTER (WHERE NOT emergency) AS elective_admissions,
             sum(date_diff('day', admitted, LEAST(discharged, {idx}))) AS bed_days
           FROM admissions WHERE admitted > {util_start} AND admitted <= {idx} GROUP BY nhs_number""")
    run(f"""CREATE TEMP TABLE f_emerg_dx AS SELECT d.nhs_number, d.admission_id, d.code FROM diagnoses d JOIN admissions a ON a.admission_id = d.admission_id AND a.nhs_number = d.nhs_number
           WHERE a.emergency AND a.admitted > {util_start} AND a.admitted <= {idx}""")
    run("""CREATE TEMP TABLE f_unstable AS SELECT nhs_number, count(condition) AS unstable_ltc_count FROM (
             SELECT DISTINCT e.nhs_number, l.condition FROM f_emerg_dx e JOIN ltc_icd10 l ON l.code = substr(e.code, 1, 3)
             UNION SELECT DISTINCT e.nhs_number, l.condition FROM f_emerg_dx e JOIN ltc_icd10 l ON l.code = substr(e.code, 1, 5)) GROUP BY nhs_number""")
    run("CREATE TEMP TABLE f_hosp_falls AS SELECT nhs_number, count(DISTINCT admission_id) AS falls_admitted FROM f_emerg_dx WHERE substr(code, 1, 3) BETWEEN 'W00' AND 'W19' GROUP BY nhs_number")
    ch_flags = "".join(f", bool_or(category = {q(r['category'])}) AS charlson_{r['category']}" for r in charlson)
    run(f"""CREATE TEMP TABLE f_ch AS SELECT nhs_number {ch_flags} FROM (
             SELECT DISTINCT d.nhs_number, m.category FROM diagnoses d JOIN charlson_map m ON m.code = substr(d.code, 1, 3) WHERE d.date > {charlson_start} AND d.date <= {idx}
             UNION SELECT DISTINCT d.nhs_number, m.category FROM diagnoses d JOIN charlson_map m ON m.code = substr(d.code, 1, 5) WHERE d.date > {charlson_start} AND d.date <= {idx})
           GROUP BY nhs_number""")
    run(f"""CREATE TEMP TABLE f_hfrs AS SELECT nhs_number, round(sum(weight), 1) AS hfrs FROM (
             SELECT DISTINCT d.nhs_number, h.code, h.weight FROM diagnoses d JOIN hfrs_weights h ON h.code = substr(d.code, 1, 3)
             WHERE d.date > {hfrs_start} AND d.date <= {idx}) GROUP BY nhs_number""")

    def score(col):
        terms = []
        for r in charlson:
            unless = f" AND NOT COALESCE(charlson_{r['replaced_by']}, false)" if r["replaced_by"] else ""
            terms.append(f"CASE WHEN COALESCE(charlson_{r['category']}, false){unless} THEN {int(r[col])} ELSE 0 END")
        return " + ".join(terms)
    age_points = "LEAST(GREATEST((p.age - 40) // 10, 0), 4)"
    variant = config["charlson"]["default"]
    base = score("charlson_1987") if variant.startswith("charlson_1987") else score("quan_2011")
    charlson_default = f"{base} + {age_points}" if variant.endswith("age_adjusted") else base
    coalesce = "".join(f", COALESCE(f.ltc_{k}, false) AS ltc_{k}" for k in ltc) + "".join(f", COALESCE(f.social_{k}, false) AS social_{k}" for k in social)
    coalesce += "".join(f", COALESCE(efi.efi_{d}, false) AS efi_{d}" for d in deficits)
    coalesce += "".join(f", COALESCE(ch.charlson_{r['category']}, false) AS charlson_{r['category']}" for r in charlson)
    ltc_count = " + ".join(f"CASE WHEN COALESCE(f.ltc_{k}, false) THEN 1 ELSE 0 END" for k in ltc) or "0"
    u = config["unit_costs"]
    # A view, not a table: DuckDB copies a wide table slowly, and `person` below reads it once.
    run(f"""CREATE TEMP VIEW person_features AS SELECT p.* {coalesce}, CAST({ltc_count} AS BIGINT) AS ltc_count,
             COALESCE(meds.repeat_medicines, 0) AS repeat_medicines, COALESCE(gp.gp_appointments, 0) AS gp_appointments, COALESCE(gp.gp_dnas, 0) AS gp_dnas,
             COALESCE(ae.ae_attendances, 0) AS ae_attendances, COALESCE(op.outpatient_attendances, 0) AS outpatient_attendances,
             COALESCE(cc.community_contacts, 0) AS community_contacts, COALESCE(mh.mental_health_contacts, 0) AS mental_health_contacts,
             COALESCE(adm.emergency_admissions, 0) AS emergency_admissions, COALESCE(adm.elective_admissions, 0) AS elective_admissions,
             COALESCE(adm.bed_days, 0) AS bed_days, COALESCE(f.falls_coded, 0) + COALESCE(hosp_falls.falls_admitted, 0) AS falls,
             COALESCE(unstable.unstable_ltc_count, 0) AS unstable_ltc_count,
             round({u['gp_appointment']:.4f} * COALESCE(gp.gp_appointments, 0) + {u['outpatient']:.4f} * COALESCE(op.outpatient_attendances, 0)
               + {u['ae_attendance']:.4f} * COALESCE(ae.ae_attendances, 0) + {u['emergency_admission']:.4f} * COALESCE(adm.emergency_admissions, 0)
               + {u['elective_admission']:.4f} * COALESCE(adm.elective_admissions, 0) + {u['bed_day']:.4f} * COALESCE(adm.bed_days, 0)
               + {u['community_contact']:.4f} * COALESCE(cc.community_contacts, 0) + {u['mental_health_contact']:.4f} * COALESCE(mh.mental_health_contacts, 0), 2) AS cost,
             CAST({score('charlson_1987')} AS BIGINT) AS charlson_1987, CAST({score('quan_2011')} AS BIGINT) AS charlson_quan_2011,
             CAST({charlson_default} AS BIGINT) AS charlson,
             COALESCE(hfrs.hfrs, 0.0) AS hfrs,
             CASE WHEN p.age < 75 THEN NULL WHEN COALESCE(hfrs.hfrs, 0.0) < 5 THEN 'low' WHEN hfrs.hfrs <= 15 THEN 'intermediate' ELSE 'high' END AS hfrs_band,
             COALESCE(cms.cms, 0.0) AS cms, COALESCE(efi.efi_deficits, 0) AS efi_deficits, round(CAST(COALESCE(efi.efi_deficits, 0) AS DOUBLE) / 36.0, 4) AS efi
           FROM population p
             LEFT JOIN f_flags f ON f.nhs_number = p.nhs_number LEFT JOIN f_meds meds ON meds.nhs_number = p.nhs_number
             LEFT JOIN f_efi efi ON efi.nhs_number = p.nhs_number LEFT JOIN f_cms cms ON cms.nhs_number = p.nhs_number
             LEFT JOIN f_gp gp ON gp.nhs_number = p.nhs_number LEFT JOIN f_ae ae ON ae.nhs_number = p.nhs_number
             LEFT JOIN f_op op ON op.nhs_number = p.nhs_number LEFT JOIN f_cc cc ON cc.nhs_number = p.nhs_number
             LEFT JOIN f_mh mh ON mh.nhs_number = p.nhs_number LEFT JOIN f_adm adm ON adm.nhs_number = p.nhs_number
             LEFT JOIN f_unstable unstable ON unstable.nhs_number = p.nhs_number LEFT JOIN f_hosp_falls hosp_falls ON hosp_falls.nhs_number = p.nhs_number
             LEFT JOIN f_ch ch ON ch.nhs_number = p.nhs_number LEFT JOIN f_hfrs hfrs ON hfrs.nhs_number = p.nhs_number""")
    domains = config["need_domains"]
    domain_cols = "".join(f", COALESCE(({v}), false) AS need_{k}" for k, v in domains.items())
    domain_count = " + ".join(f"CASE WHEN COALESCE(({v}), false) THEN 1 ELSE 0 END" for v in domains.values()) or "0"
    bands = config["tiers"]["bands"]
    tier = "CASE" + "".join(f" WHEN tier_share <= {b['up_to']} THEN {q(b['name'])}" for b in bands) + f" ELSE {q(bands[-1]['name'])} END"
    segment = "CASE" + "".join(f" WHEN COALESCE(({r['when']}), false) THEN {q(r['segment'])}" for r in segments) + " END"
    rule = "CASE" + "".join(f" WHEN COALESCE(({r['when']}), false) THEN {q(r['name'])}" for r in segments) + " END"
    measure = config["tiers"]["measure"]
    run(f"""CREATE TEMP TABLE person AS WITH a AS (SELECT f.*,
             CASE WHEN age < 65 THEN NULL WHEN efi_deficits * 100 <= 432 THEN 'fit' WHEN efi_deficits * 100 <= 864 THEN 'mild'
                  WHEN efi_deficits * 100 <= 1296 THEN 'moderate' ELSE 'severe' END AS efi_category,
             imd_quintile = 1 AS core20,
             CASE WHEN ethnicity IN ('A','B','C') OR ethnicity LIKE 'White%' THEN 'White'
                  WHEN ethnicity IN ('D','E','F','G') OR ethnicity LIKE 'Mixed%' THEN 'Mixed'
                  WHEN ethnicity IN ('H','J','K','L') OR ethnicity LIKE 'Asian%' THEN 'Asian or Asian British'
                  WHEN ethnicity IN ('M','N','P') OR ethnicity LIKE 'Black%' THEN 'Black or Black British'
                  WHEN ethnicity IN ('R','S') OR ethnicity LIKE 'Other%' THEN 'Other ethnic group' ELSE 'Not stated' END AS ethnic_group,
             avg(CASE WHEN imd_decile = 1 THEN 1.0 ELSE 0.0 END) OVER (PARTITION BY practice) AS practice_most_deprived_share,
             cume_dist() OVER (ORDER BY cost DESC) AS cost_share, cume_dist() OVER (ORDER BY {measure} DESC) AS tier_share
           FROM person_features f),
         b AS (SELECT a.*, ethnic_group NOT IN ('White', 'Not stated') AS ethnic_minority {domain_cols}, CAST({domain_count} AS BIGINT) AS need_domains FROM a)
         SELECT b.*, {tier} AS tier, {segment} AS segment, {rule} AS segment_rule FROM b""")
    parts = []
    for cohort in cohorts:
        crit = cohort["criterion"]
        met = ", ".join(f"CASE WHEN COALESCE(({k['when']}), false) THEN {q(k['name'])} END" for k in crit)
        count = " + ".join(f"CASE WHEN COALESCE(({k['when']}), false) THEN 1 ELSE 0 END" for k in crit)
        cols = "".join(f", p.{c}" for c in cohort.get("columns", []))
        run(f"""CREATE TEMP TABLE cohort_{cohort['name']} AS SELECT w.cohort, w.nhs_number, w.criteria_met, w.criteria_count{cols} FROM (
                 SELECT * FROM (SELECT {q(cohort['name'])} AS cohort, nhs_number, concat_ws(', ', {met}) AS criteria_met, CAST({count} AS BIGINT) AS criteria_count
                 FROM person WHERE COALESCE(({cohort['population']}), false)) s WHERE criteria_count >= {cohort.get('minimum_criteria', 1)}) w
               JOIN person p ON p.nhs_number = w.nhs_number""")
        parts.append(f"SELECT cohort, nhs_number, criteria_met, criteria_count FROM cohort_{cohort['name']}")
    run("CREATE TEMP TABLE worklist AS " + " UNION ALL ".join(parts))
    out.mkdir(parents=True, exist_ok=True)
    run(f"COPY person TO {q(str(out / 'person.parquet'))} (FORMAT parquet)")
    run(f"COPY worklist TO {q(str(out / 'worklist.parquet'))} (FORMAT parquet)")
    for cohort in cohorts:
        run(f"COPY cohort_{cohort['name']} TO {q(str(out / ('cohort_' + cohort['name'] + '.parquet')))} (FORMAT parquet)")
    summary = summarise(con, "person", "worklist")
    summary["tables"] = {k: {"read": v[0], "accepted": v[1], "rejected": v[2]} for k, v in tables.items()}
    summary["seconds"] = round(time.monotonic() - started, 3)
    summary["ingest_seconds"] = round(ingest_s, 3)
    return summary


def summarise(con, person, worklist):
    """What both engines must agree on: people, per segment and tier, per cohort, and score sums."""
    s = {}
    s["people"] = con.execute(f"SELECT count(*) FROM {person}").fetchone()[0]
    s["segments"] = dict(con.execute(f"SELECT segment, count(*) FROM {person} GROUP BY segment ORDER BY segment").fetchall())
    s["tiers"] = dict(con.execute(f"SELECT tier, count(*) FROM {person} GROUP BY tier ORDER BY tier").fetchall())
    s["cohorts"] = dict(con.execute(f"SELECT cohort, count(*) FROM {worklist} GROUP BY cohort ORDER BY cohort").fetchall())
    sums = ("charlson", "charlson_1987", "charlson_quan_2011", "efi_deficits", "ltc_count", "emergency_admissions", "gp_appointments",
            "bed_days", "falls", "unstable_ltc_count", "need_domains", "repeat_medicines")
    row = con.execute("SELECT " + ", ".join(f"CAST(sum({c}) AS BIGINT)" for c in sums)
                      + f", round(sum(hfrs), 1), round(sum(cms), 2), round(sum(cost), 2) FROM {person}").fetchone()
    s["sums"] = dict(zip(sums + ("hfrs", "cms", "cost"), [float(v) if v is not None else None for v in row]))
    s["person_hash"] = con.execute(
        "SELECT sum(hash(concat_ws('|', nhs_number, segment, tier, CAST(charlson AS VARCHAR), CAST(efi_deficits AS VARCHAR), "
        f"CAST(ltc_count AS VARCHAR), CAST(emergency_admissions AS VARCHAR)))) FROM {person}").fetchone()[0]
    return s


def summary_of(out):
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    con.execute(f"CREATE VIEW person AS SELECT * FROM read_parquet({q(str(out / 'person.parquet'))})")
    con.execute(f"CREATE VIEW worklist AS SELECT * FROM read_parquet({q(str(out / 'worklist.parquet'))})")
    return summarise(con, "person", "worklist")


def scan(extract):
    """Reads every column the pipeline uses once (a sum of lengths or values, so that nothing is
    skipped), on the same number of threads: the floor any engine's time can be compared with."""
    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    started = time.monotonic()
    per_table = {}
    for name, columns, _ in TABLES:
        path = table_file(extract, name)
        if path is None:
            continue
        t = time.monotonic()
        exprs = ", ".join(f"sum(length(CAST({c} AS VARCHAR)))" if k not in ("date",) and not k.startswith("int") else f"count({c})"
                          for c, k, _ in columns)
        con.execute(f"SELECT {exprs} FROM read_parquet({q(str(path))})").fetchall()
        per_table[name] = round(time.monotonic() - t, 3)
    return {"seconds": round(time.monotonic() - started, 3), "tables": per_table}


def careweave_tables(stdout_path):
    """Read, accepted and rejected rows per table from careweave's run summary."""
    names = {name for name, _, _ in TABLES}
    out = {}
    for line in open(stdout_path, encoding="utf-8"):
        parts = line.split()
        if len(parts) >= 4 and parts[0] in names and all(p.isdigit() for p in parts[1:4]):
            out[parts[0]] = {"read": int(parts[1]), "accepted": int(parts[2]), "rejected": int(parts[3])}
    return out


def compare(careweave_out, careweave_stdout, duckdb_json):
    """Checks that careweave's outputs and the DuckDB pipeline's agree; exits 1 when they do not."""
    theirs = json.loads(pathlib.Path(duckdb_json).read_text())
    ours = summary_of(careweave_out)
    ours["tables"] = careweave_tables(careweave_stdout)
    problems = []
    for key in ("people", "segments", "tiers", "cohorts", "person_hash", "tables"):
        if ours[key] != theirs[key]:
            problems.append(f"{key}: careweave {ours[key]} but DuckDB {theirs[key]}")
    for key, value in ours["sums"].items():
        other = theirs["sums"].get(key)
        if value is None or other is None or abs(value - other) > 1e-9 * abs(value) + 0.011:
            problems.append(f"sum of {key}: careweave {value} but DuckDB {other}")
    if problems:
        print("  outputs DIFFER:")
        for p in problems:
            print(f"    {p}")
        sys.exit(1)
    print(f"  outputs match: {ours['people']} people, {len(ours['segments'])} segments, {len(ours['tiers'])} tiers, "
          f"{sum(ours['cohorts'].values())} worklist rows in {len(ours['cohorts'])} cohorts, {len(ours['sums'])} score and use sums, "
          f"a hash of every person's segment, tier and scores, and read/accepted/rejected rows of {len(ours['tables'])} tables")


def main():
    mode = sys.argv[1]
    if mode == "pipeline":
        result = pipeline(pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]))
    elif mode == "summary":
        result = summary_of(pathlib.Path(sys.argv[2]))
    elif mode == "scan":
        result = scan(pathlib.Path(sys.argv[2]))
    elif mode == "compare":
        compare(pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    else:
        sys.exit(f"unknown mode {mode}")
    json.dump(result, sys.stdout, default=str)
    print()


if __name__ == "__main__":
    main()
