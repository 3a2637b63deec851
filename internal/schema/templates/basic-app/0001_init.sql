-- basic-app v1: users, settings and an audit log, in schema public.
--
-- rds-provision runs this file once, inside one transaction, as the
-- database's owner role (SET LOCAL ROLE), so every object belongs to the
-- application and its own migrations can alter them. Names are
-- schema-qualified and functions pin search_path, so the caller's
-- search_path cannot change what is created or what the triggers call.

-- updated_at maintenance, shared by every table that has the column.
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

-- users -------------------------------------------------------------------

CREATE TABLE public.users (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    email        text        NOT NULL,
    display_name text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_format CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_display_name_length CHECK (length(btrim(display_name)) BETWEEN 1 AND 200)
);

-- One account per address, whatever its case: Alice@Example.com and
-- alice@example.com are the same user. Look users up by lower(email).
CREATE UNIQUE INDEX users_email_lower_key ON public.users (lower(email));

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON public.users
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION public.set_updated_at();

COMMENT ON TABLE public.users IS
    'People who use the application (basic-app template).';
COMMENT ON COLUMN public.users.id IS
    'Primary key, a random UUID: safe to show in URLs, reveals neither count nor order.';
COMMENT ON COLUMN public.users.email IS
    'Login and contact address, stored as given; unique case-insensitively (users_email_lower_key).';
COMMENT ON COLUMN public.users.display_name IS
    'Name shown in the interface, 1 to 200 characters after trimming.';
COMMENT ON COLUMN public.users.created_at IS
    'When the row was inserted.';
COMMENT ON COLUMN public.users.updated_at IS
    'When the row last changed; maintained by trigger users_set_updated_at.';
COMMENT ON INDEX public.users_email_lower_key IS
    'Case-insensitive uniqueness of email; serves WHERE lower(email) = lower($1).';
COMMENT ON TRIGGER users_set_updated_at ON public.users IS
    'Keeps updated_at current.';

-- settings ----------------------------------------------------------------

CREATE TABLE public.settings (
    key        text        NOT NULL,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_pkey PRIMARY KEY (key),
    CONSTRAINT settings_key_format CHECK (length(key) BETWEEN 1 AND 200 AND key = btrim(key))
);

CREATE TRIGGER settings_set_updated_at
    BEFORE UPDATE ON public.settings
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION public.set_updated_at();

COMMENT ON TABLE public.settings IS
    'Application-wide settings, one JSON value per key (basic-app template).';
COMMENT ON COLUMN public.settings.key IS
    'Setting name, 1 to 200 characters without surrounding spaces, e.g. features.signup.';
COMMENT ON COLUMN public.settings.value IS
    'Setting value, any JSON (object, array, string, number, boolean or null).';
COMMENT ON COLUMN public.settings.updated_at IS
    'When the value last changed; maintained by trigger settings_set_updated_at.';
COMMENT ON TRIGGER settings_set_updated_at ON public.settings IS
    'Keeps updated_at current.';

-- audit_log ---------------------------------------------------------------

CREATE TABLE public.audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    entity      text        NOT NULL,
    entity_id   text,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_actor_not_blank CHECK (btrim(actor) <> ''),
    CONSTRAINT audit_log_action_not_blank CHECK (btrim(action) <> ''),
    CONSTRAINT audit_log_entity_not_blank CHECK (btrim(entity) <> ''),
    CONSTRAINT audit_log_details_object CHECK (jsonb_typeof(details) = 'object')
);

-- Rows arrive in time order, so a BRIN index serves time ranges at a
-- fraction of a B-tree's size.
CREATE INDEX audit_log_occurred_at_brin ON public.audit_log USING brin (occurred_at);
CREATE INDEX audit_log_entity_idx ON public.audit_log (entity, entity_id, occurred_at);
CREATE INDEX audit_log_actor_idx ON public.audit_log (actor, occurred_at);

COMMENT ON TABLE public.audit_log IS
    'Who did what to which entity, and when (basic-app template). Insert-only by convention; delete old rows for retention.';
COMMENT ON COLUMN public.audit_log.id IS
    'Primary key, assigned by the database in insertion order.';
COMMENT ON COLUMN public.audit_log.occurred_at IS
    'When the action happened; defaults to the transaction time.';
COMMENT ON COLUMN public.audit_log.actor IS
    'Who acted: a users.id, an email, or a service name such as system.';
COMMENT ON COLUMN public.audit_log.action IS
    'What was done, e.g. user.created or settings.updated.';
COMMENT ON COLUMN public.audit_log.entity IS
    'Kind of thing acted on, e.g. users or settings.';
COMMENT ON COLUMN public.audit_log.entity_id IS
    'Key of the thing acted on, as text; NULL when the action has no single target.';
COMMENT ON COLUMN public.audit_log.details IS
    'Anything else worth keeping, as a JSON object (e.g. changed fields).';
COMMENT ON INDEX public.audit_log_occurred_at_brin IS
    'Time-range scans of the log.';
COMMENT ON INDEX public.audit_log_entity_idx IS
    'History of one entity: WHERE entity = $1 AND entity_id = $2 ORDER BY occurred_at.';
COMMENT ON INDEX public.audit_log_actor_idx IS
    'What one actor did: WHERE actor = $1 ORDER BY occurred_at.';
