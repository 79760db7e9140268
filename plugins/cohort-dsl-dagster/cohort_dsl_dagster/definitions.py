"""build_definitions: the cohort_membership asset, the ``<stage>_gens``
dynamic partitions, the MembershipResource and the inputs sensor for one
data root (see docs/dagster.md)."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from cohort_dsl_dagster.partitions import PartitionError, definition_name, layout_stages, prune, register

ASSET = "cohort_membership"
SENSOR = "cohort_inputs_sensor"
RESOURCE = "membership"
DIGEST_KEY = "inputs_digest"


class MaterializeConfig(dg.Config):
    """Run config of ``cohort_membership``:
    ``{"ops": {"cohort_membership": {"config": {"force": true}}}}``."""

    force: bool = False


def load_project(data_root: Path, config: str | Path | None = None):
    """The project ``cohort-dsl materialize`` runs with ``--data-root
    DATA_ROOT``: the settings of ``config``, or of the config file found
    walking up from the data root."""
    from cohort_dsl.project import Project

    return Project.load(config, start=data_root).override(data_root=data_root)


def digest_of(inputs: dict) -> str:
    """One digest over a cohort's inputs (the spec files and catalogs, as
    ``Project.inputs`` and manifest.json record them): what the sensor compares."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode("utf-8")).hexdigest()


def inputs_digest(project, cohort_id: str) -> str:
    return digest_of(project.inputs(cohort_id))


def build_definitions(data_root: str | Path, *, chunk_size: int = 10_000,
                      config: str | Path | None = None) -> dg.Definitions:
    """Definitions for the cohorts of ``data_root`` (the folder that holds
    ``cohorts/``, as for the CLI): the ``cohort_membership`` asset,
    partitioned by cohort id; one dynamic partitions definition
    ``<stage>_gens`` per layout stage, filled after each materialization
    with at most ``chunk_size`` keys per call; the ``membership`` resource
    and the ``cohort_inputs_sensor``."""
    from cohort_dsl.diagnostics import UsageError

    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise UsageError(f"chunk_size must be a positive integer, not {chunk_size!r}")
    data_root = Path(data_root).absolute()
    project = load_project(data_root, config)
    if not project.data_root.cohorts_dir.is_dir():
        raise UsageError(f"{data_root} is not a data root: it has no {project.data_root.cohorts_dir.name}/ folder")
    stages = layout_stages(project.registry)
    cohorts = dg.StaticPartitionsDefinition(project.data_root.cohort_ids())
    config_path = config  # `config` is the asset's run config below

    @dg.asset(name=ASSET, partitions_def=cohorts, description="A cohort's membership files, written exactly as "
              "`cohort-dsl materialize COHORT` writes them; its gen ids become <stage>_gens partitions.")
    def cohort_membership(context: dg.AssetExecutionContext, config: MaterializeConfig) -> dg.MaterializeResult:
        return _materialize(context, load_project(data_root, config_path), config.force, stages, chunk_size)

    @dg.sensor(name=SENSOR, asset_selection=[cohort_membership], minimum_interval_seconds=30,
               description="Requests a cohort_membership run for each cohort whose spec or catalogs changed since "
                           "its last materialization (run_key: the digest, so ticks never duplicate runs).")
    def cohort_inputs_sensor(context: dg.SensorEvaluationContext):
        return list(changed_cohorts(context.instance, load_project(data_root, config_path), cohorts, context.log))

    return dg.Definitions(assets=[cohort_membership], sensors=[cohort_inputs_sensor],
                          resources={RESOURCE: _resource(data_root)})


def _resource(data_root: Path):
    from cohort_dsl_dagster.resource import MembershipResource

    return MembershipResource(data_root=str(data_root))


def generation_partitions(stage: str) -> dg.DynamicPartitionsDefinition:
    """The partitions definition of a stage's gen ids (``draft_gens``, …):
    what a stage asset is partitioned by."""
    return dg.DynamicPartitionsDefinition(name=definition_name(stage))


def changed_cohorts(instance, project, cohorts: dg.StaticPartitionsDefinition, log=None):
    """A RunRequest for each cohort whose inputs digest differs from the one
    its latest materialization recorded (or that has none)."""
    known = set(cohorts.get_partition_keys())
    for cohort in project.data_root.cohort_ids():
        if cohort not in known:
            if log is not None:
                log.info(f"cohort {cohort} is new: reload the code location to materialize it")
            continue
        digest = inputs_digest(project, cohort)
        if _last_digest(instance, cohort) != digest:
            yield dg.RunRequest(run_key=f"{cohort}:{digest}", partition_key=cohort)


def _last_digest(instance, cohort: str) -> str | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(ASSET), asset_partitions=[cohort]), limit=1).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get(DIGEST_KEY)
    return getattr(value, "value", None)


def _materialize(context, project, force: bool, stages: list[str], chunk_size: int) -> dg.MaterializeResult:
    """``cohort-dsl materialize COHORT [--force]`` (the same Project call),
    then the cohort's gen ids registered as partitions."""
    from cohort_dsl.diagnostics import SpecError, UsageError
    from cohort_dsl.membership import STALE_MEMBERSHIP
    from cohort_dsl.service import MembershipService

    cohort = context.partition_key
    try:
        outcome = project.materialize(cohort, force=force)
    except SpecError as exc:
        text = "\n".join(d.render() for d in exc.diagnostics)
        for diagnostic in exc.diagnostics:
            context.log.error(diagnostic.render())
        refused = any(d.code == STALE_MEMBERSHIP.code for d in exc.diagnostics) and not force
        raise dg.Failure(description=f"cohort-dsl materialize {cohort} stopped on {len(exc.diagnostics)} error(s)"
                         + ("; the membership would change: rerun with run config "
                            '{"ops": {"cohort_membership": {"config": {"force": true}}}} to replace it' if refused else "")
                         + f":\n{text[:4000]}",
                         metadata={"diagnostics": dg.MetadataValue.md(f"```\n{text}\n```")}) from None
    except UsageError as exc:
        raise dg.Failure(description=str(exc)) from None
    for diagnostic in outcome.diagnostics:
        context.log.warning(diagnostic.render())
    service = MembershipService(project.data_root)
    try:
        added = register(context.instance, service, cohort, stages, chunk_size)
        deleted = prune(context.instance, service, stages, context.log) if force else {}
    except (PartitionError, SpecError, UsageError) as exc:
        raise dg.Failure(description=f"cohort {cohort} was materialized but its partitions were not all "
                         f"registered: {exc}") from None
    metadata = {
        "counts": dg.MetadataValue.json(outcome.counts),
        **{f"{stage}_count": n for stage, n in outcome.counts.items()},
        "membership_csv": dg.MetadataValue.path(str(project.data_root.membership_file(cohort))),
        # the bytes this run compiled and checked (manifest.json has the same)
        "spec_digest": outcome.inputs["spec"]["digest"],
        "catalog_digests": dg.MetadataValue.json(outcome.inputs["catalogs"]),
        DIGEST_KEY: digest_of(outcome.inputs),
        "changed": outcome.changed,
        "partitions_added": dg.MetadataValue.json(added),
    }
    if force:
        metadata["partitions_deleted"] = dg.MetadataValue.json(deleted)
    return dg.MaterializeResult(metadata=metadata)
