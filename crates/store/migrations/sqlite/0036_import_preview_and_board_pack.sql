-- A directory import waits here between its preview and the administrator's confirmation (issue
-- 16, item 12): the file as uploaded, who uploaded it and for which organisation, so that what is
-- committed is exactly what was previewed. Confirming or starting another import removes it.
CREATE TABLE directory_pending_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uploaded_by INTEGER NOT NULL REFERENCES users (id),
    owner_id INTEGER NOT NULL REFERENCES organisations (id),
    format TEXT NOT NULL CHECK (format IN ('csv', 'json')),
    file_name TEXT NOT NULL,
    content TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);

-- The evaluation's board pack (issue 15, item 8): the offline HTML report stored beside the
-- aggregate summary it was written from, so that managers and commissioners open it from the web
-- app. It is aggregate and disclosure-controlled like the summary.
CREATE TABLE evaluation_board_packs (
    evaluation_id INTEGER PRIMARY KEY REFERENCES evaluation_results (id),
    html TEXT NOT NULL
);
