"""Schemathesis against the served OpenAPI schema: no server errors, no schema violations.

Cases are generated from the schema, valid ones and deliberately invalid ones
(bodies, parameters, paths), 25 of each per operation, and sent to a real server
process. The only 5xx allowed is the
documented 501 for job modes whose pipeline does not exist yet.
"""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend_server import BackendServer


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with BackendServer(tmp_path_factory.mktemp("schema-data")) as running:
        yield running


def _operations(url):
    schema = schemathesis.openapi.from_url(f"{url}/v1/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_api_conforms_to_its_schema(served):
    operations = _operations(served.url)
    assert len(operations) == 8  # health, submit, upload, history, job, cancel, file, delete
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case):
            response = case.call(base_url=served.url)
            case.validate_response(response, checks=CONFORMANCE)
            if response.status_code == 501:  # documented: sculpt/edit not built yet
                assert case.path == "/v1/jobs" and case.method == "POST"
            else:
                case.validate_response(response, checks=[not_a_server_error])

        try:
            conforms()
        except Unsatisfiable:  # nothing to break in a request without inputs (/health)
            assert mode is GenerationMode.NEGATIVE and operation.path == "/v1/health"


CONFORMANCE = [content_type_conformance, response_schema_conformance, status_code_conformance]
