"""Calls Parley's public API knowing nothing but the address: every type comes
from gRPC server reflection. Prints one JSON line: the services it found and the
answer to ConversationService.GetConversation.

usage: reflection_client.py <address> <bearer token> <conversation id>
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def main() -> None:
    address, token, conversation_id = sys.argv[1:4]
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
    print(json.dumps({"services": services, "conversation": json_format.MessageToDict(response)["conversation"], "forged_token": refused}))


if __name__ == "__main__":
    main()
