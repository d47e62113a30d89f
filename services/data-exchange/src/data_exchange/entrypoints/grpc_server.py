"""gRPC FacilityRegistry servicer."""

from __future__ import annotations

import grpc

from alliance.data_exchange.v1 import facilities_pb2 as pb
from alliance.data_exchange.v1 import facilities_pb2_grpc as pb_grpc
from alliance_service import Runtime

from ..adapters.events import LEVELS_BACK, hospital_message
from ..adapters.repository import HospitalRepository
from . import patient_index_grpc


class FacilityRegistry(pb_grpc.FacilityRegistryServicer):
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def GetHospital(self, request: pb.GetHospitalRequest, context: grpc.aio.ServicerContext) -> pb.Hospital:
        async with self._runtime.engine.connect() as conn:
            hospital = await HospitalRepository(conn).get(request.hospital_id)
        if hospital is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"hospital {request.hospital_id} not found")
        return hospital_message(hospital)

    async def ListHospitals(self, request: pb.ListHospitalsRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListHospitalsResponse:
        async with self._runtime.engine.connect() as conn:
            found = await HospitalRepository(conn).list(LEVELS_BACK.get(request.level), request.region_code or None)
        return pb.ListHospitalsResponse(hospitals=[hospital_message(h) for h in found])


def add_services(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    pb_grpc.add_FacilityRegistryServicer_to_server(FacilityRegistry(runtime), server)
    return [pb.DESCRIPTOR.services_by_name["FacilityRegistry"].full_name, patient_index_grpc.add(runtime, server)]
