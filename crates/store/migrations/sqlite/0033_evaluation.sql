-- Impact evaluation results (issue 15), stored by `careweave evaluation run --database` and the
-- demo so that the web page can show them without running the evaluation (which needs the
-- population engine and DataFusion) inside the web process. Only the aggregate,
-- disclosure-controlled summary is stored: estimates, intervals, the balance table, the RE-AIM
-- tables and the event-study series. Person-level outputs (who was compared with whom) stay in the
-- care team's files and never reach this table.

CREATE TABLE evaluation_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    extract_date TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    summary TEXT NOT NULL
);
