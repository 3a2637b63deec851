-- event-sourcing v1: an append-only event store with projection
-- checkpoints and snapshots, in schema public.
--
-- rds-provision runs this file once, inside one transaction, as the
-- database's owner role (SET LOCAL ROLE), so every object belongs to the
-- application and its own migrations can alter them. Names are
-- schema-qualified and functions pin search_path, so the caller's
-- search_path cannot change what is created or what the triggers call.
--
-- Reading in order: appends are serialised (events_serialize_appends), so
-- positions become visible in increasing order and a projector that reads
-- WHERE position > <checkpoint> ORDER BY position never skips an event
-- that commits late. Gaps in position are normal (rolled-back appends).

-- events ------------------------------------------------------------------

CREATE TABLE public.events (
    position       bigint      GENERATED ALWAYS AS IDENTITY,
    event_id       uuid        NOT NULL DEFAULT gen_random_uuid(),
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    event_type     text        NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_pkey PRIMARY KEY (position),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
    CONSTRAINT events_stream_id_format CHECK (length(stream_id) BETWEEN 1 AND 255 AND stream_id = btrim(stream_id)),
    CONSTRAINT events_stream_version_positive CHECK (stream_version >= 1),
    CONSTRAINT events_event_type_format CHECK (length(event_type) BETWEEN 1 AND 255 AND event_type = btrim(event_type)),
    CONSTRAINT events_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX events_event_type_position_idx ON public.events (event_type, position);
-- Events arrive in time order, so a BRIN index serves time ranges at a
-- fraction of a B-tree's size.
CREATE INDEX events_recorded_at_brin ON public.events USING brin (recorded_at);

COMMENT ON TABLE public.events IS
    'Append-only event store (event-sourcing template): UPDATE, DELETE and TRUNCATE are refused by trigger events_append_only.';
COMMENT ON COLUMN public.events.position IS
    'Global position, assigned by the database; increases in commit order (appends are serialised). Gaps are normal.';
COMMENT ON COLUMN public.events.event_id IS
    'Unique id of the event; give your own to make a retried append idempotent (INSERT ... ON CONFLICT (event_id) DO NOTHING).';
COMMENT ON COLUMN public.events.stream_id IS
    'The stream (aggregate) the event belongs to, e.g. order-42; 1 to 255 characters.';
COMMENT ON COLUMN public.events.stream_version IS
    'Version of the stream after this event: 1 for its first event. Unique per stream, so appending the version you expect is optimistic concurrency.';
COMMENT ON COLUMN public.events.event_type IS
    'Name of what happened, e.g. OrderPlaced; 1 to 255 characters.';
COMMENT ON COLUMN public.events.data IS
    'The event payload, any JSON.';
COMMENT ON COLUMN public.events.metadata IS
    'Context of the event as a JSON object: correlation and causation ids, actor, schema version.';
COMMENT ON COLUMN public.events.recorded_at IS
    'When the event was stored (transaction time).';
COMMENT ON CONSTRAINT events_stream_version_key ON public.events IS
    'Optimistic concurrency: a second event at the same stream version fails with unique_violation (23505).';
COMMENT ON INDEX public.events_event_type_position_idx IS
    'Projections by type: WHERE event_type = ANY($1) AND position > $2 ORDER BY position.';
COMMENT ON INDEX public.events_recorded_at_brin IS
    'Time-range scans of the store.';

-- Append-only: refuse every statement that would change or remove events.
-- A statement-level trigger refuses even a statement that matches no row,
-- and INSERT ... ON CONFLICT DO UPDATE, which fires UPDATE triggers.
CREATE FUNCTION public.events_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    RAISE EXCEPTION 'public.events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Events are immutable facts; append a compensating event instead.';
END
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON public.events
    FOR EACH STATEMENT
    EXECUTE FUNCTION public.events_refuse_change();

COMMENT ON FUNCTION public.events_refuse_change() IS
    'Trigger function: raises restrict_violation (23001) for any UPDATE, DELETE or TRUNCATE of public.events.';
COMMENT ON TRIGGER events_append_only ON public.events IS
    'Makes public.events append-only.';

-- Serialise appends: before an INSERT draws any position, take a
-- transaction-scoped advisory lock (key: the table's OID), held to commit.
-- Positions therefore become visible in increasing order. Appending
-- transactions queue behind each other, so keep them short.
CREATE FUNCTION public.events_serialize_appends() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(TG_RELID::bigint);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_serialize_appends
    BEFORE INSERT ON public.events
    FOR EACH STATEMENT
    EXECUTE FUNCTION public.events_serialize_appends();

COMMENT ON FUNCTION public.events_serialize_appends() IS
    'Trigger function: takes pg_advisory_xact_lock(<events OID>) so appends commit in position order.';
COMMENT ON TRIGGER events_serialize_appends ON public.events IS
    'Serialises appends so that positions become visible in increasing order.';

-- NOTIFY on append: one notification per INSERT statement on channel
-- events, payload the highest position it appended, delivered at commit.
CREATE FUNCTION public.events_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
DECLARE
    last_position bigint;
BEGIN
    SELECT max(a.position) INTO last_position FROM appended AS a;
    IF last_position IS NOT NULL THEN
        PERFORM pg_catalog.pg_notify('events', last_position::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify
    AFTER INSERT ON public.events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT
    EXECUTE FUNCTION public.events_notify();

COMMENT ON FUNCTION public.events_notify() IS
    'Trigger function: pg_notify(''events'', <highest position appended by the statement>).';
COMMENT ON TRIGGER events_notify ON public.events IS
    'Wakes projectors: LISTEN events; the payload is a position to catch up to.';

-- updated_at maintenance for the tables below.
CREATE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION public.set_updated_at() IS
    'Trigger function: sets updated_at to the transaction time on every UPDATE that changes the row.';

-- projection_checkpoints --------------------------------------------------

CREATE TABLE public.projection_checkpoints (
    name          text        NOT NULL,
    last_position bigint      NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projection_checkpoints_pkey PRIMARY KEY (name),
    CONSTRAINT projection_checkpoints_name_format CHECK (length(name) BETWEEN 1 AND 200 AND name = btrim(name)),
    CONSTRAINT projection_checkpoints_last_position_not_negative CHECK (last_position >= 0)
);

CREATE TRIGGER projection_checkpoints_set_updated_at
    BEFORE UPDATE ON public.projection_checkpoints
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION public.set_updated_at();

COMMENT ON TABLE public.projection_checkpoints IS
    'How far each projection has read public.events (event-sourcing template). Update it in the same transaction as the projection''s own writes.';
COMMENT ON COLUMN public.projection_checkpoints.name IS
    'Projection name, e.g. order_summary.';
COMMENT ON COLUMN public.projection_checkpoints.last_position IS
    'Position of the last event the projection has handled; 0 before the first. Resume WHERE position > last_position.';
COMMENT ON COLUMN public.projection_checkpoints.updated_at IS
    'When the checkpoint last moved; maintained by trigger projection_checkpoints_set_updated_at.';
COMMENT ON TRIGGER projection_checkpoints_set_updated_at ON public.projection_checkpoints IS
    'Keeps updated_at current.';

-- snapshots ---------------------------------------------------------------

CREATE TABLE public.snapshots (
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    state          jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT snapshots_pkey PRIMARY KEY (stream_id, stream_version),
    CONSTRAINT snapshots_event_fkey FOREIGN KEY (stream_id, stream_version)
        REFERENCES public.events (stream_id, stream_version)
);

COMMENT ON TABLE public.snapshots IS
    'Optional cache of a stream''s state at a version, so loading it replays only later events (event-sourcing template). Safe to delete; delete them when the state''s shape changes.';
COMMENT ON COLUMN public.snapshots.stream_id IS
    'The stream the snapshot summarises.';
COMMENT ON COLUMN public.snapshots.stream_version IS
    'The stream version the state includes; the event at that version must exist (snapshots_event_fkey).';
COMMENT ON COLUMN public.snapshots.state IS
    'The folded state, as JSON.';
COMMENT ON COLUMN public.snapshots.created_at IS
    'When the snapshot was taken.';
COMMENT ON CONSTRAINT snapshots_event_fkey ON public.snapshots IS
    'A snapshot describes an event that exists. Latest snapshot: WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1 (served by snapshots_pkey).';
