"""Calls Parley's public API knowing nothing but the address: every type comes
from gRPC server reflection. Prints one JSON line: the services it found and the
answer to ConversationService.GetConversation, and the attributes CustomerService.SetAttributes
kept when given as JSON (google.protobuf.Struct from the reflected descriptors).

usage: reflection_client.py <address> <bearer token> <conversation id> <customer id> <attributes JSON>
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def main() -> None:
    address, token, conversation_id, customer_id, attributes = sys.argv[1:6]
    channel = grpc.insecure_channel(address)
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName("parley.v1.ConversationService")
    method = service.FindMethodByName("GetConversation")
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{service.full_name}/{method.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    response = call(request_class(conversation_id=conversation_id), metadata=[("authorization", f"Bearer {token}")], timeout=10)
    try:
        call(request_class(conversation_id=conversation_id), metadata=[("authorization", "Bearer forged")], timeout=10)
        refused = None
    except grpc.RpcError as error:
        refused = error.code().name
    # Paging: the latest entry only, then the one before it through ListTimeline.
    latest = call(request_class(conversation_id=conversation_id, page_size=1), metadata=[("authorization", f"Bearer {token}")], timeout=10)
    list_timeline = service.FindMethodByName("ListTimeline")
    page_call = channel.unary_unary(
        f"/{service.full_name}/{list_timeline.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=message_factory.GetMessageClass(list_timeline.output_type).FromString,
    )
    earlier = page_call(message_factory.GetMessageClass(list_timeline.input_type)(conversation_id=conversation_id, page_token=latest.previous_page_token, page_size=10), metadata=[("authorization", f"Bearer {token}")], timeout=10)
    customers = pool.FindServiceByName("parley.v1.CustomerService")
    set_attributes = customers.FindMethodByName("SetAttributes")
    set_request = json_format.ParseDict({"customer_id": customer_id, "attributes": json.loads(attributes)}, message_factory.GetMessageClass(set_attributes.input_type)())
    set_call = channel.unary_unary(
        f"/{customers.full_name}/{set_attributes.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=message_factory.GetMessageClass(set_attributes.output_type).FromString,
    )
    customer = set_call(set_request, metadata=[("authorization", f"Bearer {token}")], timeout=10)
    print(json.dumps({
        "services": services,
        "conversation": json_format.MessageToDict(response)["conversation"],
        "forged_token": refused,
        "attributes": json_format.MessageToDict(customer)["customer"].get("attributes"),
        "latest_page": [json_format.MessageToDict(e) for e in latest.conversation.timeline],
        "earlier_page": [json_format.MessageToDict(e) for e in earlier.entries],
    }))


if __name__ == "__main__":
    main()
