#!/usr/bin/env python3
"""Edits the entities of a copy of the project the way a user adding columns would.

    add-columns.py ROOT defaulted         every entity gets `edit_note` (nullable) and
                                          `edit_level` (NOT NULL with a default, one type per table)
    add-columns.py ROOT required TABLE    TABLE gets `edit_required: i32`, NOT NULL without a default

`defaulted` prints one line per table: `table<TAB>nullable type<TAB>sql of the NOT NULL column
as generate writes it<TAB>a SQL predicate every row must satisfy after seeding`, which the
calling script checks the generated migration and the seeded rows against.
Fails (exit 1, naming the file) when an entity does not have the shape it expects.
"""

import pathlib
import sys

# The NOT NULL column with a default, per table: the field's Rust type and attribute, the column
# definition generate writes (drizzle-kit's form) and what seeded rows must hold. Tables the seed
# files or the demo generator fill get the types whose placeholders are hardest to make
# (timestamps, enums, uuid, jsonb); the others cycle through the rest.
KINDS = {
    "int": ("i32", "#[sea_orm(default_value = 5)]", "integer DEFAULT 5 NOT NULL", "= 5"),
    "bigint": ("i64", "#[sea_orm(default_value = 7)]", "bigint DEFAULT 7 NOT NULL", "= 7"),
    "bool": ("bool", "#[sea_orm(default_value = true)]", "boolean DEFAULT true NOT NULL", "= true"),
    "text": (
        "String",
        '#[sea_orm(column_type = "Text", default_value = "new")]',
        "text DEFAULT 'new' NOT NULL",
        "= 'new'",
    ),
    "timestamp": (
        "DateTime",
        '#[sea_orm(default_expr = "Expr::cust(\\"now()\\")")]',
        "timestamp DEFAULT now() NOT NULL",
        "is not null",
    ),
    "timestamptz": (
        "DateTimeWithTimeZone",
        '#[sea_orm(default_expr = "Expr::cust(\\"now()\\")")]',
        "timestamp with time zone DEFAULT now() NOT NULL",
        "is not null",
    ),
    "uuid": (
        "Uuid",
        '#[sea_orm(default_expr = "Expr::cust(\\"gen_random_uuid()\\")")]',
        "uuid DEFAULT gen_random_uuid() NOT NULL",
        "is not null",
    ),
    "jsonb": (
        "Json",
        '#[sea_orm(column_type = "JsonBinary", default_expr = "Expr::cust(\\"\'{}\'::jsonb\\")")]',
        "jsonb DEFAULT '{}'::jsonb NOT NULL",
        "= '{}'::jsonb",
    ),
    "enum": (
        "super::sea_orm_active_enums::DocumentSourceStatus",
        '#[sea_orm(default_value = "pending")]',
        "\"document_source_status\" DEFAULT 'pending' NOT NULL",
        "= 'pending'",
    ),
}

TABLES = {
    # seeded by seeds/initial/ and/or the demo generator
    "organization": "timestamp",
    "user": "timestamptz",
    "member": "uuid",
    "org_credits": "int",
    "subscription": "jsonb",
    "feature_flags": "bool",
    "announcements": "text",
    "roadmap_items": "bigint",
    "document_source": "enum",
    "document_chunk": "int",
    "ai_usage": "timestamptz",
    # the rest
    "account": "int",
    "session": "bool",
    "verification": "text",
    "invitation": "timestamp",
    "roadmap_votes": "uuid",
    "referrals": "jsonb",
    "waitlist_entries": "enum",
    "webhook_endpoints": "bigint",
    "webhook_deliveries": "timestamptz",
    "audit_log": "int",
    "saas_metrics_daily": "text",
}

NULLABLE = ["Option<String>", "Option<i32>", "Option<DateTimeWithTimeZone>", "Option<Uuid>"]


def die(message):
    print(f"add-columns.py: {message}", file=sys.stderr)
    sys.exit(1)


def add_fields(path, fields):
    """Inserts `fields` (lines) at the end of `pub struct Model { ... }` in `path`."""
    text = path.read_text()
    start = text.find("pub struct Model {\n")
    if start < 0:
        die(f"{path} has no `pub struct Model {{`")
    end = text.find("\n}\n", start)
    if end < 0:
        die(f"{path}: `pub struct Model` does not end with a `}}` line")
    path.write_text(text[: end + 1] + "".join(f"    {line}\n" for line in fields) + text[end + 1 :])


def entity_files(root):
    src = root / "entity" / "src"
    modules = [
        line[len("pub mod ") : -1]
        for line in (src / "lib.rs").read_text().splitlines()
        if line.startswith("pub mod ") and line.endswith(";")
    ]
    entities = [m for m in modules if m not in ("prelude", "sea_orm_active_enums", "supplement")]
    if sorted(entities) != sorted(TABLES):
        die(
            "entity/src/lib.rs declares other entities than this script knows: "
            f"missing here {sorted(set(entities) - set(TABLES))}, gone there {sorted(set(TABLES) - set(entities))}"
        )
    return {m: src / f"{m}.rs" for m in entities}


def main():
    if len(sys.argv) < 3:
        die(__doc__)
    root = pathlib.Path(sys.argv[1])
    files = entity_files(root)
    if sys.argv[2] == "defaulted" and len(sys.argv) == 3:
        for i, (table, path) in enumerate(sorted(files.items())):
            rust, attribute, sql, predicate = KINDS[TABLES[table]]
            nullable = NULLABLE[i % len(NULLABLE)]
            text = ['#[sea_orm(column_type = "Text")]'] if nullable == "Option<String>" else []
            add_fields(
                path,
                [
                    "/// Added by tests/in-copy/add-columns.py: nullable.",
                    *text,
                    f"pub edit_note: {nullable},",
                    "/// Added by tests/in-copy/add-columns.py: NOT NULL with a default.",
                    attribute,
                    f"pub edit_level: {rust},",
                ],
            )
            print(f"{table}\t{nullable}\t{sql}\t{predicate}")
    elif sys.argv[2] == "required" and len(sys.argv) == 4:
        table = sys.argv[3]
        if table not in files:
            die(f"no entity `{table}`")
        add_fields(
            files[table],
            ["/// Added by tests/in-copy/add-columns.py: NOT NULL without a default.", "pub edit_required: i32,"],
        )
    else:
        die(__doc__)


main()
