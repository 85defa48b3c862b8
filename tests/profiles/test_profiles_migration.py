"""Migration 0002 on a database that already holds profiles, identities and attached mentions."""

from __future__ import annotations

from sqlalchemy import inspect, text

from listener.db import current_revision, downgrade, make_engine, migrate

NOW = "'2026-01-01 00:00:00'"


def test_0002_upgrades_and_downgrades_with_data_in_place(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        downgrade(db_url, "0001")
        with engine.begin() as connection:
            profile_id = connection.execute(text(
                "INSERT INTO customer_profiles (display_name, tier, is_prospect, created_at, updated_at) "
                f"VALUES ('Old Profile', 'standard', true, {NOW}, {NOW}) RETURNING id"
            )).scalar_one()
            connection.execute(text(
                "INSERT INTO identities (profile_id, platform, platform_user_id, handle, provenance, confidence, "
                f"created_at) VALUES ({profile_id}, 'x', '42', 'Old_Handle', 'automatic', 1.0, {NOW})"
            ))
            connection.execute(text(
                "INSERT INTO mentions (platform, external_id, kind, text, url, created_at, collected_at, raw, "
                f"processing_state, status, profile_id) VALUES ('x', 'm1', 'tweet', 't', 'u', {NOW}, {NOW}, '{{}}', "
                f"'processed', 'new', {profile_id})"
            ))
        migrate(db_url, "0002")
        assert current_revision(engine) == "0002"
        assert {"profile_link_suggestions", "profile_merges", "profile_match_keys"} <= set(
            inspect(engine).get_table_names()
        )
        with engine.begin() as connection:
            row = connection.execute(text("SELECT emails, tags, crm_id, merged_into_id FROM customer_profiles")).one()
            assert (row.crm_id, row.merged_into_id) == (None, None)
            assert row.emails in ([], "[]") and row.tags in ([], "[]")
            identity = connection.execute(text("SELECT handle_key, updated_at FROM identities")).one()
            assert identity.handle_key == "old_handle" and identity.updated_at is not None
            connection.execute(text(
                "INSERT INTO identities (profile_id, platform, platform_user_id, handle, handle_key, provenance, "
                f"confidence, created_at, updated_at) VALUES ({profile_id}, 'reddit', NULL, 'listed', 'listed', "
                f"'imported', 1.0, {NOW}, {NOW})"
            ))

        downgrade(db_url, "0001")
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM identities")).scalar_one() == 1  # handle-only gone
            assert connection.execute(text("SELECT profile_id FROM mentions")).scalar_one() == profile_id
            assert "crm_id" not in {c["name"] for c in inspect(connection).get_columns("customer_profiles")}
    finally:
        migrate(db_url)
        engine.dispose()
