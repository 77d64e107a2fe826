-- FerretDB 1.24 (PostgreSQL backend) makes a B-tree index on (_jsonb -> 'field') for
-- each MongoDB index, but pushes an equality filter down as (_jsonb -> 'field') @> value,
-- which a B-tree cannot answer: every find, _id lookups included, reads the whole table,
-- so a read's cost grows with the collection. A GIN index on the same expression answers
-- @>. This gives each of FerretDB's indexes such a twin, now and whenever FerretDB makes
-- one (an event trigger), so finds by indexed fields cost the same however large the
-- collection grows, as they do on MongoDB. Idempotent; run in FerretDB's database.

CREATE OR REPLACE FUNCTION parley_gin_twins_of(index_oid oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  tbl regclass;
  columns int;
  expr text;
  twin text;
  schema_name text;
BEGIN
  SELECT indrelid::regclass, indnatts INTO tbl, columns FROM pg_index WHERE indexrelid = index_oid;
  -- FerretDB's own catalog is small and read by _id only once per connection: left alone.
  IF tbl IS NULL OR pg_get_indexdef(index_oid) NOT LIKE '%USING btree%' OR tbl::text LIKE '%._ferretdb_%' THEN
    RETURN;
  END IF;
  -- The first field only: FerretDB pushes down equality alone, so a compound index's
  -- later fields (a version, a position) are never what a query narrows by, and each
  -- twin costs every insert and update of the table.
  FOR i IN 1..least(columns, 1) LOOP
    expr := pg_get_indexdef(index_oid, i, false);
    -- Only FerretDB's field expressions: ((_jsonb -> 'f'::text)) or ((_jsonb #> '{a,b}'::text[])).
    CONTINUE WHEN expr NOT LIKE '((_jsonb -> %' AND expr NOT LIKE '((_jsonb #> %';
    twin := 'gin_' || substr(md5(tbl::text || expr), 1, 24);
    SELECT nspname INTO schema_name FROM pg_namespace WHERE oid = (SELECT relnamespace FROM pg_class WHERE oid = tbl);
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = twin AND n.nspname = schema_name) THEN
      -- A twin made by an earlier version of this file: the same setting, its pending entries merged.
      EXECUTE format('ALTER INDEX %I.%I SET (fastupdate = off)', schema_name, twin);
      PERFORM gin_clean_pending_list(format('%I.%I', schema_name, twin)::regclass);
      CONTINUE;
    END IF;
    -- fastupdate off: with GIN's pending list, every look-up reads all entries not yet
    -- merged (after a burst of inserts, milliseconds per look-up instead of microseconds).
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s) WITH (fastupdate = off)', twin, tbl, expr);
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION parley_gin_twins_on_create() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' AND object_type = 'index' LOOP
    PERFORM parley_gin_twins_of(r.objid);
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS parley_gin_twins;
CREATE EVENT TRIGGER parley_gin_twins ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION parley_gin_twins_on_create();

-- The indexes FerretDB made before this ran.
SELECT parley_gin_twins_of(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast');

-- FerretDB passes the field name as a parameter (_jsonb -> $1 @> $2): a generic plan,
-- which PostgreSQL caches for a prepared statement after five runs if it looks no
-- dearer than the custom ones (as it does while a table is small), cannot match an
-- index on (_jsonb -> 'field') and scans the table for good. Custom plans only.
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END $$;
