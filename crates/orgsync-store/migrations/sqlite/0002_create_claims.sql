-- Run claims: the replica that holds a provider's row may sync that
-- provider until expires_at (UTC text, like the other timestamps). An
-- expired row may be taken over by any replica.
CREATE TABLE claims (
    provider   TEXT NOT NULL PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
