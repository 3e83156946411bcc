"""The schema outside tests comes from `flask db upgrade`: it must match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from config import TestingConfig
from tickets import create_app
from tickets.extensions import db
from tickets.models.search import include_name


def test_upgrade_builds_the_schema_of_the_models(tmp_path):
    class Cfg(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'migrated.db'}"

    app = create_app(Cfg)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}), db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
