"""gRPC AgreedPrices: the contract prices in force, for cost-sharing and hospital systems."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from alliance.procurement.v1 import procurement_pb2 as pb
from alliance.procurement.v1 import procurement_pb2_grpc as pb_grpc
from alliance_messaging import proto_time
from alliance_service import OutOfRange, Runtime, abort_out_of_range, optional_timestamp

from ..adapters.orm import contracts
from ..service.rounds import prices_in_force


class AgreedPricesServicer(pb_grpc.AgreedPricesServicer):
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def GetAgreedPrices(self, request: pb.GetAgreedPricesRequest, context) -> pb.GetAgreedPricesResponse:
        if not 0 < len(request.item_codes) <= 1000:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "1-1000 item_codes are required")
        try:
            day = optional_timestamp(request, "at", datetime.now(UTC)).date()
        except OutOfRange as e:
            await abort_out_of_range(context, e)
            raise
        q = prices_in_force(day).where(contracts.c.item_code.in_(list(request.item_codes))).order_by(
            contracts.c.contract_id)
        async with self._runtime.engine.connect() as conn:
            prices = [pb.AgreedPrice(
                contract_id=r.contract_id, item_code=r.item_code, supplier_id=r.supplier_id,
                unit_price=str(r.unit_price), base_unit=r.base_unit,
                effective_from=proto_time(datetime.combine(r.effective_from, datetime.min.time(), tzinfo=UTC)))
                for r in await conn.execute(q)]
        return pb.GetAgreedPricesResponse(prices=prices)


def add_services(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    pb_grpc.add_AgreedPricesServicer_to_server(AgreedPricesServicer(runtime), server)
    return [pb.DESCRIPTOR.services_by_name["AgreedPrices"].full_name]
