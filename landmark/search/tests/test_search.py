"""Search: each kind, prefix matching, privacy, tenant isolation, the index following
every write, and hostile queries, through the page, the dropdown and the API."""

import pytest
from django.core.management import call_command
from django.db import connection

from landmark.conftest import make_member, moment
from landmark.kpis.models import KPI
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import Objective
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Organization, Team, User
from landmark.search.index import (
    BY_KIND,
    DOCUMENT_COLUMN,
    SOURCES,
    STORED_MIGRATION,
    ensure_postgresql,
    ensure_sqlite,
)
from landmark.search.read import (
    KINDS,
    BadQuery,
    candidates,
    matching,
    search,
    terms_of,
)

HOSTILE = [
    '"',
    '""',
    "'",
    "deal*",
    "*",
    "-deals",
    "deals -",
    "NOT deals",
    "deals AND",
    "OR",
    "NEAR(deals pipeline)",
    "title:deals",
    "{title}: deals",
    "^deals",
    "deals & | ! <-> :*",
    "'deal':* & ",
    "(deals",
    "\\",
    "%_",
    "😀 deals",
    "d\u0301eals",
    "x" * 200,
    " ".join(["deals"] * 40)[:200],
]


def hits(membership: Membership, q: str, limit: int = 20) -> dict[str, list[str]]:
    return {
        group.kind: [hit.title for hit in group.hits]
        for group in search(membership, q, limit=limit).groups
        if group.hits
    }


def membership(user: User, org: Organization) -> Membership:
    return Membership.objects.select_related("organization", "user").get(
        user=user, organization=org
    )


@pytest.mark.parametrize(
    ("q", "kind", "title"),
    [
        ("pipeline", "objective", "Close the pipeline deals"),
        ("mid-market", "objective", "Close the pipeline deals"),
        ("zephyr", "key_result", "Sign zephyr customers"),
        ("quokka", "initiative", "Quokka outreach campaign"),
        ("wombat", "kpi", "Weekly wombat signups"),
        ("mondays", "kpi", "Weekly wombat signups"),
        ("narwhal", "team", "Narwhal squad"),
        ("bob brown", "person", "Bob Brown"),
        ("bob@acme.test", "person", "Bob Brown"),
    ],
)
def test_it_finds_each_kind(world, alice, org, q, kind, title):
    assert hits(membership(alice, org), q) == {kind: [title]}


def test_it_matches_words_from_their_start(world, alice, org):
    me = membership(alice, org)
    assert hits(me, "dea") == {"objective": ["Close the pipeline deals"]}
    assert hits(me, "DEA PIPE") == {"objective": ["Close the pipeline deals"]}
    assert hits(me, "eals") == {}  # the middle of a word is not its start
    assert hits(me, "deals zephyr") == {}  # every word must match the same row


def test_a_private_objective_or_kpi_is_found_only_by_who_may_open_it(
    world, org, alice, bob, viewer
):
    admin = hits(membership(alice, org), "globex")
    assert admin == {
        "objective": ["Acquire Globex secretly"],
        "kpi": ["Globex takeover runway"],
    }
    # Bob owns no Globex row and is in no team yet: nothing, not even a "more".
    results = search(membership(bob, org), "globex", limit=1)
    assert results.total == 0 and not any(group.more for group in results.groups)
    # Vera joins Sales: now she may open both.
    assert hits(membership(viewer, org), "globex") == {}
    sales = Team.objects.get(organization=org, name="Sales")
    org_actions.set_team_members(team=sales, members=[viewer], leads=[])
    assert hits(membership(viewer, org), "globex") == admin


def test_a_hidden_match_takes_no_place_in_the_limit(world, org, bob, period, alice):
    sales = Team.objects.get(organization=org, name="Sales")
    for n in range(3):
        okr_actions.create_objective(
            org=org,
            period=period,
            owner=alice,
            title=f"Globex plan {n}",
            team=sales,
            visibility=Objective.Visibility.PRIVATE,
        )
    results = search(membership(bob, org), "globex plan", limit=1)
    assert results.total == 0
    assert not any(group.more for group in results.groups)
    assert search(membership(alice, org), "globex plan", limit=1).groups[0].more


def test_another_organizations_rows_are_never_found(
    world, other_objective, charlie, other_org, alice, org
):
    okr_actions.create_objective(
        org=org,
        period=world["objective"].period,
        owner=alice,
        title="Delight every Acme customer",
    )
    assert hits(membership(alice, org), "delight") == {
        "objective": ["Delight every Acme customer"]
    }
    assert hits(membership(charlie, other_org), "delight") == {
        "objective": ["Delight every Other Co customer"]
    }
    # Charlie sees his own people, never Acme's.
    assert hits(membership(charlie, other_org), "bob") == {}
    assert hits(membership(charlie, other_org), "narwhal") == {}


def test_an_inactive_member_is_not_among_the_people(world, org, alice):
    make_member(org, "gone@acme.test", Membership.Role.MEMBER, "Gertrude Gone")
    assert hits(membership(alice, org), "gertrude") == {"person": ["Gertrude Gone"]}
    Membership.objects.filter(user__email="gone@acme.test").update(is_active=False)
    assert hits(membership(alice, org), "gertrude") == {}


def test_an_edited_title_is_found_under_its_new_words_at_once(world, alice, org):
    me = membership(alice, org)
    okr_actions.update_objective(objective=world["objective"], title="Win renewals")
    assert hits(me, "renewals") == {"objective": ["Win renewals"]}
    assert hits(me, "pipeline") == {}
    # Any write, not only the actions': a queryset update too.
    KPI.objects.filter(pk=world["kpi"].pk).update(name="Monthly marmot signups")
    assert hits(me, "marmot") == {"kpi": ["Monthly marmot signups"]}
    assert hits(me, "wombat") == {}
    Team.objects.filter(pk=world["team"].pk).update(name="Dolphin pod")
    assert hits(me, "dolphin") == {"team": ["Dolphin pod"]}


def test_deleted_rows_disappear(world, alice, org):
    me = membership(alice, org)
    world["initiative"].delete()
    assert hits(me, "quokka") == {}
    world["objective"].delete()  # its key results go with it
    assert hits(me, "zephyr") == {}
    assert hits(me, "pipeline") == {}
    world["team"].delete()
    assert hits(me, "narwhal") == {}


@pytest.mark.parametrize("q", HOSTILE)
def test_special_characters_never_raise(world, alice, org, q):
    try:
        results = search(membership(alice, org), q, limit=5)
    except BadQuery:
        return  # nothing to search for: said in words, not a crash
    assert {group.kind for group in results.groups} == set(KINDS)


def test_operators_are_words_not_syntax(world, alice, org):
    me = membership(alice, org)
    assert hits(me, '"deals') == {"objective": ["Close the pipeline deals"]}
    assert hits(me, "-pipeline*") == {"objective": ["Close the pipeline deals"]}
    assert hits(me, "NOT zephyr") == {}  # "not" is a word that matches nothing here


def test_a_query_needs_a_word_and_a_bound():
    with pytest.raises(BadQuery):
        terms_of("")
    with pytest.raises(BadQuery):
        terms_of(" *-\"' ")
    with pytest.raises(BadQuery):
        terms_of("x" * 201)
    assert [t.word for t in terms_of("Close-deals, Q3!")] == ["close", "deals", "q3"]
    assert all(t.prefix for t in terms_of("Close-deals, Q3!"))


def test_a_single_letter_is_a_whole_word_alone_and_left_out_beside_others(
    world, alice, org, period
):
    me = membership(alice, org)
    okr_actions.create_objective(
        org=org, period=period, owner=alice, title="Plan B for the s curve"
    )
    assert hits(me, "b") == {"objective": ["Plan B for the s curve"]}
    assert hits(me, "s") == {"objective": ["Plan B for the s curve"]}
    # Beside a longer word it narrows nothing: "pipeline d" is "pipeline".
    assert hits(me, "pipeline d") == {"objective": ["Close the pipeline deals"]}
    assert [(t.word, t.prefix) for t in terms_of("a b")] == [("a", False), ("b", False)]


def test_a_row_written_by_raw_sql_is_found_at_once(world, alice, org):
    """Not only the ORM's writes: the database keeps the index (PostgreSQL computes the
    stored document, SQLite's triggers fire)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orgs_team (organization_id, name, kind, created_at) "
            "VALUES (%s, %s, %s, %s)",
            [org.pk, "Axolotl guild", Team.Kind.TEAM, moment()],
        )
        cursor.execute(
            "UPDATE okrs_objective SET title = %s WHERE id = %s",
            ["Tame the okapi herd", world["objective"].pk],
        )
    me = membership(alice, org)
    assert hits(me, "axolotl") == {"team": ["Axolotl guild"]}
    assert hits(me, "okapi") == {"objective": ["Tame the okapi herd"]}
    assert hits(me, "pipeline") == {}


def test_a_search_reads_its_tables_index(world, alice, org, period):
    """PostgreSQL: the objectives are found through `search_objective_doc`, the GIN
    index of the stored document, and ranked from that stored vector, never from a
    tsvector recomputed from the text. SQLite: through the FTS5 table."""
    # Enough of the organization's objectives that its own index narrows nothing.
    Objective.objects.bulk_create(
        Objective(organization=org, period=period, owner=alice, title=f"Grow {n}")
        for n in range(2000)
    )
    rows = matching(candidates(membership(alice, org), "objective"), terms_of("pip"))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE okrs_objective")
            # A few pages: reading them all, or all of the organization's rows by
            # its index, would otherwise cost about the same as any index.
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = rows.explain(verbose=True)
        assert BY_KIND["objective"].index_name in plan
        assert f"ts_rank(okrs_objective.{DOCUMENT_COLUMN}," in plan
        assert "to_tsvector" not in plan
    else:
        plan = rows.explain()
        assert "search_objective_fts VIRTUAL TABLE INDEX" in plan
    assert [row.title for row in rows] == ["Close the pipeline deals"]


def test_each_source_keeps_its_index_on_either_database(world, alice, org):
    """PostgreSQL: a stored document column with a GIN index on each searched table;
    a migration that drops it (to change a searched column's type, index.py) gets it
    back after `migrate`. SQLite: the FTS5 triggers, which a migration that rebuilds a
    searched table drops, are put back and the index rebuilt."""
    me = membership(alice, org)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE indexname LIKE 'search\\_%\\_doc'"
            )
            found = dict(cursor.fetchall())
            assert set(found) == {source.index_name for source in SOURCES}
            assert all(
                f"USING gin ({DOCUMENT_COLUMN})" in definition
                for definition in found.values()
            )
            assert ensure_postgresql(connection) == []
            # What a migration changing the title's type does first (index.py),
            # after the world's writes are checked (as a migration's would be).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f"ALTER TABLE okrs_objective DROP COLUMN IF EXISTS {DOCUMENT_COLUMN}"
            )
            cursor.execute(
                "ALTER TABLE okrs_objective ALTER COLUMN title TYPE varchar(300)"
            )
            cursor.execute("DROP INDEX search_kpi_doc")
        assert ensure_postgresql(connection) == ["objective", "kpi"]
        okr_actions.update_objective(objective=world["objective"], title="Win renewals")
        assert hits(me, "renewals") == {"objective": ["Win renewals"]}
        assert hits(me, "wombat") == {"kpi": ["Weekly wombat signups"]}
        assert ensure_postgresql(connection) == []
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER search_objective_fts_au")
    okr_actions.update_objective(objective=world["objective"], title="Win renewals")
    assert ensure_sqlite(connection) == ["objective"]
    assert hits(me, "renewals") == {"objective": ["Win renewals"]}
    assert ensure_sqlite(connection) == []
    assert len(SOURCES) == len(KINDS)


def document_columns() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = %s",
            [DOCUMENT_COLUMN],
        )
        return {row[0] for row in cursor.fetchall()}


def index_definitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname LIKE 'search\\_%\\_doc'"
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_stored_documents_migrate_both_ways(world, alice, org, period):
    """Back to the expression indexes and forward again; what was written in between
    is found (PostgreSQL computes the stored document of every existing row)."""
    app, stored = STORED_MIGRATION
    try:
        call_command("migrate", app, "0001", verbosity=0)
        if connection.vendor == "postgresql":
            assert document_columns() == set()
            definitions = index_definitions()
            assert len(definitions) == len(SOURCES)
            assert all("to_tsvector" in d for d in definitions)
        okr_actions.create_objective(
            org=org, period=period, owner=alice, title="Migrate the ibex"
        )
    finally:
        call_command("migrate", app, stored, verbosity=0)
    if connection.vendor == "postgresql":
        assert document_columns() == {source.table for source in SOURCES}
        assert not any("to_tsvector" in d for d in index_definitions())
    assert hits(membership(alice, org), "ibex") == {"objective": ["Migrate the ibex"]}
