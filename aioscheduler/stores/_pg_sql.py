"""The PostgreSQL store's schema and statements (text only; ``{s}`` is the quoted schema).

Schema version 1::

    jobs     id TEXT PK, func TEXT (display only), payload BYTEA (sealed definition),
             digest TEXT (sha256 of the unsealed definition: declare_job compares it),
             version BIGINT (new on every write of the definition: the decoded-spec cache key),
             paused BOOL, nominal FLOAT8 (next nominal firing, UTC seconds), run_at FLOAT8
             (nominal + jitter; NULL: none), failures INT (consecutive, every node's runs)
    firings  one row per claimed slot, kept after it finished for slot de-duplication:
             job_id, slot (nominal time) PK, run_at, missed, run, final, owner (lease owner:
             node incarnation), node (node name), attempt, lease_until, done_at (NULL: leased)
    runs     seq BIGSERIAL PK, job_id, finished_at, record BYTEA (sealed run record)
    meta     key TEXT PK, value TEXT (schema_version)

Every statement that needs the time takes it as ``$1``: ``NULL`` means the server's clock
(the default), a number is the node-clock test mode. Times are float8 epoch seconds.
"""

from __future__ import annotations

__all__ = ("MIGRATIONS", "SCHEMA_VERSION", "Statements")

_NOW = "coalesce($1::float8, extract(epoch FROM clock_timestamp())::float8)"
# Which leased firings a statement touches: a hashed lookup of the given keys, probed once per
# leased firing. Written inside an OR that the planner cannot simplify, so that it stays a
# hashed subplan: as a join, stale statistics of the fast-changing firings table (one leased
# row estimated) made a nested loop that rescans the parameter arrays for every firing, and a
# release of 256 runs took 45-70 ms (EXPLAIN ANALYZE; benchmarks/distributed.py).
_KEYS = (
    "((f.job_id, f.slot, f.attempt) IN "
    "(SELECT * FROM unnest(${ids}::text[], ${slots}::float8[], ${attempts}::int[])) "
    "OR f.job_id IS NULL)"
)


_V1 = """
CREATE TABLE {s}.jobs (
    id text PRIMARY KEY,
    func text NOT NULL,
    payload bytea NOT NULL,
    digest text NOT NULL,
    version bigint NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    nominal float8,
    run_at float8,
    failures integer NOT NULL DEFAULT 0
);
CREATE INDEX jobs_due ON {s}.jobs (run_at) WHERE NOT paused AND run_at IS NOT NULL;
CREATE SEQUENCE {s}.versions;
CREATE TABLE {s}.firings (
    job_id text NOT NULL,
    slot float8 NOT NULL,
    run_at float8 NOT NULL,
    missed integer NOT NULL,
    run boolean NOT NULL,
    final boolean NOT NULL,
    owner text NOT NULL,
    node text NOT NULL,
    attempt integer NOT NULL,
    lease_until float8 NOT NULL,
    claimed_at float8 NOT NULL,
    done_at float8,
    PRIMARY KEY (job_id, slot)
);
CREATE INDEX firings_leased ON {s}.firings (lease_until) WHERE done_at IS NULL;
CREATE INDEX firings_running ON {s}.firings (job_id) WHERE done_at IS NULL;
CREATE INDEX firings_done ON {s}.firings (done_at) WHERE done_at IS NOT NULL;
CREATE TABLE {s}.runs (
    seq bigserial PRIMARY KEY,
    job_id text NOT NULL,
    finished_at float8 NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX runs_by_job ON {s}.runs (job_id, seq);
"""

#: Migrations in order: entry ``i`` takes the schema from version ``i`` to ``i + 1``.
MIGRATIONS: tuple[str, ...] = (_V1,)
SCHEMA_VERSION = len(MIGRATIONS)


class Statements:
    """Every statement of one schema, formatted once."""

    def __init__(self, schema: str) -> None:
        s = '"' + schema + '"'
        self.schema = s
        self.lock_key = f"aioscheduler:{schema}"
        self.create_meta = (
            f"CREATE SCHEMA IF NOT EXISTS {s}; "
            f"CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL)"
        )
        self.get_version = f"SELECT value FROM {s}.meta WHERE key = 'schema_version'"
        self.set_version = (
            f"INSERT INTO {s}.meta VALUES ('schema_version', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
        self.now = f"SELECT {_NOW}"
        # -- claims ---------------------------------------------------------------------------
        # kind 0: a due job (locked); kind 1: a firing whose lease expired (locked);
        # kind 2: one row with the next future due time and the next foreign lease expiry.
        self.claim_select = f"""
WITH t AS (SELECT {_NOW} AS now),
due AS (
    SELECT j.id, j.version, j.payload, j.nominal, j.run_at FROM {s}.jobs j
    WHERE NOT j.paused AND j.run_at IS NOT NULL AND j.run_at <= (SELECT now FROM t)
      AND j.id <> ALL($4::text[])
    ORDER BY j.run_at LIMIT $2
    FOR UPDATE OF j SKIP LOCKED
),
orphans AS (
    SELECT f.job_id, f.slot, f.run_at, f.missed, f.run, f.final, f.attempt FROM {s}.firings f
    WHERE f.done_at IS NULL AND f.lease_until <= (SELECT now FROM t) AND f.run
    ORDER BY f.lease_until LIMIT $5
    FOR UPDATE OF f SKIP LOCKED
)
SELECT 0 AS kind, d.id, d.version, d.payload, d.nominal, d.run_at,
       NULL::float8 AS slot, NULL::int AS missed, NULL::bool AS run, NULL::bool AS final,
       NULL::int AS attempt,
       (SELECT count(*) FROM {s}.firings f WHERE f.job_id = d.id AND f.done_at IS NULL
          AND f.run AND f.owner <> $3 AND f.lease_until > t.now)::int AS running,
       t.now
FROM due d, t
UNION ALL
SELECT 1, o.job_id, j.version, j.payload, NULL, o.run_at, o.slot, o.missed, o.run, o.final,
       o.attempt, 0, t.now
FROM orphans o JOIN {s}.jobs j ON j.id = o.job_id AND NOT j.paused, t
UNION ALL
SELECT 2, NULL, NULL, NULL, NULL,
       (SELECT run_at FROM {s}.jobs WHERE NOT paused AND run_at IS NOT NULL AND run_at > t.now
        ORDER BY run_at LIMIT 1),
       (SELECT min(lease_until) FROM {s}.firings
        WHERE done_at IS NULL AND owner <> $3 AND lease_until > t.now),
       NULL, NULL, NULL, NULL, 0, t.now
FROM t
"""
        # $1 now, $2 owner, $3 node, $4 lease; advance $5-$7; new firings $8-$13;
        # reclaimed $14-$16; revoked (overlap="replace") job ids $17; paused (trigger failed) $18
        self.claim_write = f"""
WITH adv AS (
    UPDATE {s}.jobs j SET nominal = a.nominal, run_at = a.run_at
    FROM unnest($5::text[], $6::float8[], $7::float8[]) AS a(id, nominal, run_at)
    WHERE j.id = a.id
    RETURNING 1
), ins AS (
    INSERT INTO {s}.firings AS f
        (job_id, slot, run_at, missed, run, final, owner, node, attempt, lease_until,
         claimed_at, done_at)
    SELECT n.job_id, n.slot, n.run_at, n.missed, n.run, n.final, $2::text, $3::text, 1,
           $1::float8 + $4::float8, $1::float8, CASE WHEN n.run THEN NULL ELSE $1::float8 END
    FROM unnest($8::text[], $9::float8[], $10::float8[], $11::int[], $12::bool[], $13::bool[])
         AS n(job_id, slot, run_at, missed, run, final)
    ON CONFLICT (job_id, slot) DO NOTHING
    RETURNING f.job_id, f.slot
), re AS (
    UPDATE {s}.firings f SET owner = $2::text, node = $3::text, attempt = f.attempt + 1,
           lease_until = $1::float8 + $4::float8, claimed_at = $1::float8,
           done_at = CASE WHEN o.lost THEN $1::float8 ELSE NULL END
    FROM unnest($14::text[], $15::float8[], $16::bool[]) AS o(job_id, slot, lost)
    WHERE f.job_id = o.job_id AND f.slot = o.slot
    RETURNING 1
), rev AS (
    UPDATE {s}.firings f SET done_at = $1::float8
    WHERE f.job_id = ANY($17::text[]) AND f.done_at IS NULL AND f.owner <> $2
    RETURNING 1
), pz AS (
    UPDATE {s}.jobs SET paused = true WHERE id = ANY($18::text[]) RETURNING 1
)
SELECT job_id, slot FROM ins
"""
        self.peek = f"""
SELECT (SELECT run_at FROM {s}.jobs WHERE NOT paused AND run_at IS NOT NULL
        ORDER BY run_at LIMIT 1),
       (SELECT min(lease_until) FROM {s}.firings WHERE done_at IS NULL AND owner <> $2),
       {_NOW}
"""
        # -- leases ---------------------------------------------------------------------------
        self.extend = f"""
UPDATE {s}.firings f SET lease_until = {_NOW} + $3::float8
WHERE f.done_at IS NULL AND f.owner = $2 AND {_KEYS.format(ids=4, slots=5, attempts=6)}
RETURNING f.job_id, f.slot, f.attempt
"""
        self.let_go = (
            f"UPDATE {s}.firings SET lease_until = {_NOW} WHERE owner = $2 AND done_at IS NULL"
        )
        # $1 now, $2 owner, fenced $3-$5 (job, slot, attempt), history $6-$9 (job, slot,
        # finished at, record; slot NULL: not leased); trimmed by housekeeping. A leased
        # firing's run is recorded if its job still exists: remove_job() turns ``run`` off on
        # the firings still running, so no per-row lookup of the job is needed (it cost a
        # third of this statement); an unleased one (a missed firing) looks the job up.
        self.release = f"""
WITH fin AS (
    UPDATE {s}.firings f SET done_at = {_NOW}, lease_until = {_NOW}
    WHERE f.done_at IS NULL AND f.owner = $2 AND {_KEYS.format(ids=3, slots=4, attempts=5)}
    RETURNING f.job_id, f.slot, f.attempt, f.run
), ins AS (
    INSERT INTO {s}.runs (job_id, finished_at, record)
    SELECT h.job_id, h.finished_at, h.record
    FROM unnest($6::text[], $7::float8[], $8::float8[], $9::bytea[])
         AS h(job_id, slot, finished_at, record)
    WHERE (h.job_id, h.slot) IN (SELECT job_id, slot FROM fin WHERE run)
       OR (h.slot IS NULL AND EXISTS (SELECT 1 FROM {s}.jobs j WHERE j.id = h.job_id))
    RETURNING 1
)
SELECT job_id, slot, attempt FROM fin
"""
        # consecutive failures: $1 ids, $2 reset (a success in the batch), $3 failures after
        # the last success, $4 pause_after_failures
        self.failures = f"""
UPDATE {s}.jobs j
SET failures = CASE WHEN y.nf >= y.k AND NOT y.was_paused THEN 0 ELSE y.nf END,
    paused = j.paused OR y.nf >= y.k
FROM (
    SELECT x.id, x.k, j2.paused AS was_paused,
           CASE WHEN x.reset THEN x.tail ELSE j2.failures + x.tail END AS nf
    FROM unnest($1::text[], $2::bool[], $3::int[], $4::int[]) AS x(id, reset, tail, k)
    JOIN {s}.jobs j2 ON j2.id = x.id
    FOR UPDATE OF j2
) y
WHERE j.id = y.id
RETURNING j.id, y.nf, (y.nf >= y.k AND NOT y.was_paused) AS newly
"""
        # the ended job's firings stay until their retention ends (slot de-duplication)
        self.drop_finals = f"""
WITH gone AS (
    DELETE FROM {s}.jobs j WHERE j.id = ANY($1::text[]) AND j.nominal IS NULL
      AND NOT EXISTS (SELECT 1 FROM {s}.firings f WHERE f.job_id = j.id AND f.done_at IS NULL)
    RETURNING j.id
)
DELETE FROM {s}.runs WHERE job_id IN (SELECT id FROM gone)
"""
        # keep the newest $1 runs of every job (done now and then, not at every release)
        self.trim_runs = f"""
DELETE FROM {s}.runs r USING (
    SELECT seq FROM (
        SELECT seq, row_number() OVER (PARTITION BY job_id ORDER BY seq DESC) AS n
        FROM {s}.runs) x
    WHERE n > $1) old
WHERE r.seq = old.seq
"""
        self.housekeep = f"""
WITH t AS (SELECT {_NOW} AS now),
a AS (DELETE FROM {s}.firings WHERE done_at < (SELECT now FROM t) - $2::float8
      RETURNING 1),
b AS (DELETE FROM {s}.firings f WHERE f.lease_until < (SELECT now FROM t) - $2::float8
      AND (NOT f.run OR NOT EXISTS (SELECT 1 FROM {s}.jobs j WHERE j.id = f.job_id))
      RETURNING 1)
SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b)
"""
        # -- jobs -----------------------------------------------------------------------------
        cols = "id, func, payload, digest, version, paused, nominal, run_at"
        vals = f"$1, $2, $3, $4, nextval('{s}.versions'), $5, $6, $7"
        self.insert_job = (
            f"INSERT INTO {s}.jobs ({cols}) VALUES ({vals}) ON CONFLICT (id) DO NOTHING "
            "RETURNING id"
        )
        self.replace_job = (
            f"INSERT INTO {s}.jobs ({cols}) VALUES ({vals}) ON CONFLICT (id) DO UPDATE SET "
            "func = EXCLUDED.func, payload = EXCLUDED.payload, digest = EXCLUDED.digest, "
            "version = EXCLUDED.version, paused = EXCLUDED.paused, nominal = EXCLUDED.nominal, "
            "run_at = EXCLUDED.run_at, failures = 0 RETURNING (xmax = 0) AS inserted"
        )
        self.declare_job = (
            f"INSERT INTO {s}.jobs ({cols}) VALUES ({vals}) ON CONFLICT (id) DO UPDATE SET "
            "func = EXCLUDED.func, payload = EXCLUDED.payload, digest = EXCLUDED.digest, "
            "version = EXCLUDED.version, nominal = EXCLUDED.nominal, run_at = EXCLUDED.run_at, "
            "failures = 0 WHERE jobs.digest <> EXCLUDED.digest "
            "RETURNING (xmax = 0) AS inserted, paused, run_at"
        )
        self.update_job = (
            f"UPDATE {s}.jobs SET func = $2, payload = $3, digest = $4, "
            f"version = nextval('{s}.versions'), nominal = $5, run_at = $6 WHERE id = $1"
        )
        self.clear_runs = f"DELETE FROM {s}.runs WHERE job_id = $1"
        # firings still running stay (their nodes release them) with ``run`` off: their
        # completions record no history and their leases are not taken over
        self.delete_job = f"""
WITH gone AS (DELETE FROM {s}.jobs WHERE id = $1 RETURNING id),
r AS (DELETE FROM {s}.runs WHERE job_id IN (SELECT id FROM gone) RETURNING 1),
f AS (DELETE FROM {s}.firings WHERE job_id IN (SELECT id FROM gone) AND done_at IS NOT NULL
      RETURNING 1),
u AS (UPDATE {s}.firings SET run = false WHERE job_id IN (SELECT id FROM gone)
      AND done_at IS NULL RETURNING 1)
SELECT id FROM gone
"""
        job_cols = "id, version, payload, paused, run_at"
        self.get_job = f"SELECT {job_cols} FROM {s}.jobs WHERE id = $1"
        self.lock_job = f"SELECT {job_cols}, nominal FROM {s}.jobs WHERE id = $1 FOR UPDATE"
        self.all_jobs = f"SELECT {job_cols} FROM {s}.jobs"
        self.set_state = f"UPDATE {s}.jobs SET paused = $2, nominal = $3, run_at = $4 WHERE id = $1"
        self.history = (
            f"SELECT record FROM (SELECT seq, record FROM {s}.runs WHERE job_id = $1 "
            "ORDER BY seq DESC LIMIT $2) r ORDER BY seq"
        )
        self.all_history = f"""
SELECT job_id, record FROM (
    SELECT job_id, seq, record,
           row_number() OVER (PARTITION BY job_id ORDER BY seq DESC) AS n
    FROM {s}.runs) r
WHERE n <= $1 ORDER BY job_id, seq
"""
        self.last_runs = (
            f"SELECT DISTINCT ON (job_id) job_id, record FROM {s}.runs ORDER BY job_id, seq DESC"
        )
        self.leases = f"""
SELECT job_id, slot, node, owner, attempt, lease_until, {_NOW} AS now FROM {s}.firings
WHERE done_at IS NULL ORDER BY job_id, slot
"""
