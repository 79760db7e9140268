# The testing kit that ships with cohort-dsl: the `cohort_project` fixture.
pytest_plugins = ["cohort_dsl.testing"]
