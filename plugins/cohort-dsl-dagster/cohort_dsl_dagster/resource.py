"""MembershipResource: the membership service as a Dagster resource."""


from typing import Optional

import dagster as dg
from pydantic import PrivateAttr


class MembershipResource(dg.ConfigurableResource):
    """Membership questions over ``data_root`` (the folder that holds
    ``cohorts/``), answered by :class:`cohort_dsl.service.MembershipService`.
    An unknown cohort, stage or gen id raises
    :class:`cohort_dsl.service.UnknownName` naming it (with did-you-mean),
    never an empty list. The service, and so its index, lives as long as the
    resource: within a run, the index is built once."""

    data_root: str
    _service: Optional[object] = PrivateAttr(default=None)

    @property
    def service(self):
        if self._service is None:
            from cohort_dsl.service import MembershipService

            self._service = MembershipService(self.data_root)
        return self._service

    def gen_ids(self, cohort_id: str, stage: str) -> list[str]:
        """The gen ids of ``stage`` in a cohort, in membership.csv order."""
        return self.service.gen_ids(cohort_id, stage)

    def parent(self, gen_id: str) -> Optional[str]:
        """The parent gen id; None for a draft (a first-stage id)."""
        return self.service.parent(gen_id)

    def children(self, gen_id: str) -> list[str]:
        return self.service.children(gen_id)

    def cohorts_containing(self, gen_id: str) -> list[str]:
        """Each cohort holding the gen id once, sorted."""
        return self.service.cohorts_containing(gen_id)

    def record(self, gen_id: str):
        """The wide record (:class:`cohort_dsl.membership.Record`): stage,
        gen_id, origin_cohort_id, parent_gen_id, combo_id, template_id,
        llm_model_id, replicate."""
        return self.service.record(gen_id)
