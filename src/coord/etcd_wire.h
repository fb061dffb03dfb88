// The JSON of etcd 3.4's v3 gateway, to and from the typed requests of etcd_client.h. Internal to
// src/coord; separate so that it is tested without a running etcd.
//
// What the gateway does that a reader would not guess (seen on etcd 3.4.23):
//   - fields use the protobuf names, which are snake_case for kv ("mod_revision") but camelCase
//     where the .proto says so ("peerURLs", "dbSize", "raftIndex");
//   - int64 and uint64 values are JSON strings ("revision": "5"); we send them as strings too,
//     because lease and member ids do not fit a double;
//   - fields holding their default are left out: no "kvs" when nothing matched, no "count" when it
//     is 0, and no "succeeded" when a transaction's compare failed;
//   - keys and values are base64;
//   - /v3/lease/keepalive is a stream: its answer is {"result": {...}} per request, and an
//     expired lease is a result without "TTL", not an error.
//
// Decoders throw nlohmann::json::exception (or WireError) on an answer of the wrong shape;
// EtcdClient catches them at one place and reports kProtocolError.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "coord/etcd_client.h"

namespace shoal::coord::wire {

using Json = nlohmann::json;

struct WireError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The end of the range of keys starting with `prefix`: the prefix with its last byte that is not
// 0xff incremented, the rest dropped; "\0" (no end) if there is no such byte.
std::string PrefixEnd(const std::string& prefix);

Json ToJson(const PutRequest& request);
Json ToJson(const RangeRequest& request);
Json ToJson(const DeleteRequest& request);
Json ToJson(const Compare& compare);
Json ToJson(const TxnRequest& request);

// "5" or 5 -> 5; absent -> 0.
int64_t Int64Field(const Json& object, const char* name);
uint64_t Uint64Field(const Json& object, const char* name);

KeyValue KeyValueFromJson(const Json& json);
PutResponse PutFromJson(const Json& json);
RangeResponse RangeFromJson(const Json& json);
DeleteResponse DeleteFromJson(const Json& json);
TxnResponse TxnFromJson(const Json& json);
Lease LeaseFromJson(const Json& json);
Member MemberFromJson(const Json& json);
std::vector<Member> MembersFromJson(const Json& json);
EtcdStatus StatusFromJson(const Json& json);

}  // namespace shoal::coord::wire
