"""Built-in plugins: ordinary plugin modules, registered first (see
:data:`cohort_dsl.pluginmanager.DEFAULT_PLUGINS`)."""
