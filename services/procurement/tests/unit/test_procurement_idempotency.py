from procurement.adapters.idempotency import request_hash


def test_a_request_hash_ignores_key_order_and_spelling_but_not_method_path_or_body():
    body = {"lines": [{"item_code": "X", "quantity": 2, "supplier_id": None}]}
    same = {"lines": [{"supplier_id": None, "quantity": 2, "item_code": "X"}]}
    h = request_hash("POST", "/v1/orders", body)
    assert h == request_hash("post", "/v1/orders", same) and len(h) == 64
    assert h != request_hash("PUT", "/v1/orders", body)
    assert h != request_hash("POST", "/v1/orders/x", body)
    assert h != request_hash("POST", "/v1/orders", {"lines": [{"item_code": "X", "quantity": 3, "supplier_id": None}]})
    assert h != request_hash("POST", "/v1/orders", {"lines": [{"item_code": "X", "quantity": "2", "supplier_id": None}]})
