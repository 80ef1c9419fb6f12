"""The image tally: live images counted per (class, split), width and height, and hashed, kept by triggers.

Also a generation ("g") that grows by one whenever an image joins the set the near-duplicate search
compares (live and hashed), so a leakage report can tell, without reading every image, that nothing needs
comparing since it found its pairs (images that left only take their pairs with them). A later migration
that rebuilds datasets_image or datasets_dataset on SQLite (Django remakes the table for some column
changes) drops these triggers and must create them again: the tally tests fail if it does not.

SQLite (the embedded default, one writer at a time): row triggers add +1 / -1 to the key's single row
(an upsert on a unique index). PostgreSQL: statement triggers with transition tables insert one signed
delta row per key a statement changed, never updating a row, so concurrent writers to one dataset neither
wait on a count nor deadlock; webapp.datasets.services.tally sums the deltas and folds them now and then.
A dataset's rows go when it is deleted and, in case an id is ever reused (SQLite's flush in tests), when a
dataset is created.
"""

from django.db import migrations, models

TABLE = "datasets_imagetally"
COLUMNS = "dataset_pk, kind, key, split, n"
# Only these columns change what the tally counts; an update of anything else (names, files) counts nothing.
COUNTED = ("dataset_id", "label_id", "split", "width", "height", "deleted_at", "phash")

# --- SQLite ------------------------------------------------------------------------------------------------
SQLITE_UNIQUE = f"CREATE UNIQUE INDEX image_tally_unique ON {TABLE} (dataset_pk, kind, key, split)"


def _sqlite_rows(row: str, sign: int) -> str:
    # VALUES names its columns column1..column5: column2 is the kind; "p" counts only hashed images.
    return (f"SELECT * FROM (VALUES ({row}.dataset_id, 'c', COALESCE({row}.label_id, 0), {row}.split, {sign}), "
            f"({row}.dataset_id, 'w', {row}.width, '', {sign}), ({row}.dataset_id, 'h', {row}.height, '', {sign}), "
            f"({row}.dataset_id, 'p', 1, '', {sign})) "
            f"WHERE {row}.deleted_at IS NULL AND (column2 <> 'p' OR {row}.phash IS NOT NULL)")


def _sqlite_add(row: str, sign: int) -> str:
    # The WHERE in the SELECT is also what SQLite's parser needs before an upsert's ON CONFLICT.
    return (f"INSERT INTO {TABLE} ({COLUMNS}) {_sqlite_rows(row, sign)} "
            f"ON CONFLICT (dataset_pk, kind, key, split) DO UPDATE SET n = n + excluded.n;")


def _member(row: str) -> str:
    """Return SQL true when the image is one the near-duplicate search compares: live and hashed."""
    return f"({row}.deleted_at IS NULL AND {row}.phash IS NOT NULL)"


def _sqlite_join(row: str, when: str) -> str:
    # "g" only ever goes up, one per image that joins the compared set (a new upload, a hash filled in, or an
    # undelete, should there ever be one), so an unchanged "g" means the set only lost images since.
    return (f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {row}.dataset_id, 'g', 0, '', 1 WHERE {when} "
            f"ON CONFLICT (dataset_pk, kind, key, split) DO UPDATE SET n = n + excluded.n;")


_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COUNTED)
_JOINED = f"{_member('NEW')} AND NOT {_member('OLD')}"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER image_tally_insert AFTER INSERT ON datasets_image "
    f"BEGIN {_sqlite_add('NEW', 1)} {_sqlite_join('NEW', _member('NEW'))} END",
    f"CREATE TRIGGER image_tally_delete AFTER DELETE ON datasets_image "
    f"BEGIN {_sqlite_add('OLD', -1)} END",
    f"CREATE TRIGGER image_tally_update AFTER UPDATE OF {', '.join(COUNTED)} ON datasets_image "
    f"WHEN {_CHANGED} BEGIN {_sqlite_add('OLD', -1)} {_sqlite_add('NEW', 1)} "
    f"{_sqlite_join('NEW', _JOINED)} END",
    f"CREATE TRIGGER image_tally_dataset_insert AFTER INSERT ON datasets_dataset "
    f"BEGIN DELETE FROM {TABLE} WHERE dataset_pk = NEW.id; END",
    f"CREATE TRIGGER image_tally_dataset_delete AFTER DELETE ON datasets_dataset "
    f"BEGIN DELETE FROM {TABLE} WHERE dataset_pk = OLD.id; END",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS image_tally_{name}"
               for name in ("insert", "delete", "update", "dataset_insert", "dataset_delete")]


# --- PostgreSQL --------------------------------------------------------------------------------------------
def _pg_changes(*tables: tuple[str, int]) -> str:
    return " UNION ALL ".join(
        f"SELECT dataset_id, label_id, split, width, height, phash, {sign} AS sign FROM {table} "
        "WHERE deleted_at IS NULL"
        for table, sign in tables)


def _pg_function(name: str, joins: str | None, *tables: tuple[str, int]) -> str:
    # One delta row per key the statement changed; keys whose +1s and -1s cancel (an update of other
    # columns, a relabel back and forth) write nothing. `joins`: the images that joined the set the
    # near-duplicate search compares, one "g" each (see _sqlite_join).
    generation = "" if joins is None else f"""
    INSERT INTO {TABLE} ({COLUMNS})
    SELECT dataset_id, 'g', 0, '', COUNT(*) FROM ({joins}) AS j GROUP BY dataset_id;"""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} ({COLUMNS})
    SELECT c.dataset_id, k.kind, k.key, k.split, SUM(c.sign)
    FROM ({_pg_changes(*tables)}) AS c
    CROSS JOIN LATERAL (VALUES ('c', COALESCE(c.label_id, 0)::bigint, c.split::text),
                               ('w', c.width::bigint, ''), ('h', c.height::bigint, ''),
                               ('p', 1::bigint, '')) AS k(kind, key, split)
    WHERE k.kind <> 'p' OR c.phash IS NOT NULL
    GROUP BY c.dataset_id, k.kind, k.key, k.split
    HAVING SUM(c.sign) <> 0;{generation}
    RETURN NULL;
END $$"""


PG_FORGET = f"""
CREATE OR REPLACE FUNCTION image_tally_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        DELETE FROM {TABLE} WHERE dataset_pk = NEW.id;
    ELSE
        DELETE FROM {TABLE} WHERE dataset_pk = OLD.id;
    END IF;
    RETURN NULL;
END $$"""
PG_TRIGGERS = [
    _pg_function("image_tally_inserted", f"SELECT dataset_id FROM new_rows WHERE {_member('new_rows')}",
                 ("new_rows", 1)),
    _pg_function("image_tally_deleted", None, ("old_rows", -1)),
    _pg_function("image_tally_updated", f"SELECT n.dataset_id FROM old_rows AS o JOIN new_rows AS n ON o.id = n.id "
                                        f"WHERE {_member('n')} AND NOT {_member('o')}", ("old_rows", -1), ("new_rows", 1)),
    PG_FORGET,
    "CREATE TRIGGER image_tally_insert AFTER INSERT ON datasets_image REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION image_tally_inserted()",
    "CREATE TRIGGER image_tally_delete AFTER DELETE ON datasets_image REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION image_tally_deleted()",
    "CREATE TRIGGER image_tally_update AFTER UPDATE ON datasets_image "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION image_tally_updated()",
    "CREATE TRIGGER image_tally_dataset AFTER INSERT OR DELETE ON datasets_dataset "
    "FOR EACH ROW EXECUTE FUNCTION image_tally_forget()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS image_tally_insert ON datasets_image",
    "DROP TRIGGER IF EXISTS image_tally_delete ON datasets_image",
    "DROP TRIGGER IF EXISTS image_tally_update ON datasets_image",
    "DROP TRIGGER IF EXISTS image_tally_dataset ON datasets_dataset",
    "DROP FUNCTION IF EXISTS image_tally_inserted(), image_tally_deleted(), image_tally_updated(), "
    "image_tally_forget()",
]

# Images already stored are counted once, as the triggers would have.
FILL = [
    f"INSERT INTO {TABLE} ({COLUMNS}) SELECT dataset_id, 'c', COALESCE(label_id, 0), split, COUNT(*) "
    "FROM datasets_image WHERE deleted_at IS NULL GROUP BY dataset_id, COALESCE(label_id, 0), split",
    f"INSERT INTO {TABLE} ({COLUMNS}) SELECT dataset_id, 'w', width, '', COUNT(*) "
    "FROM datasets_image WHERE deleted_at IS NULL GROUP BY dataset_id, width",
    f"INSERT INTO {TABLE} ({COLUMNS}) SELECT dataset_id, 'h', height, '', COUNT(*) "
    "FROM datasets_image WHERE deleted_at IS NULL GROUP BY dataset_id, height",
    f"INSERT INTO {TABLE} ({COLUMNS}) SELECT dataset_id, 'p', 1, '', COUNT(*) "
    "FROM datasets_image WHERE deleted_at IS NULL AND phash IS NOT NULL GROUP BY dataset_id",
]


def _vendor_sql(schema_editor) -> tuple[list[str], list[str]]:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        return [SQLITE_UNIQUE, *SQLITE_TRIGGERS], SQLITE_DROP
    if vendor == "postgresql":
        return PG_TRIGGERS, PG_DROP
    raise RuntimeError(f"Lux keeps its image tally with SQLite or PostgreSQL triggers, not {vendor}")


def create_triggers(apps, schema_editor):
    """Create the triggers, then count the images already stored (in this migration's transaction)."""
    create, _ = _vendor_sql(schema_editor)
    for statement in [*create, *FILL]:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    _, drop = _vendor_sql(schema_editor)
    for statement in drop:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("datasets", "0007_image_phash_crops")]

    operations = [
        migrations.CreateModel(
            name="ImageTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("dataset_pk", models.BigIntegerField()),
                ("kind", models.CharField(max_length=1)),
                ("key", models.BigIntegerField()),
                ("split", models.CharField(default="", max_length=10)),
                ("n", models.IntegerField()),
            ],
            options={"indexes": [models.Index(fields=["dataset_pk", "kind", "key", "split"],
                                              name="image_tally_key")]},
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
