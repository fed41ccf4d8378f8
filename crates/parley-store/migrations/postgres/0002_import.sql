-- Where imported rows came from: importing the same export twice finds its earlier
-- rows here and changes nothing.
CREATE TABLE import_keys (
    site_id    BIGINT  NOT NULL REFERENCES sites(id),
    source     TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    source_id  TEXT    NOT NULL,
    target_id  BIGINT  NOT NULL,
    PRIMARY KEY (site_id, source, kind, source_id)
);

-- Authors brought in by an importer: no password, cannot sign in, and a reader who
-- registers later with the same email takes the account over.
ALTER TABLE users ADD COLUMN imported BOOLEAN NOT NULL DEFAULT FALSE;
