-- Run claims: the replica that holds a provider's row may sync that
-- provider until expires_at. An expired row may be taken over by any
-- replica.
CREATE TABLE claims (
    provider   TEXT NOT NULL PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
